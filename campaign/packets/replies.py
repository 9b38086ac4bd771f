"""Officials' replies: recorded by organisers against a delivered packet, shown publicly.

A reply has a date, a way it came (letter, e-mail, meeting, public statement), a summary
in the organiser's words, and optionally a file the organiser chooses to publish. The file
is served from our server only: a PDF, PNG or JPEG, recognised by its first bytes (never by
its name), and stripped of its metadata before it is stored (a phone's photo of a letter
carries where it was taken; a PDF carries its author), so what is published is the reply,
not the organisation's devices.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from campaign import audit, files
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.files import EXTENSIONS
from campaign.packets.models import REPLY_CHANNELS, REPLY_LOCALES, Packet, PacketBuild, PacketReply
from campaign.uploads import upload_limit
from campaign.visits.models import Visit

SUMMARY_MAX = 4000
ALLOWED = frozenset(EXTENSIONS)


class ReplyError(RefusedError):
    """A reply that cannot be recorded; ``code`` says why."""


def file_path(reply: PacketReply) -> Path:
    """Where a reply's published file is kept."""
    ext = EXTENSIONS[reply.file_type]
    return Path(current_app.config["UPLOAD_DIR"]) / "replies" / f"{reply.id}.{ext}"


def clean_file(data: bytes) -> tuple[str, bytes]:
    """The file's type and its bytes without metadata; ``ReplyError`` if it is refused."""
    if len(data) > upload_limit():
        raise ReplyError("file_size")
    try:
        mime = files.sniff(data, ALLOWED)
        return mime, files.strip(data, mime)
    except files.FileRefused as exc:
        raise ReplyError(exc.code) from exc


def record_reply(
    packet: Packet,
    received_on: date,
    how: str,
    summary: str,
    locale: str,
    upload: bytes | None,
    actor: object,
) -> PacketReply:
    """Record an official's reply to a delivered packet; the caller commits.

    The file is written once the row has its id, and removed again should the
    transaction roll back.
    """
    if packet.delivered_on is None:
        raise ReplyError("not_delivered")
    if how not in REPLY_CHANNELS or locale not in REPLY_LOCALES:
        raise ReplyError("bad_choice")
    summary = summary.strip()
    if not summary or len(summary) > SUMMARY_MAX:
        raise ReplyError("summary")
    cleaned = clean_file(upload) if upload else None
    reply = PacketReply(
        packet_id=packet.id,
        received_on=received_on,
        how=how,
        summary=summary,
        locale=locale,
        recorded_by=getattr(actor, "id", None),
    )
    if cleaned:
        reply.file_type = cleaned[0]
        reply.file_size = len(cleaned[1])
        reply.file_sha256 = hashlib.sha256(cleaned[1]).hexdigest()
    db.session.add(reply)
    db.session.flush()
    if cleaned:
        files.write_for_commit(file_path(reply), cleaned[1])
    audit.record(actor, "packet", packet.id, "reply_recorded", reply_id=reply.id,
                 received_on=received_on, how=how, file=bool(cleaned))  # fmt: skip
    return reply


def remove_reply(reply: PacketReply, actor: object, reason: str = "") -> None:
    """Delete a reply and its file (recorded wrongly, or not to be published); caller commits."""
    if reply.file_type:
        files.remove_after_commit(file_path(reply))
    audit.record(actor, "packet", reply.packet_id, "reply_removed", reason, reply_id=reply.id)
    db.session.delete(reply)


@dataclass
class PublicReply:
    """A reply as the public sees it."""

    id: int
    packet_id: str
    official: str  # name, title and office
    received_on: date
    how: str
    summary: str
    locale: str
    file_type: str
    file_size: int


def _public(reply: PacketReply) -> PublicReply:
    official = reply.packet.official
    return PublicReply(
        id=reply.id,
        packet_id=reply.packet_id,
        official=", ".join(
            part for part in (official.name, official.title, official.office) if part
        ),  # fmt: skip
        received_on=reply.received_on,
        how=reply.how,
        summary=reply.summary,
        locale=reply.locale,
        file_type=reply.file_type,
        file_size=reply.file_size,
    )


def campaign_replies(campaign_id: int) -> list[PublicReply]:
    """Every reply to the campaign's delivered packets, newest first."""
    rows = db.session.scalars(
        select(PacketReply)
        .join(Packet, Packet.id == PacketReply.packet_id)
        .join(PacketBuild, PacketBuild.id == Packet.build_id)
        .join(Visit, Visit.id == PacketBuild.visit_id)
        .where(Visit.campaign_id == campaign_id)
        .order_by(PacketReply.received_on.desc(), PacketReply.id.desc())
    ).all()
    return [_public(r) for r in rows]


def packet_replies(packet: Packet) -> list[PublicReply]:
    """The replies to one packet, oldest first."""
    return [_public(r) for r in packet.replies]


def public_reply(reply_id: int) -> PacketReply | None:
    """A reply whose campaign is public (not a draft), for its file; None otherwise."""
    reply = db.session.get(PacketReply, reply_id)
    if reply is None or reply.packet.build.visit.campaign.state == "draft":
        return None
    return reply
