"""The campaign page and the API kept as bytes for a few seconds, per page and language."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from campaign import pagecache
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from tests.conftest import SEED_SLUG, sign

PAGE = f"/en/c/{SEED_SLUG}/"
API = f"/api/v1/campaigns/{SEED_SLUG}"


@pytest.fixture
def cached(app, monkeypatch):
    monkeypatch.setitem(app.config, "COUNT_CACHE_SECONDS", 5)
    clock = [1000.0]
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: clock[0])
    return clock


def _retitle(app, title: str) -> None:
    with app.app_context():
        db.session.execute(update(Campaign).values(title=title))
        db.session.commit()


def test_the_page_is_rendered_once_per_few_seconds(client, app, seeded, cached):
    first = client.get(PAGE)
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert "Set-Cookie" not in first.headers
    _retitle(app, "A changed title")
    again = client.get(PAGE)
    assert again.get_data() == first.get_data()
    assert again.headers["Cache-Control"] == "public, max-age=5"
    cached[0] += 5.1
    assert "A changed title" in client.get(PAGE).get_data(as_text=True)


def test_each_language_and_page_is_kept_apart(client, app, seeded, cached):
    english = client.get(PAGE).get_data(as_text=True)
    chinese = client.get(f"/zh-hans/c/{SEED_SLUG}/").get_data(as_text=True)
    home = client.get("/en/").get_data(as_text=True)
    assert 'lang="en"' in english
    assert 'lang="zh-Hans"' in chinese
    assert len({english, chinese}) == 2
    assert 'lang="en"' in home


def test_a_form_with_errors_is_never_kept(client, app, seeded, cached):
    refused = sign(client, seeded, email="not-an-address")
    assert refused.status_code == 422
    assert "Please check this e-mail address." in refused.get_data(as_text=True)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Please check this e-mail address." not in page
    assert client.get("/en/c/no-such-campaign/").status_code == 404


def test_a_staff_change_shows_at_once(client, app, seeded, cached, organiser):
    assert 'name="email"' in client.get(PAGE).get_data(as_text=True)
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
    client.post(
        f"/staff/campaigns/{campaign_id}/state",
        data={"state": "closed", "csrf_token": organiser},
    )
    assert 'name="email"' not in client.get(PAGE).get_data(as_text=True)


def test_the_api_answer_is_kept_the_same_few_seconds(client, app, seeded, cached):
    assert client.get(API).json["title"] != "Renamed"
    _retitle(app, "Renamed")
    assert client.get(API).json["title"] != "Renamed"
    assert client.get(API).headers["Access-Control-Allow-Origin"] == "*"
    cached[0] += 6
    assert client.get(API).json["title"] == "Renamed"


def test_posts_refused_in_the_staff_area_do_not_empty_the_cache(client, app, seeded, cached):
    # Anyone may post to a staff URL and be refused; were that to empty the cache, a loop
    # of such posts would put every reader back on a full render.
    client.get(PAGE)
    _retitle(app, "Renamed")
    assert client.post("/staff/campaigns/1/partners/").status_code in (302, 303, 400)
    assert client.post("/staff/logout").status_code in (302, 303, 400)
    assert "Renamed" not in client.get(PAGE).get_data(as_text=True)
