"""The public JSON API."""

from tests.conftest import (
    SEED_SLUG,
    confirm,
    confirm_link,
    confirmed_supporters,
    deliver,
    mails,
    sign,
)


def test_campaign_list_shape_and_cache_headers(client, seeded):
    response = client.get("/api/v1/campaigns")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    [item] = response.json["campaigns"]
    assert item["slug"] == SEED_SLUG
    assert item["state"] == "open"
    assert item["signatures"] == 0
    assert item["title"].startswith("U.S. Must Deliver")


def test_campaign_detail_shape(client, app, seeded):
    sign(client, seeded, country="TW", demands=[str(seeded["demand_ids"][1])])
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    data = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert data["slug"] == SEED_SLUG
    assert data["signatures"] == 1
    assert [d["position"] for d in data["demands"]] == [1, 2, 3, 4, 5, 6, 7]
    assert [d["id"] for d in data["demands"]] == seeded["demand_ids"]
    assert {d["id"]: d["signatures"] for d in data["demands"]}[seeded["demand_ids"][1]] == 1
    assert all(set(d) >= {"id", "position", "title", "signatures"} for d in data["demands"])
    # One supporter is fewer than PUBLIC_COUNTRY_MIN (10): counted, but no country named.
    assert data["by_country"] == {}
    assert data["other_countries"] == 1
    assert "jane@example.org" not in str(data)


def test_a_country_is_named_only_from_the_public_minimum(client, app, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_COUNTRY_MIN", 3)
    confirmed_supporters(client, app, seeded, "TW", 3)
    confirmed_supporters(client, app, seeded, "FR", 2)
    confirmed_supporters(client, app, seeded, "NP", 1)
    data = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert data["signatures"] == 6
    assert data["by_country"] == {"TW": 3}  # at the threshold: named
    assert data["other_countries"] == 3  # just under it (2) and far under it (1): summed
    monkeypatch.setitem(app.config, "PUBLIC_COUNTRY_MIN", 4)
    from campaign import pagecache

    pagecache.clear()
    data = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert data["by_country"] == {}
    assert data["other_countries"] == 6


def test_the_public_minimum_defaults_to_ten(app):
    from campaign.config import Config

    assert Config.PUBLIC_COUNTRY_MIN == 10
    assert app.config["PUBLIC_COUNTRY_MIN"] == 10


def test_unknown_campaign_is_404(client, seeded):
    assert client.get("/api/v1/campaigns/nope").status_code == 404


def test_counts_are_cached_for_a_few_seconds(client, app, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "COUNT_CACHE_SECONDS", 60)
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0
    sign(client, seeded)
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0
    from campaign.signatures.counts import clear_cache

    clear_cache()
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 1
