"""The seed statement in Chinese: the platform's translation, marked as such, added to an
existing campaign only where an organiser has written nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaign.campaigns import editor
from campaign.campaigns.models import Campaign
from campaign.campaigns.seed import load_seed
from campaign.extensions import db
from tests.conftest import SEED_SLUG


def _campaign() -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.slug == SEED_SLUG))


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh-hans", ["去年秋天，奥巴马总统在联合国", "刘晓波", "高智晟", "于建嵘", "纽约书评",
                     "国际主任", "防火长城", "“人人都有麦克风”"]),
        ("zh-hant", ["去年秋天，歐巴馬總統在聯合國", "劉曉波", "高智晟", "于建嶸", "紐約書評",
                     "國際主任", "防火長城", "「人人都有麥克風」"]),
    ],
)  # fmt: skip
def test_the_whole_statement_reads_in_chinese(client, seeded, lang, expected):
    html = client.get(f"/{lang}/c/{SEED_SLUG}/").get_data(as_text=True)
    text = _text(html)
    for phrase in expected:
        assert phrase in text, phrase
    # Body, footnotes, contacts and all seven recommendations: no English paragraph left.
    english_only = (
        "In a speech before",
        "Perry Link, “China",
        "International Director",
        "Continue to make strong",
        "Resume the U.S.-China Human Rights Dialogue",
    )
    for english in english_only:
        assert english not in text, english
    assert "not been translated" not in html
    assert "尚未翻译" not in html
    assert "尚未翻譯" not in html
    # Nothing in the statement is marked as English for screen readers.
    statement = html.split('<article class="statement">', 1)[1].split("</article>", 1)[0]
    # English only in the link to the original and the form's "English" button.
    assert re.findall(r'<(\w+)[^>]*\blang="en"', statement) == ["a", "button"]
    assert text.count("[^") == 0  # footnote markers rendered, not shown raw


def test_traditional_is_not_a_character_conversion_of_simplified(client, seeded):
    hant = _text(client.get(f"/zh-hant/c/{SEED_SLUG}/").get_data(as_text=True))
    # Taiwan usage and Traditional punctuation, where a converter would keep mainland words.
    assert "網際網路" in hant
    assert "互聯網" not in hant
    assert "歐巴馬" in hant
    assert "奧巴馬" not in hant
    assert "「強加西方價值觀」" in hant
    assert "“強加" not in hant


@pytest.mark.parametrize(
    ("lang", "note"), [("zh-hans", "本译文由本平台翻译"), ("zh-hant", "本譯文由本平台翻譯")]
)
def test_the_page_says_the_translation_is_the_platforms_and_links_the_original(
    client, seeded, lang, note
):
    html = client.get(f"/{lang}/c/{SEED_SLUG}/").get_data(as_text=True)
    assert note in html
    assert "2011" in html.split(note, 1)[1].split("</p>", 1)[0]  # the original's date
    assert f'href="/en/c/{SEED_SLUG}/" hreflang="en" lang="en">English</a>' in html
    english = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert "made by the platform" not in english


def test_an_organisers_edit_makes_the_text_theirs(client, seeded, app):
    with app.app_context():
        campaign = _campaign()
        tr = next(t for t in campaign.translations if t.locale == "zh_Hans")
        fields = {n: getattr(tr, n) for n in ("title", "body", "footnotes", "media_contacts")}
        demands = {
            d.id: {"title": t.title, "text": t.text}
            for d in campaign.demands
            for t in d.translations
            if t.locale == "zh_Hans"
        }
        # Saved unchanged: still the platform's words, still said so.
        editor.save_translation(campaign, "zh_Hans", fields, demands, None)
        db.session.commit()
    assert "本译文由本平台翻译" in client.get("/zh-hans/").get_data(as_text=True)
    with app.app_context():
        campaign = _campaign()
        fields["body"] = "组织者自己的译文。"
        editor.save_translation(campaign, "zh_Hans", fields, demands, None)
        db.session.commit()
        tr = next(t for t in _campaign().translations if t.locale == "zh_Hans")
        assert not tr.by_platform("body")
        assert tr.by_platform("footnotes")
        # Every shown field rewritten by the organiser: the note goes.
        for name in fields:
            fields[name] = f"组织者的{name}"
        for values in demands.values():
            values["title"], values["text"] = "组织者的标题", "组织者的文字"
        editor.save_translation(_campaign(), "zh_Hans", fields, demands, None)
        db.session.commit()
    html = client.get("/zh-hans/").get_data(as_text=True)
    assert "组织者的body" in html
    assert "本译文由本平台翻译" not in html


def test_seed_fills_only_fields_no_organiser_wrote(app, seeded, runner):
    with app.app_context():
        campaign = _campaign()
        hant = next(t for t in campaign.translations if t.locale == "zh_Hant")
        hant.body = "組織者的譯文"
        hant.mark("body", False)
        hant.footnotes = ""
        first = campaign.demands[0]
        first.title = "A demand the organiser rewrote"
        for t in first.translations:
            t.text = ""
        for t in campaign.demands[1].translations:
            t.text = ""
        db.session.commit()
    result = runner.invoke(args=["campaign", "seed"])
    assert result.exit_code == 0, result.output
    # Footnotes of zh_Hant and demand 2 in both scripts.
    assert "Added 3 translated texts where none were written." in result.output
    with app.app_context():
        campaign = _campaign()
        hant = next(t for t in campaign.translations if t.locale == "zh_Hant")
        assert hant.body == "組織者的譯文"
        assert not hant.by_platform("body")
        assert "紐約書評" in hant.footnotes
        assert hant.by_platform("footnotes")
        assert all(t.text == "" for t in campaign.demands[0].translations)
        assert all("維權" in t.text or "维权" in t.text for t in campaign.demands[1].translations)
        again = load_seed()
        assert (again.created, again.translated) == (False, 0)


def test_a_campaign_created_by_the_seed_marks_every_chinese_field_as_the_platforms(app, seeded):
    with app.app_context():
        campaign = _campaign()
        for tr in campaign.translations:
            assert tr.platform_fields.split() == ["body", "footnotes", "media_contacts", "title"]
        for demand in campaign.demands:
            assert {t.locale for t in demand.translations} == {"zh_Hans", "zh_Hant"}
            assert all(t.platform_fields == "text title" for t in demand.translations)
