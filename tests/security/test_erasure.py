"""Erasure leaves nothing (finding 9): every file under the instance folder is searched for
the supporter after they erase their data; retention removes failed mail and old packets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.packets import builder
from campaign.packets.models import Packet, PacketBuild
from campaign.timeutil import utcnow
from tests.conftest import confirm, confirm_link, deliver, erase_by_link, mails, sign

NAME = "Lin Qiaoyu"
ADDRESS = "qiaoyu.lin@example.org"


def _files_mentioning(folder: Path, *needles: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n.encode() in data or n.encode("utf-16-le") in data for n in needles):
                found.append(str(path.relative_to(folder)))
    return found


def _build_packets(app) -> int:
    from campaign.campaigns.models import Campaign
    from tests.packets.helpers import add_visit

    with app.app_context():
        visit = add_visit(db.session.scalar(select(Campaign)), languages=("en",))
        build = builder.create_build(visit, None)
        build.snapshot_at = utcnow() + timedelta(seconds=1)  # after the confirmation
        db.session.commit()
        build_id = build.id
        builder.run_build(build_id)
        db.session.remove()
    return build_id


def _erase(client, app) -> None:
    erase_by_link(client, app, ADDRESS)


def test_erasing_a_supporter_leaves_nothing_under_the_instance_folder(instance_app):
    app, instance, seeded = instance_app
    client = app.test_client()
    sign(client, seeded, name=NAME, email=ADDRESS, region="Kunming", name_in_letters="y")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    build_id = _build_packets(app)
    # The search finds them before: in the database, the mail folder and the packets.
    before = _files_mentioning(instance, ADDRESS, NAME)
    assert any(p.startswith("campaign.db") for p in before), before
    assert any(p.startswith("mail/") for p in before), before
    assert any(p.startswith("packets/") for p in before), before

    _erase(client, app)

    assert _files_mentioning(instance, ADDRESS, NAME, "Kunming") == []
    with app.app_context():
        build = db.session.get(PacketBuild, build_id)
        assert build.files_removed_at is not None  # the record stays, its files do not
        assert build.packets


def test_delivered_packets_are_kept_as_the_record_of_what_was_handed_over(instance_app):
    app, instance, seeded = instance_app
    client = app.test_client()
    sign(client, seeded, name=NAME, email=ADDRESS, name_in_letters="y")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    build_id = _build_packets(app)
    with app.app_context():
        db.session.execute(
            update(Packet).where(Packet.build_id == build_id).values(delivered_on=utcnow().date())
        )
        db.session.commit()
    _erase(client, app)
    remaining = _files_mentioning(instance, NAME)
    assert remaining
    assert all(p.startswith("packets/") for p in remaining), remaining
    with app.app_context():
        assert db.session.get(PacketBuild, build_id).files_removed_at is None


def test_retention_purges_failed_mail_and_old_undelivered_packets(instance_app):
    app, instance, seeded = instance_app
    client = app.test_client()
    sign(client, seeded, name=NAME, email=ADDRESS, name_in_letters="y")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    build_id = _build_packets(app)
    with app.app_context():
        old = utcnow() - timedelta(days=app.config["PACKET_RETENTION_DAYS"] + 1)
        db.session.execute(update(PacketBuild).values(created_at=old))
        db.session.execute(
            update(OutboxMessage).values(state="failed", created_at=old, sent_at=None)
        )
        db.session.commit()
        from campaign.privacy import purge

        report = purge()
        assert report.packet_builds_removed == 1
        assert report.mail_deleted == 1
        assert db.session.scalar(select(OutboxMessage.id)) is None
        assert db.session.get(PacketBuild, build_id).files_removed_at is not None
    assert [p for p in Path(app.config["PACKET_DIR"]).rglob("*") if p.is_file()] == []
