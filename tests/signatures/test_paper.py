"""Paper signatures: sheets to print, batches typed in, imported or counted, corrected and
invalidated; they count, apart, on the page, in the API, in packets and in exports."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.signatures import counts as counting
from campaign.signatures import paper
from campaign.signatures.models import PaperBatch, Signature
from tests.conftest import SEED_SLUG, confirm, confirm_link, deliver, mails, sign, token_from

BATCH = {"collected_on": "2026-11-20", "place": "Vigil at the embassy", "collected_by": "Ana",
         "sheets": "2"}  # fmt: skip


def _api(client) -> dict:
    return client.get(f"/api/v1/campaigns/{SEED_SLUG}").json


def _cid(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Campaign.id))


def _post(client, url: str, data: dict, files: dict | None = None):
    body = {"csrf_token": token_from(client, "/staff/"), **BATCH, **data}
    if files:
        body.update(files)
        return client.post(url, data=body, content_type="multipart/form-data")
    return client.post(url, data=body)


def _named_rows(*rows: dict) -> dict:
    data = {"rows": str(max(len(rows), 10))}
    for i, row in enumerate(rows, start=1):
        for key, value in row.items():
            data[f"{key}-{i}"] = value
    return data


PEOPLE = _named_rows(
    {"name": "Wang Fang", "country": "Taiwan", "city": "Taipei", "demand": ["1", "2"],
     "named": "y"},
    {"name": "Li Wei", "country": "hk", "demand": ["1"]},
    {"name": "Chen Jie", "country": "加拿大", "demand": ["2"], "updates": "y",
     "email": "chen@example.org"},
)  # fmt: skip


def _recount_agrees(app) -> None:
    """The tallies (what pages read) equal a count from the rows themselves."""
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert counting.scan_counts(campaign.id) == counting.compute_counts(campaign.id)


def test_a_named_batch_counts_at_once_and_apart(app, client, organiser, seeded):
    url = f"/staff/campaigns/{_cid(app)}/paper/new/named"
    assert client.get(url).status_code == 200
    done = _post(client, url, PEOPLE)
    assert done.status_code == 303, done.get_data(as_text=True)
    assert "Batch saved" in client.get(done.headers["Location"]).get_data(as_text=True)
    data = _api(client)
    first, second = seeded["demand_ids"][:2]
    assert (data["signatures"], data["paper"]) == (3, 3)
    per = {d["id"]: (d["signatures"], d["paper"]) for d in data["demands"]}
    assert per[first] == (2, 2)
    assert per[second] == (2, 2)
    _recount_agrees(app)
    page = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert "(of which 3 on paper)" in page
    assert "Wang Fang" not in page  # a sheet does not ask to be shown on the site
    with app.app_context():
        rows = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        assert [(s.country, s.source, s.state) for s in rows] == [
            ("TW", "paper", "confirmed"),
            ("HK", "paper", "confirmed"),
            ("CA", "paper", "confirmed"),
        ]  # fmt: skip
        assert rows[0].email.endswith("@paper.invalid")
        assert rows[2].email == "chen@example.org"
        assert [s.updates for s in rows] == [False, False, True]
        [event] = db.session.scalars(
            select(ModerationEvent).where(ModerationEvent.action == "paper_batch_entered")
        ).all()
        assert event.actor_label == "org@example.org"
        details = json.loads(event.details)
        assert details["entries"] == 3
        assert details["named_in_letters"] == 1
        assert "Wang" not in event.details  # the history never holds a name


def test_counts_only_batches_add_numbers_and_nothing_else(app, client, organiser, seeded):
    url = f"/staff/campaigns/{_cid(app)}/paper/new/counts"
    data = {"rows": "10", "country-1": "China", "people-1": "12", "d1-1": "12", "d2-1": "5",
            "country-2": "", "people-2": "3", "d1-2": "3"}  # fmt: skip
    assert _post(client, url, data).status_code == 303
    api = _api(client)
    first, second = seeded["demand_ids"][:2]
    assert (api["signatures"], api["paper"]) == (15, 15)
    per = {d["id"]: (d["signatures"], d["paper"]) for d in api["demands"]}
    assert per[first] == (15, 15)
    assert per[second] == (5, 5)
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert counting.counts_for(campaign).by_country == {"CN": 12, "ZZ": 3}
        assert db.session.scalar(select(Signature)) is None  # no one is stored
    _recount_agrees(app)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"name-1": "Wang", "country-1": "Atlantis", "demand-1": "1"}, "Row 1: the country"),
        ({"name-1": "Wang", "country-1": "TW"}, "Row 1: tick at least one demand"),
        ({"name-1": "Wang", "country-1": "TW", "demand-1": "99"}, "Row 1: tick at least one"),
        ({"name-1": "", "country-1": "TW", "demand-1": "1"}, "Row 1: the name is missing"),
        (
            {"name-1": "Wang", "country-1": "TW", "demand-1": "1", "updates-1": "y"},
            "Row 1: updates were asked for without an e-mail",
        ),
        (
            {"name-1": "Wang", "country-1": "TW", "demand-1": "1", "email-1": "nope"},
            "Row 1: the e-mail address is not valid",
        ),
        (
            {
                "name-1": "A",
                "country-1": "TW",
                "demand-1": "1",
                "email-1": "a@example.org",
                "name-2": "B",
                "country-2": "TW",
                "demand-2": "1",
                "email-2": "A@example.org",
            },
            "Row 2: this e-mail address has signed",
        ),
        ({}, "every row is empty"),
    ],
)
def test_a_wrong_row_saves_nothing_and_keeps_what_was_typed(app, client, organiser, seeded,
                                                            rows, message):  # fmt: skip
    page = _post(client, f"/staff/campaigns/{_cid(app)}/paper/new/named", {"rows": "10", **rows})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert message in html
    assert 'id="error-summary"' in html
    if rows.get("name-1"):
        assert f'value="{rows["name-1"]}"' in html
    assert _api(client)["paper"] == 0
    with app.app_context():
        assert db.session.scalar(select(PaperBatch)) is None


def test_bad_counts_and_bad_batch_details_are_refused(app, client, organiser, seeded):
    url = f"/staff/campaigns/{_cid(app)}/paper/new/counts"
    too_many = _post(client, url, {"country-1": "TW", "people-1": "2", "d1-1": "3"})
    assert "a demand has more signers than the row has people" in too_many.get_data(as_text=True)
    twice = _post(client, url, {"country-1": "TW", "people-1": "2", "country-2": "Taiwan",
                                "people-2": "1", "rows": "10"})  # fmt: skip
    assert "Row 2: this country has a row already" in twice.get_data(as_text=True)
    words = _post(client, url, {"country-1": "TW", "people-1": "many"})
    assert "numbers must be whole" in words.get_data(as_text=True)
    no_place = _post(client, url, {"place": "", "country-1": "TW", "people-1": "2"})
    assert no_place.status_code == 422
    assert "Where: This field is required." in no_place.get_data(as_text=True)
    assert _api(client)["paper"] == 0


def test_more_rows_keeps_what_was_typed_and_saves_nothing(app, client, organiser, seeded):
    url = f"/staff/campaigns/{_cid(app)}/paper/new/named"
    page = _post(client, url, {"rows": "10", "name-1": "Wang Fang", "more": "1"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="name-20"' in html
    assert 'value="Wang Fang"' in html
    with app.app_context():
        assert db.session.scalar(select(PaperBatch)) is None


CSV = (
    "\ufeffname,country,city,demands,named,updates,email\n"
    "王芳,台灣,台北,1 2,是,,\n"
    "Li Wei,HK,,1;2,no,yes,li@example.org\n"
    ",,,,,,\n"
)


def test_a_csv_import_enters_every_line_or_none(app, client, organiser, seeded):
    url = f"/staff/campaigns/{_cid(app)}/paper/new/csv"
    bad = CSV + "Nobody,Atlantis,,1,,,\n"
    refused = _post(client, url, {}, {"file": (io.BytesIO(bad.encode()), "sheets.csv")})
    assert refused.status_code == 422
    assert "Line 5 of the file: the country is not one we know" in refused.get_data(as_text=True)
    assert _api(client)["paper"] == 0
    latin1 = _post(
        client, url, {}, {"file": (io.BytesIO("Zoë,FR,,1\n".encode("latin-1")), "x.csv")}
    )
    assert "not UTF-8 text" in latin1.get_data(as_text=True)
    done = _post(client, url, {}, {"file": (io.BytesIO(CSV.encode()), "sheets.csv")})
    assert done.status_code == 303
    assert _api(client)["paper"] == 2
    with app.app_context():
        rows = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        assert [(s.name, s.country, s.name_in_letters, s.updates) for s in rows] == [
            ("王芳", "TW", True, False), ("Li Wei", "HK", False, True),
        ]  # fmt: skip


def test_a_batch_is_corrected_and_its_history_shows_who_changed_what(app, client, organiser,
                                                                     seeded):  # fmt: skip
    cid = _cid(app)
    location = _post(client, f"/staff/campaigns/{cid}/paper/new/named", PEOPLE).headers["Location"]
    form = client.get(location).get_data(as_text=True)
    assert 'value="Wang Fang"' in form
    assert 'value="chen@example.org"' in form
    corrected = _named_rows(
        {"name": "Wang Fang", "country": "TW", "city": "Taipei", "demand": ["1", "2"],
         "named": "y"},
        {"name": "Chen Jie", "country": "CA", "demand": ["2"], "updates": "y",
         "email": "chen@example.org"},
    )  # fmt: skip
    done = _post(client, location, {**corrected, "sheets": "3"})
    assert done.status_code == 303
    assert _api(client)["paper"] == 2
    _recount_agrees(app)
    page = client.get(location).get_data(as_text=True)
    assert "Batch corrected." in page
    assert "entered" in page
    assert "corrected" in page
    assert "org@example.org" in page
    with app.app_context():
        [event] = db.session.scalars(
            select(ModerationEvent).where(ModerationEvent.action == "paper_batch_corrected")
        ).all()
        assert json.loads(event.details) == {"entries": [3, 2], "sheets": [2, 3]}


def test_an_invalidated_batch_stops_counting_and_cannot_be_changed(app, client, organiser,
                                                                   seeded):  # fmt: skip
    cid = _cid(app)
    location = _post(client, f"/staff/campaigns/{cid}/paper/new/named", PEOPLE).headers["Location"]
    counts_url = f"/staff/campaigns/{cid}/paper/new/counts"
    _post(client, counts_url, {"country-1": "TW", "people-1": "4", "d1-1": "4"})
    assert _api(client)["paper"] == 7
    token = token_from(client, "/staff/")
    no_reason = client.post(location + "/invalidate", data={"csrf_token": token, "reason": " "})
    assert "Say why" in client.get(no_reason.headers["Location"]).get_data(as_text=True)
    assert _api(client)["paper"] == 7
    client.post(location + "/invalidate", data={"csrf_token": token, "reason": "Forged sheet"})
    api = _api(client)
    assert (api["signatures"], api["paper"]) == (4, 4)
    _recount_agrees(app)
    page = client.get(location).get_data(as_text=True)
    assert "This batch was invalidated" in page
    assert "Forged sheet" in page
    again = _post(client, location, PEOPLE)
    assert again.status_code == 422
    assert _api(client)["paper"] == 4
    with app.app_context():
        states = set(db.session.scalars(select(Signature.state)))
        assert states == {"invalidated"}
        event = db.session.scalar(
            select(ModerationEvent).where(ModerationEvent.action == "paper_batch_invalidated")
        )
        assert event.reason == "Forged sheet"


def test_paper_signers_are_named_in_packets_and_exported_with_their_source(
    app, client, organiser, seeded
):
    from campaign.packets import snapshot as snap
    from campaign.timeutil import utcnow

    cid = _cid(app)
    _post(client, f"/staff/campaigns/{cid}/paper/new/named", PEOPLE)
    _post(client, f"/staff/campaigns/{cid}/paper/new/counts",
          {"country-1": "TW", "people-1": "10", "d1-1": "6", "d2-1": "9"})  # fmt: skip
    first, second = seeded["demand_ids"][:2]
    with app.app_context():
        later = utcnow()
        assert snap.demand_counts([first, second], later) == {first: (8, 1), second: (11, 1)}
        # Counted once each; a counts-only row adds the fewest people it can be (9).
        assert snap.distinct_counts([first, second], later) == (12, 1)
        named = list(snap.named_supporters(first, later, "en"))
        assert [(s.name, s.source) for s in named] == [("Wang Fang", "paper")]
    url = f"/staff/campaigns/{SEED_SLUG}/export"
    export = client.post(url, data={"csrf_token": token_from(client, url), "fmt": "csv",
                                    "state": "confirmed"})  # fmt: skip
    text = export.get_data(as_text=True)
    header = text.splitlines()[0]
    assert ",locale,source,paper_batch,demands," in header
    assert text.count(",paper,") == 3


def test_confirming_online_makes_a_paper_signer_an_online_one_counted_once(
    app, client, organiser, seeded
):
    cid = _cid(app)
    _post(client, f"/staff/campaigns/{cid}/paper/new/named", PEOPLE)
    sign(client, seeded, email="chen@example.org", name="Chen Jie", country="CA")
    deliver(app)
    confirm(client, confirm_link(mails(app)[-1]))
    api = _api(client)
    assert (api["signatures"], api["paper"]) == (3, 2)
    _recount_agrees(app)
    with app.app_context():
        sig = db.session.scalar(select(Signature).where(Signature.email == "chen@example.org"))
        assert (sig.source, sig.batch_id) == ("online", None)


@pytest.mark.parametrize(("lang", "paper_size", "word"), [
    ("en", "A4", "Signature sheet"), ("zh-hans", "Letter", "签名表"), ("zh-hant", "A4", "簽名表"),
])  # fmt: skip
def test_the_printable_sheet_has_the_demands_the_notice_and_the_link(client, seeded, lang,
                                                                     paper_size, word):  # fmt: skip
    response = client.get(f"/{lang}/c/{SEED_SLUG}/sheet.pdf?paper={paper_size}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    expected = {"A4": (842, 595), "Letter": (792, 612)}[paper_size]
    assert (round(float(box.width)), round(float(box.height))) == expected  # landscape
    text = reader.pages[0].extract_text()
    assert word in text
    assert f"https://petition.example.org/{lang}/c/{SEED_SLUG}/" in text
    assert "7." in text  # every open demand is listed


def test_the_sheet_refuses_an_unknown_paper_or_campaign(client, seeded):
    assert client.get(f"/en/c/{SEED_SLUG}/sheet.pdf?paper=A3").status_code == 404
    assert client.get("/en/c/no-such/sheet.pdf").status_code == 404


def test_the_csv_reader_understands_what_people_type():
    entries, problems = paper.parse_csv('Name,Country,Demands,Named\nA,TW,"1, 3",x\n')
    assert problems == []
    [entry] = entries
    assert (entry.line, entry.demand_positions, entry.name_in_letters) == (2, [1, 3], True)
    assert paper.parse_csv("who,where\nA,TW\n") == ([], [(1, "csv_header")])


def test_batches_are_for_organisers_only(app, client, seeded):
    from tests.conftest import login, make_user

    make_user(app, "mod@example.org", roles=("moderator",))
    login(client, "mod@example.org")
    cid = _cid(app)
    assert client.get(f"/staff/campaigns/{cid}/paper/").status_code == 403
    assert client.get(f"/staff/campaigns/{cid}/paper/new/named").status_code == 403


def test_a_batch_of_another_campaign_is_not_found(app, client, organiser, seeded):
    cid = _cid(app)
    location = _post(client, f"/staff/campaigns/{cid}/paper/new/named", PEOPLE).headers["Location"]
    assert client.get(location.replace(f"/campaigns/{cid}/", "/campaigns/999/")).status_code == 404
    assert client.get(f"/staff/campaigns/{cid}/paper/new/other").status_code == 404


def test_the_batch_list_shows_each_batch_and_the_sheets_to_print(app, client, organiser, seeded):
    cid = _cid(app)
    _post(client, f"/staff/campaigns/{cid}/paper/new/named", PEOPLE)
    page = client.get(f"/staff/campaigns/{cid}/paper/").get_data(as_text=True)
    assert "Vigil at the embassy" in page
    assert "3 of the campaign's supporters signed on paper." in page
    assert f"/zh-hant/c/{SEED_SLUG}/sheet.pdf?paper=Letter" in page
