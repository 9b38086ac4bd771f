"""The campaign page: the statement as published, the demands and their counts."""

import re
from pathlib import Path

import pytest

import campaign
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from tests.conftest import SEED_SLUG


def test_home_shows_the_seed_statement(client, seeded):
    html = client.get("/en/").get_data(as_text=True)
    assert "U.S. Must Deliver on Promise of Making Human Rights" in html
    assert "Chinese Human Rights Defenders" in html
    assert '<time datetime="2011-01-17">' in html
    # Footnotes render as links back and forth, and their sources as links.
    assert 'href="#fn:1"' in html
    assert 'id="fn:1"' in html
    assert 'href="http://www.nybooks.com/articles/archives/2011/jan/13/china-famine-oslo/"' in html
    assert "Renee Xia, International Director" in html
    assert html.count('<li id="demand-') == 7
    for n in range(1, 8):
        assert f'id="demand-{n}"' in html


def test_each_demand_has_its_count_and_a_progress_bar(client, seeded):
    html = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert html.count('<progress max="10000" value="0"') == 8  # total + 7 demands
    assert html.count("supporters</p>") == 7


def test_all_demands_ticked_by_default(client, seeded):
    html = client.get("/en/").get_data(as_text=True)
    for demand_id in seeded["demand_ids"]:
        assert re.search(rf'value="{demand_id}" checked', html)


def test_form_has_the_contract_fields(client, seeded):
    html = client.get("/en/").get_data(as_text=True)
    for name in (
        "name", "email", "country", "region", "affiliation", "comment", "demands",
        "display", "name_in_letters", "updates",
    ):  # fmt: skip
        assert f'name="{name}"' in html, name
    for value in ("full", "initials", "anonymous"):
        assert f'value="{value}"' in html


@pytest.mark.parametrize(
    ("lang", "country"), [("en", "Taiwan"), ("zh-hans", "德国"), ("zh-hant", "德國")]
)
def test_country_list_is_complete_and_localised(client, seeded, lang, country):
    html = client.get(f"/{lang}/").get_data(as_text=True)
    start = re.search(r'<select[^>]*id="country"', html).start()
    select = html[start : html.index("</select>", start)]
    assert select.count("<option") == 249 + 1  # every ISO 3166-1 country and a prompt
    assert country in select


def test_untranslated_text_falls_back_with_a_note(client, seeded, app):
    with app.app_context():
        campaign = db.session.scalar(db.select(Campaign))
        next(t for t in campaign.translations if t.locale == "zh_Hans").body = ""
        db.session.commit()
    html = client.get("/zh-hans/").get_data(as_text=True)
    assert "美国必须兑现以人权为对华政策指导原则的承诺" in html  # translated title
    assert "In a speech before the United Nations" in html  # untranslated body
    assert "have not been translated yet" not in html  # the note is in Chinese
    assert "本声明的部分内容尚未翻译" in html
    english = client.get("/en/").get_data(as_text=True)
    assert 'class="note"' not in english


def test_draft_campaign_is_not_public(client, seeded, app):
    with app.app_context():
        c = db.session.scalar(db.select(Campaign))
        c.state = "draft"
        db.session.commit()
    assert client.get(f"/en/c/{SEED_SLUG}/").status_code == 404
    assert "No campaign is open" in client.get("/en/").get_data(as_text=True)
    assert client.get("/api/v1/campaigns").json == {"campaigns": []}


def test_closed_campaign_shows_a_notice_instead_of_the_form(client, seeded, app):
    with app.app_context():
        db.session.scalar(db.select(Campaign)).state = "closed"
        db.session.commit()
    html = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert "Signing has closed" in html
    assert 'name="email"' not in html


def test_seed_is_idempotent_and_keeps_edits(app, runner):
    result = runner.invoke(args=["campaign", "seed"])
    assert "Loaded campaign" in result.output
    with app.app_context():
        db.session.scalar(db.select(Campaign)).title = "Edited by an organiser"
        db.session.commit()
    result = runner.invoke(args=["campaign", "seed"])
    assert "Already present" in result.output
    with app.app_context():
        assert db.session.query(Campaign).count() == 1
        assert db.session.scalar(db.select(Campaign)).title == "Edited by an organiser"


EXTERNAL = re.compile(r'(?:src|href|action)="(?:https?:)?//', re.I)


@pytest.mark.parametrize("lang", ["en", "zh-hans", "zh-hant"])
def test_pages_load_nothing_from_other_hosts(client, seeded, lang):
    for path in (f"/{lang}/", f"/{lang}/privacy"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        # Links to sources are fine; nothing may be *loaded* from elsewhere.
        assert not re.search(
            r"<(?:script|img|iframe|link|source|video|audio)[^>]+"
            r'(?:src|href)="(?:https?:)?//',
            html,
        )
        assert "<script" not in html
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
    css = (Path(campaign.__file__).parent / "static" / "style.css").read_text()
    assert "url(" not in css
    assert "@import" not in css


def test_statement_page_is_small(client, seeded):
    html = client.get("/en/").data
    with client.get("/static/style.css") as response:
        css = response.data
    assert len(html) + len(css) < 60 * 1024
