"""Officials' replies: recorded against a delivered packet, shown on the campaign page and
linked from the packet's verification page; files are served from here, without metadata."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfgen import canvas
from sqlalchemy import select

from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.packets import builder
from campaign.packets.models import PacketBuild, PacketReply
from campaign.packets.replies import file_path
from campaign.visits.models import Visit
from tests.conftest import SEED_SLUG, login, make_user, post_multipart, token_from
from tests.packets.helpers import add_people, add_visit

SECRET = "Private Author Name"
SUMMARY = "The minister promised to raise Liu Xiaobo's case during the visit."


def _pdf(author: str = SECRET) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setAuthor(author)
    page.drawString(72, 720, "Reply from the Ministry")
    page.save()
    return out.getvalue()


def _jpeg_with_location() -> bytes:
    image = Image.new("RGB", (40, 30), "white")
    exif = Image.Exif()
    exif[0x013B] = SECRET  # Artist
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPS: where the photo was taken
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def packets(app, seeded) -> dict:
    """A finished build of the test visit (two officials); the first packet delivered."""
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        add_people(campaign)
        visit = add_visit(campaign)
        db.session.commit()
        build = builder.create_build(db.session.get(Visit, visit.id), None)
        db.session.commit()
        builder.run_build(build.id)
        db.session.expire_all()
        build = db.session.get(PacketBuild, build.id)
        first, second = build.packets
        first.delivered_on = date(2026, 11, 30)
        first.delivered_how = "hand"
        db.session.commit()
        return {"delivered": first.id, "undelivered": second.id, "visit": visit.id,
                "build": build.id, "official": first.official.name}  # fmt: skip


def _reply(client, packet_id: str, file: tuple[bytes, str] | None = None, **fields):
    url = f"/staff/packets/{packet_id}/reply"
    data = {
        "csrf_token": token_from(client, "/staff/"),
        "received_on": "2026-12-10",
        "how": "letter",
        "summary": SUMMARY,
        "locale": "en",
        **fields,
    }
    if file is not None:
        data["file"] = (io.BytesIO(file[0]), file[1])
    return post_multipart(client, url, data)


def _only_reply(app) -> PacketReply:
    with app.app_context():
        reply = db.session.scalar(select(PacketReply))
        db.session.expunge(reply)
        return reply


def test_a_recorded_reply_is_shown_under_the_outcome_and_linked_from_verification(
    app, client, organiser, packets
):
    done = _reply(client, packets["delivered"], file=(_pdf(), "reply.pdf"))
    assert done.status_code == 303, done.get_data(as_text=True)
    assert done.headers["Location"].endswith(f"#p-{packets['delivered']}")
    build_page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Reply recorded." in build_page
    assert SUMMARY.replace("'", "&#39;") in build_page
    reply = _only_reply(app)
    assert (reply.how, str(reply.received_on), reply.file_type) == ("letter", "2026-12-10",
                                                                    "application/pdf")  # fmt: skip

    page = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert "Replies from officials" in page
    assert f'id="reply-{reply.id}"' in page
    assert packets["official"] in page
    assert "By letter" in page
    assert f'href="/replies/{reply.id}/file"' in page

    verify = client.get(f"/verify/{packets['delivered']}").get_data(as_text=True)
    assert f'/en/c/{SEED_SLUG}/#reply-{reply.id}"' in verify
    assert f"/replies/{reply.id}/file" in verify
    assert "reply-" not in client.get(f"/verify/{packets['undelivered']}").get_data(as_text=True)

    client.post("/staff/logout", data={"csrf_token": token_from(client, "/staff/")})
    served = client.get(f"/replies/{reply.id}/file")  # public, like the page
    assert served.status_code == 200
    assert served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"] == f"attachment; filename=reply-{reply.id}.pdf"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert hashlib.sha256(served.data).hexdigest() == reply.file_sha256
    assert SECRET.encode() not in served.data
    assert "Reply from the Ministry" in PdfReader(io.BytesIO(served.data)).pages[0].extract_text()
    served.close()

    with app.app_context():
        [event] = db.session.scalars(
            select(ModerationEvent).where(ModerationEvent.action == "reply_recorded")
        ).all()
        assert event.actor_label == "org@example.org"
        assert json.loads(event.details)["file"] is True


def test_a_photo_is_published_without_its_location_or_author(app, client, organiser, packets):
    assert (
        _reply(client, packets["delivered"], file=(_jpeg_with_location(), "x.jpg")).status_code
        == 303
    )
    reply = _only_reply(app)
    with app.app_context():
        stored = file_path(reply).read_bytes()
    assert SECRET.encode() not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (40, 30)
        assert dict(image.getexif()) == {}


def test_a_reply_in_chinese_is_marked_as_such_on_an_english_page(app, client, organiser, packets):
    _reply(client, packets["delivered"], summary="部长表示会提出刘晓波的案件。", locale="zh_Hans",
           how="meeting")  # fmt: skip
    page = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert 'lang="zh-Hans" class="reply-summary">部长表示会提出刘晓波的案件。' in page
    hans = client.get(f"/zh-hans/c/{SEED_SLUG}/").get_data(as_text=True)
    assert "官员的回复" in hans
    assert "在会面中" in hans


@pytest.mark.parametrize(
    ("file", "fields", "message"),
    [
        ((b"just text, named as a PDF", "reply.pdf"), {}, "must be a PDF, PNG or JPEG"),
        ((b"%PDF-1.4 broken", "reply.pdf"), {}, "cannot be read"),
        (None, {"summary": "   "}, "This field is required."),
        (None, {"received_on": ""}, "This field is required."),
        (None, {"received_on": "1899-01-01"}, ""),
        (None, {"how": "carrier pigeon"}, "Not a valid choice"),
    ],
)
def test_a_bad_reply_is_refused_and_what_was_typed_stays(
    app, client, organiser, packets, file, fields, message
):
    page = _reply(client, packets["delivered"], file=file, **fields)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert message in html
    assert 'id="error-summary"' in html
    if "summary" not in fields:
        assert "raise Liu Xiaobo" in html
    with app.app_context():
        assert db.session.scalar(select(PacketReply)) is None


def test_a_file_over_the_limit_is_refused_with_a_clear_message(app, client, organiser,
                                                               packets, monkeypatch):  # fmt: skip
    monkeypatch.setitem(app.config, "UPLOAD_MAX_MB", 1)
    just_over = b"%PDF-" + b"0" * (1024 * 1024)
    far_over = b"%PDF-" + b"0" * (3 * 1024 * 1024)  # past the request limit itself
    for data in (just_over, far_over):
        page = _reply(client, packets["delivered"], file=(data, "big.pdf"))
        assert page.status_code == 422
        assert "larger than 1 MB" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(PacketReply)) is None


def test_an_undelivered_packet_takes_no_reply(app, client, organiser, packets):
    form = client.get(f"/staff/packets/{packets['undelivered']}/reply")
    assert form.status_code == 422
    assert "Record the packet&#39;s delivery first" in form.get_data(as_text=True)
    assert _reply(client, packets["undelivered"]).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(PacketReply)) is None


def test_removing_a_reply_removes_its_file_and_its_mention(app, client, organiser, packets):
    _reply(client, packets["delivered"], file=(_pdf(), "reply.pdf"))
    reply = _only_reply(app)
    with app.app_context():
        path = file_path(reply)
    assert path.is_file()
    build_url = f"/staff/visits/{packets['visit']}/builds/{packets['build']}"
    done = client.post(f"/staff/replies/{reply.id}/remove",
                       data={"csrf_token": token_from(client, build_url)})  # fmt: skip
    assert done.status_code == 303
    assert not path.exists()
    assert "Replies from officials" not in client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    gone = client.get(f"/replies/{reply.id}/file")
    assert gone.status_code == 404
    with app.app_context():
        assert db.session.scalar(
            select(ModerationEvent).where(ModerationEvent.action == "reply_removed")
        )


def test_only_organisers_record_replies_and_forms_need_their_token(app, client, seeded, packets):
    make_user(app, "mod@example.org", roles=("moderator",))
    login(client, "mod@example.org")
    assert client.get(f"/staff/packets/{packets['delivered']}/reply").status_code == 403
    client.post("/staff/logout", data={"csrf_token": token_from(client, "/staff/")})
    make_user(app, "org2@example.org", roles=("organiser",))
    login(client, "org2@example.org")
    refused = client.post(f"/staff/packets/{packets['delivered']}/reply",
                          data={"received_on": "2026-12-10", "how": "letter",
                                "summary": SUMMARY, "locale": "en"})  # fmt: skip
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(PacketReply)) is None


def test_a_draft_campaigns_reply_file_is_not_served(app, client, organiser, packets):
    _reply(client, packets["delivered"], file=(_pdf(), "reply.pdf"))
    reply = _only_reply(app)
    with app.app_context():
        db.session.scalar(select(Campaign)).state = "draft"
        db.session.commit()
    assert client.get(f"/replies/{reply.id}/file").status_code == 404
