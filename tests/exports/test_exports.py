"""Signature exports: filters, formats, formula safety, audit and traceability."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from campaign.audit import ModerationEvent
from campaign.extensions import db
from tests.conftest import SEED_SLUG, token_from
from tests.packets.helpers import PEOPLE, add_people

URL = "/staff/campaigns/us-china-human-rights-2011/export"


@pytest.fixture
def staff(app, client, organiser):
    """The test client, logged in as an staff, with the known supporters in place."""
    with app.app_context():
        from campaign.campaigns.models import Campaign

        add_people(db.session.scalar(select(Campaign)))
        db.session.commit()
    return client


def _export(client, **fields):
    data = {"fmt": "csv", "demand": "", "state": "confirmed", "country": "", **fields}
    data["csrf_token"] = token_from(client, URL)
    return client.post(URL, data=data)


def _rows(response) -> list[dict]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def _demand_id(app, position: int) -> int:
    from campaign.campaigns.models import Demand

    with app.app_context():
        return db.session.scalar(select(Demand.id).where(Demand.position == position))


def test_csv_export_is_streamed_traceable_and_audited(app, staff):
    response = _export(staff)
    assert response.status_code == 200
    assert response.is_streamed
    export_id = response.headers["X-Export-Id"]
    assert re.fullmatch(r"EX-[0-9A-F]{8}", export_id)
    disposition = response.headers["Content-Disposition"]
    assert f"us-china-human-rights-2011-{export_id}.csv" in disposition
    rows = _rows(response)
    confirmed = {p[0] for p in PEOPLE if p[5] == "confirmed"} | {"Late Larry"}
    names = {r["name"].lstrip("'") for r in rows}
    assert names == confirmed
    assert {r["export_id"] for r in rows} == {export_id}
    assert "email" not in rows[0]
    with app.app_context():
        event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "export"))
        details = json.loads(event.details)
        assert event.actor_label == "org@example.org"
        assert details["export"] == export_id
        assert details["rows"] == len(rows)
        assert details["filter"]["state"] == "confirmed"


def test_csv_export_neutralises_formulas(app, staff):
    rows = _rows(_export(staff))
    evil = next(r for r in rows if "HYPERLINK" in r["name"])
    assert evil["name"].startswith("'=")
    assert evil["region"] == "'+1"
    assert evil["affiliation"] == "'@cmd"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"country": "US"}, {'<script>alert("x")</script>', "'=HYPERLINK(\"http://evil\")",
                             "Private Person", "Late Larry"}),
        ({"state": "held"}, {"Held Hacker"}),
        ({"state": "any", "country": "RU"}, {"Invalid Ivan"}),
        ({"demand": "DEMAND2"}, {"王小明", "Anna 李", "'=HYPERLINK(\"http://evil\")",
                                 "Private Person"}),
        ({"signed_from": "2199-01-01"}, set()),
        ({"signed_until": "2000-01-01"}, set()),
    ],
)  # fmt: skip
def test_export_filters(app, staff, fields, expected):
    if fields.get("demand") == "DEMAND2":
        fields = {**fields, "demand": str(_demand_id(app, 2))}
    response = _export(staff, **fields)
    assert response.status_code == 200
    assert {r["name"] for r in _rows(response)} == expected


def test_jsonl_export_with_email(app, staff):
    response = _export(staff, fmt="jsonl", include_email="y", country="DE")
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == 1
    assert lines[0]["name"] == "José Müller"
    assert lines[0]["email"] == "p1@example.org"
    assert lines[0]["demands"] == "1"
    assert lines[0]["export_id"] == response.headers["X-Export-Id"]


def test_export_rejects_bad_filters_without_exporting(app, staff):
    reversed_range = _export(staff, signed_from="2026-02-01", signed_until="2026-01-01")
    assert reversed_range.status_code == 422
    assert "The end of the range is before its start." in reversed_range.get_data(as_text=True)
    assert _export(staff, state="deleted").status_code == 422
    assert _export(staff, fmt="xlsx").status_code == 422
    no_token = staff.post(URL, data={"fmt": "csv", "state": "confirmed"})
    assert no_token.status_code == 400
    with app.app_context():
        assert (
            db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "export"))
            is None
        )


def test_cli_export(app, runner, staff, tmp_path):
    out = tmp_path / "out.csv"
    args = ["signatures", "export", "us-china-human-rights-2011", "--demand", "2"]
    result = runner.invoke(args=[*args, "--country", "cn", "--out", str(out)])
    assert result.exit_code == 0, result.output
    export_id = re.search(r"Export (EX-\w+): 1 rows", result.output).group(1)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["name"], r["export_id"]) for r in rows] == [("王小明", export_id)]
    with app.app_context():
        event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "export"))
        assert event.actor_label == "cli"
    bad = runner.invoke(args=["signatures", "export", "nope"])
    assert bad.exit_code != 0
    assert "No campaign" in bad.output
    bad_date = runner.invoke(
        args=["signatures", "export", "us-china-human-rights-2011", "--since", "yesterday"]
    )
    assert bad_date.exit_code != 0
    assert "YYYY-MM-DD" in bad_date.output


def test_filters_are_checked_in_one_place_for_the_page_and_the_cli(app, runner, seeded):
    from datetime import date

    from campaign.campaigns.models import Campaign
    from campaign.exports import services

    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        second = next(d for d in campaign.demands if d.position == 2)
        assert services.make_filter(campaign, demand_position=2).demand_id == second.id
        assert services.make_filter(campaign, state="any", country=" de ").country == "DE"
        for kwargs, code in [
            ({"demand_position": 99}, "no_demand"),
            ({"demand_id": 10**6}, "no_demand"),
            ({"state": "deleted"}, "bad_state"),
            ({"country": "XX"}, "bad_country"),
            ({"signed_until": date(9999, 12, 31)}, "bad_date"),
            ({"signed_from": date(2026, 2, 1), "signed_until": date(2026, 1, 1)}, "reversed"),
        ]:
            with pytest.raises(services.ExportError) as refused:
                services.make_filter(campaign, **kwargs)
            assert refused.value.code == code
    result = runner.invoke(args=["signatures", "export", SEED_SLUG, "--country", "XX"])
    assert result.exit_code != 0
    assert "Unknown country code" in result.output
