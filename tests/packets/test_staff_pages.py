"""Officials, visits, builds and deliveries through the staff pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaign.audit import ModerationEvent
from campaign.extensions import db
from campaign.packets import builder
from campaign.packets.models import Packet, PacketBuild
from campaign.timeutil import utcnow
from campaign.visits.models import Official, Visit
from tests.conftest import deliver, login, make_user, token_from
from tests.packets.helpers import SNAPSHOT, add_people, add_visit, queued_build

OFFICIAL = {
    "name": "Jane Roe",
    "title": "Foreign Minister",
    "office": "Ministry of Foreign Affairs",
    "government": "Testland",
    "address": "1 Main Street\nCapital City",
    "email": "",
    "salutation": "Dear Minister,",
    "language": "en",
}


@pytest.fixture
def staff(client, organiser):
    """The test client, logged in as an staff."""
    return client


def _post(client, url, data, token_url=None):
    return client.post(url, data={**data, "csrf_token": token_from(client, token_url or url)})


def _official_id(app, name="Jane Roe") -> int:
    with app.app_context():
        return db.session.scalar(select(Official.id).where(Official.name == name))


def test_official_create_edit_archive(app, staff):
    response = _post(staff, "/staff/officials/new", OFFICIAL)
    assert response.status_code == 303
    official_id = _official_id(app)
    assert official_id
    listing = staff.get("/staff/officials/").get_data(as_text=True)
    assert "Jane Roe" in listing
    assert "Ministry of Foreign Affairs" in listing

    edited = _post(staff, f"/staff/officials/{official_id}", {**OFFICIAL, "language": "zh_Hant"})
    assert edited.status_code == 303
    _post(staff, f"/staff/officials/{official_id}/archive", {"op": "archive"}, "/staff/officials/")
    with app.app_context():
        official = db.session.get(Official, official_id)
        assert official.language == "zh_Hant"
        assert official.archived
        actions = set(
            db.session.scalars(
                select(ModerationEvent.action).where(ModerationEvent.object_type == "official")
            )
        )
        assert actions == {"create", "edit", "archive"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("address", "", "This field is required."),
        ("email", "not-an-address", "Enter a valid e-mail address."),
        ("name", "x" * 201, "Field cannot be longer than 200 characters."),
        ("language", "fr", "Not a valid choice."),
    ],
)
def test_official_validation(app, staff, field, value, message):
    response = _post(staff, "/staff/officials/new", {**OFFICIAL, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _official_id(app) is None


def _visit_form(official_id: int, campaign_id: int, **overrides) -> dict:
    data = {
        "slug": "state-visit-2027",
        "campaign_id": str(campaign_id),
        "title": "State visit",
        "place": "Washington, D.C.",
        "starts_on": "2027-01-18",
        "ends_on": "2027-01-21",
        "deadline": "2027-01-17",
        "paper": "Letter",
        "official_ids": [str(official_id)],
        "letter_en": "We write to you.",
        "letter_zh_Hans": "",
        "letter_zh_Hant": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _campaign_id(app) -> int:
    from campaign.campaigns.models import Campaign

    with app.app_context():
        return db.session.scalar(select(Campaign.id))


def test_new_visit_form_is_prefilled_with_letter_templates(app, seeded, staff):
    page = staff.get("/staff/visits/new").get_data(as_text=True)
    assert "We write on behalf of Chinese Human Rights Defenders" in page
    assert "我们谨代表" in page or "谨代表" in page
    # The letter names the visit in its own language, whatever the organiser's.
    assert "本次访问" in page
    assert "本次訪問" in page
    assert "this visit" in page


def test_each_letter_has_its_own_subject(app, seeded, staff):
    _post(staff, "/staff/officials/new", OFFICIAL)
    form = _visit_form(_official_id(app), _campaign_id(app), subject_zh_Hans="国事访问",
                       letter_zh_Hans="我们谨致函。", subject_zh_Hant="")  # fmt: skip
    assert _post(staff, "/staff/visits/new", form).status_code == 303
    with app.app_context():
        visit = db.session.scalar(select(Visit).where(Visit.slug == "state-visit-2027"))
        assert visit.subject_for("zh_Hans") == "国事访问"
        assert visit.subject_for("zh_Hant") == "State visit"  # none written: the title
        assert visit.subject_for("en") == "State visit"
        visit_id = visit.id
    page = staff.get(f"/staff/visits/{visit_id}").get_data(as_text=True)
    assert 'value="国事访问"' in page


def test_visit_create_defaults_to_all_demands_and_can_narrow(app, seeded, staff):
    _post(staff, "/staff/officials/new", OFFICIAL)
    official_id, campaign_id = _official_id(app), _campaign_id(app)
    response = _post(staff, "/staff/visits/new", _visit_form(official_id, campaign_id))
    assert response.status_code == 303
    with app.app_context():
        visit = db.session.scalar(select(Visit).where(Visit.slug == "state-visit-2027"))
        assert len(visit.demands) == 7
        assert [o.name for o in visit.officials] == ["Jane Roe"]
        assert visit.letter_for("zh_Hans") == "We write to you."  # falls back to English
        visit_id, first_two = visit.id, [str(d.id) for d in visit.demands[:2]]
    form = _visit_form(official_id, campaign_id, demand_ids=first_two, counts_only="y")
    assert _post(staff, f"/staff/visits/{visit_id}", form).status_code == 303
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert [d.position for d in visit.demands] == [1, 2]
        assert visit.counts_only


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_on": "2027-01-10"}, "The last day cannot be before the first day."),
        ({"deadline": "2027-02-01"}, "The deadline cannot be after the last day of the visit."),
        ({"official_ids": None}, "Choose at least one official."),
        ({"slug": "Bad Slug!"}, "Use 3 to 80 lower-case letters, digits and hyphens."),
        ({"starts_on": "18/01/2027"}, "Not a valid date value."),
        ({"title": ""}, "This field is required."),
    ],
)
def test_visit_validation(app, seeded, staff, overrides, message):
    _post(staff, "/staff/officials/new", OFFICIAL)
    form = _visit_form(_official_id(app), _campaign_id(app), **overrides)
    response = _post(staff, "/staff/visits/new", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Visit.id)) is None


def test_visit_slug_must_be_unique(app, seeded, staff):
    _post(staff, "/staff/officials/new", OFFICIAL)
    form = _visit_form(_official_id(app), _campaign_id(app))
    assert _post(staff, "/staff/visits/new", form).status_code == 303
    again = _post(staff, "/staff/visits/new", form)
    assert again.status_code == 422
    assert "Another visit uses this address." in again.get_data(as_text=True)


def test_moderator_cannot_reach_officials_visits_or_packets(app, client, seeded):
    make_user(app, "mod@example.org", roles=("moderator",))
    login(client, "mod@example.org")
    for url in ("/staff/officials/", "/staff/visits/", "/staff/visits/new",
                "/staff/campaigns/us-china-human-rights-2011/export"):  # fmt: skip
        assert client.get(url).status_code == 403, url


def _wait(app, build_id: int) -> PacketBuild:
    """The build's state after one pass of the worker."""
    deliver(app)
    with app.app_context():
        return db.session.get(PacketBuild, build_id)


