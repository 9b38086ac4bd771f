"""Open data for journalists: counts per day, per demand and per country, never a name."""

from __future__ import annotations

import csv
import io

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.timeutil import utcnow
from tests.conftest import SEED_SLUG, confirmed_supporters


def _supporters(client, app, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_COUNTRY_MIN", 3)
    confirmed_supporters(client, app, seeded, "TW", 3)
    confirmed_supporters(client, app, seeded, "NP", 2)


def test_json_has_counts_per_day_demand_and_country_after_the_threshold(
    client, app, seeded, monkeypatch
):
    _supporters(client, app, seeded, monkeypatch)
    response = client.get(f"/en/c/{SEED_SLUG}/data.json")
    assert response.status_code == 200
    data = response.json
    assert data["licence"] == "CC-BY-4.0"
    assert data["signatures"] == 5
    assert data["by_country"] == {"TW": 3}  # Nepal's 2 are below the minimum of 3
    assert data["other_countries"] == 2
    assert data["country_minimum"] == 3
    assert [d["signatures"] for d in data["demands"]] == [5] * 7
    today = utcnow().date().isoformat()
    assert data["by_day"] == [
        {"date": today, "signatures": 5, "demands": {str(p): 5 for p in range(1, 8)}}
    ]
    assert "Supporter" not in response.get_data(as_text=True)
    assert "@" not in response.get_data(as_text=True)


def test_csv_is_one_long_table_a_spreadsheet_reads(client, app, seeded, monkeypatch):
    _supporters(client, app, seeded, monkeypatch)
    response = client.get(f"/zh-hans/c/{SEED_SLUG}/data.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["table", "date", "demand", "country", "supporters"]
    assert ["total", "", "", "", "5"] in rows
    assert ["country", "", "", "TW", "3"] in rows
    assert ["country", "", "", "other", "2"] in rows
    assert not any(r[3] == "NP" for r in rows)
    assert ["day", utcnow().date().isoformat(), "", "", "5"] in rows
    assert sum(1 for r in rows if r[0] == "day_demand") == 7
    assert "Supporter" not in text
    assert "@" not in text


def test_a_kept_csv_is_still_a_download(client, app, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "COUNT_CACHE_SECONDS", 60)
    first = client.get(f"/en/c/{SEED_SLUG}/data.csv")
    again = client.get(f"/en/c/{SEED_SLUG}/data.csv")  # from the page cache
    assert again.get_data() == first.get_data()
    for response in (first, again):
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="{SEED_SLUG}-data.csv"'
        )


def test_the_page_offers_both_and_says_the_licence_and_the_threshold(
    client, app, seeded, monkeypatch
):
    _supporters(client, app, seeded, monkeypatch)
    html = client.get(f"/zh-hant/c/{SEED_SLUG}/data").get_data(as_text=True)
    assert "<h1>開放資料</h1>" in html
    assert f'href="/zh-hant/c/{SEED_SLUG}/data.csv"' in html
    assert f'href="/zh-hant/c/{SEED_SLUG}/data.json"' in html
    assert "CC BY 4.0" in html
    assert "臺灣" in html or "台灣" in html
    assert "尼泊爾" not in html
    assert "其他國家和地區" in html
    page = client.get(f"/zh-hant/c/{SEED_SLUG}/").get_data(as_text=True)
    assert f'href="/zh-hant/c/{SEED_SLUG}/data"' in page


def test_no_open_data_for_an_unknown_or_draft_campaign(client, app, seeded):
    assert client.get("/en/c/nope/data.json").status_code == 404
    with app.app_context():
        db.session.scalar(db.select(Campaign)).state = "draft"
        db.session.commit()
    for suffix in ("data", "data.json", "data.csv"):
        assert client.get(f"/en/c/{SEED_SLUG}/{suffix}").status_code == 404
