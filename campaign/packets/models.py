"""Builds of a visit's letter packets, and the packets they produced."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.timeutil import utcnow
from campaign.visits.models import Official, Visit

BUILD_STATES = ("queued", "running", "done", "failed")


class PacketBuild(db.Model):
    """One run of building every packet of a visit from one snapshot in time."""

    __tablename__ = "packet_builds"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    # Public, unguessable name of the build's folder and ZIP.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    snapshot_at: Mapped[datetime]
    # Progress: units of work (names and demands written) done out of total.
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # When the worker last reported; a build silent for long has lost its worker.
    progress_at: Mapped[datetime | None]
    zip_sha256: Mapped[str] = mapped_column(String(64), default="")
    # The site's public address, printed on the letters as the verification link.
    base_url: Mapped[str] = mapped_column(String(300), default="")
    # When the build's files were deleted (retention or a supporter's erasure); the record,
    # its counts and hashes stay.
    files_removed_at: Mapped[datetime | None]
    # JSON: the partner organisations its letters name, as they were when it was queued,
    # so that every letter of a build names the same ones.
    partners_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")

    @property
    def partner_names(self) -> list[str]:
        """The partners the build's letters name."""
        return json.loads(self.partners_json or "[]")

    visit: Mapped[Visit] = relationship()
    packets: Mapped[list[Packet]] = relationship(
        back_populates="build", order_by="Packet.official_id"
    )

    def stalled(self, minutes: int, now: datetime) -> bool:
        """Whether a queued or running build has not reported for ``minutes``."""
        if self.state not in ("queued", "running"):
            return False
        return (self.progress_at or self.created_at) < now - timedelta(minutes=minutes)

    @property
    def percent(self) -> int:
        """How far the build is, 0 to 100."""
        if self.state == "done":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


class Packet(db.Model):
    """The letter, annex and manifest for one official, from one build."""

    __tablename__ = "packets"

    # The public identifier printed in the footer and used by /verify/<id>.
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    build_id: Mapped[int] = mapped_column(
        ForeignKey("packet_builds.id", ondelete="CASCADE"), index=True
    )
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    locale: Mapped[str] = mapped_column(String(10))
    counts_only: Mapped[bool] = mapped_column(default=False)
    supporters: Mapped[int] = mapped_column(Integer, default=0)  # distinct, all demands
    named: Mapped[int] = mapped_column(Integer, default=0)
    # JSON: [{"demand_id", "position", "supporters", "named"}, ...] in letter order.
    counts_json: Mapped[str] = mapped_column(Text, default="[]")
    # JSON: {file name: SHA-256}, the manifest included.
    files_json: Mapped[str] = mapped_column(Text, default="{}")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    delivered_how: Mapped[str] = mapped_column(String(20), default="")
    delivered_note: Mapped[str] = mapped_column(Text, default="")
    delivered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    build: Mapped[PacketBuild] = relationship(back_populates="packets")
    official: Mapped[Official] = relationship()
    replies: Mapped[list[PacketReply]] = relationship(
        back_populates="packet", order_by="PacketReply.received_on"
    )

    @property
    def counts(self) -> list[dict]:
        """Counts per demand, as recorded at build time."""
        return json.loads(self.counts_json)

    @property
    def files(self) -> dict[str, str]:
        """File names and their SHA-256."""
        return json.loads(self.files_json)


REPLY_CHANNELS = ("letter", "email", "meeting", "statement", "other")
REPLY_LOCALES = ("en", "zh_Hans", "zh_Hant")


class PacketReply(db.Model):
    """What an official answered to a delivered packet, as an organiser recorded it.

    Public: the campaign page shows it under the outcome, the packet's verification page
    links to it. The file, if any, is one the organiser chose to publish, stored on our
    server stripped of its metadata.
    """

    __tablename__ = "packet_replies"
    __table_args__ = (
        CheckConstraint(
            "how IN ('letter', 'email', 'meeting', 'statement', 'other')", name="how_valid"
        ),
        CheckConstraint("locale IN ('en', 'zh_Hans', 'zh_Hant')", name="locale_valid"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    packet_id: Mapped[str] = mapped_column(ForeignKey("packets.id", ondelete="CASCADE"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    how: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    # The language the summary is written in, for its lang attribute.
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # The published file: its type ("" when there is none), size and SHA-256.
    file_type: Mapped[str] = mapped_column(String(40), default="")
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    recorded_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    packet: Mapped[Packet] = relationship(back_populates="replies")