def test_build_in_background_then_download_and_mark_delivered(app, seeded, staff):
    with app.app_context():
        from campaign.campaigns.models import Campaign

        campaign = db.session.scalar(select(Campaign))
        add_people(campaign)
        visit_id = add_visit(campaign).id
        db.session.commit()
    page = f"/staff/visits/{visit_id}"
    response = _post(staff, f"/staff/visits/{visit_id}/build", {}, page)
    assert response.status_code == 303
    build_id = int(re.search(r"/builds/(\d+)", response.headers["Location"]).group(1))
    waiting = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting  # queued: nothing runs in the web process
    build = _wait(app, build_id)
    assert build.state == "done", build.error

    progress = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in progress
    assert "Download all packets (ZIP)" in progress
    zipped = staff.get(f"/staff/visits/{visit_id}/builds/{build_id}/zip")
    assert zipped.status_code == 200
    assert zipped.data[:2] == b"PK"
    zipped.close()
    with app.app_context():
        packet_id = db.session.scalar(select(Packet.id).where(Packet.build_id == build_id))
    letter = staff.get(f"/staff/packets/{packet_id}/letter.pdf")
    assert letter.data.startswith(b"%PDF")
    letter.close()
    assert staff.get(f"/staff/packets/{packet_id}/secrets.txt").status_code == 404

    url = f"/staff/packets/{packet_id}/delivered"
    token_page = response.headers["Location"]
    missing = _post(staff, url, {"how": "hand", "note": ""}, token_page)
    assert missing.status_code == 303
    with app.app_context():
        assert db.session.get(Packet, packet_id).delivered_on is None
    done = _post(
        staff,
        url,
        {"delivered_on": "2026-11-30", "how": "hand", "note": "At the gate"},
        token_page,
    )
    assert done.status_code == 303
    with app.app_context():
        packet = db.session.get(Packet, packet_id)
        assert str(packet.delivered_on) == "2026-11-30"
        assert packet.delivered_how == "hand"
        event = db.session.scalar(
            select(ModerationEvent).where(ModerationEvent.action == "delivered")
        )
        assert event.object_id == packet_id
        assert event.reason == "At the gate"
    shown = staff.get(token_page).get_data(as_text=True)
    assert "Delivered on" in shown


def test_progress_page_refreshes_while_waiting_and_reports_failure(app, seeded, staff):
    with app.app_context():
        from campaign.campaigns.models import Campaign

        visit = add_visit(db.session.scalar(select(Campaign)))
        build = builder.create_build(visit, None)
        build.snapshot_at = SNAPSHOT
        db.session.commit()
        visit_id, build_id = visit.id, build.id
    url = f"/staff/visits/{visit_id}/builds/{build_id}"
    waiting = staff.get(url).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting
    assert "<progress" in waiting
    with app.app_context():
        build = db.session.get(PacketBuild, build_id)
        build.state, build.error = "failed", "OSError: disk full"
        db.session.commit()
    failed = staff.get(url).get_data(as_text=True)
    assert "The build failed" in failed
    assert "OSError: disk full" in failed
    assert 'http-equiv="refresh"' not in failed


def test_a_build_whose_worker_was_killed_is_built_by_the_next_worker(app, seeded):
    from campaign.jobs import Job

    with app.app_context():
        build_id = queued_build().id
        # A worker claimed it, started, and was killed: its lease ran out.
        db.session.execute(
            update(Job).values(state="running", attempts=1, locked_until=utcnow() - timedelta(1))
        )
        db.session.execute(update(PacketBuild).values(state="running"))
        db.session.commit()
    build = _wait(app, build_id)
    assert build.state == "done", build.error
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert (job.state, job.attempts) == ("done", 2)


def test_dashboard_shows_upcoming_visits_and_chart(app, seeded, staff):
    with app.app_context():
        from campaign.campaigns.models import Campaign
        from campaign.timeutil import utcnow
        from tests.packets.helpers import add_signature

        campaign = db.session.scalar(select(Campaign))
        add_signature(campaign, "Today Tess", positions=(1, 3), when=utcnow())
        visit = add_visit(campaign)
        today = utcnow().date()
        from datetime import timedelta

        visit.deadline = today + timedelta(days=3)
        visit.starts_on, visit.ends_on = today + timedelta(days=4), today + timedelta(days=6)
        db.session.commit()
    page = staff.get("/staff/").get_data(as_text=True)
    assert "Test visit" in page
    assert "3 days left" in page
    assert "not built yet" in page
    assert "<svg" in page
    assert "<polyline" in page
    assert "Day (UTC)" in page
    zh = staff.get("/staff/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "日期" in zh


def test_build_whose_worker_died_is_shown_as_stopped(app, seeded, staff):
    from datetime import timedelta

    from campaign.timeutil import utcnow

    with app.app_context():
        from campaign.campaigns.models import Campaign

        visit = add_visit(db.session.scalar(select(Campaign)))
        build = builder.create_build(visit, None)
        build.state = "running"
        build.progress_at = utcnow() - timedelta(minutes=app.config["PACKET_STALL_MINUTES"] + 1)
        db.session.commit()
        url = f"/staff/visits/{visit.id}/builds/{build.id}"
    page = staff.get(url).get_data(as_text=True)
    assert "This build has stopped" in page
    assert 'http-equiv="refresh"' not in page
    assert "Try again" in page


def test_the_small_countries_setting_is_on_the_campaign_form(app, seeded, staff):
    from campaign.campaigns import editor
    from campaign.campaigns.models import Campaign

    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
    page = staff.get(f"/staff/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'id="packet_small_countries"' in page
    assert re.search(
        r'<input[^>]*\bchecked\b[^>]*id="packet_small_countries"', page
    )  # on by default
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        fields = editor.CampaignFields(
            slug=campaign.slug, title=campaign.title, organisation=campaign.organisation,
            published_on=campaign.published_on, body=campaign.body, footnotes="",
            media_contacts="", outcome="", goal=0, packet_small_countries=False,
        )  # fmt: skip
        editor.edit_campaign(campaign, fields, None)
        db.session.commit()
    page = staff.get(f"/staff/campaigns/{campaign_id}").get_data(as_text=True)
    assert not re.search(r'<input[^>]*\bchecked\b[^>]*id="packet_small_countries"', page)
