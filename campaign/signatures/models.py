"""Signature models: one row per person and campaign, one link row per demand signed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.partners.models import PartnerConsent
from campaign.timeutil import utcnow

SIGNATURE_STATES = ("unconfirmed", "confirmed", "held", "invalidated")
# online: signed on the form, confirmed by mail; paper: typed in from a paper sheet, by batch.
SOURCES = ("online", "paper")
DISPLAY_CHOICES = ("full", "initials", "anonymous")
COMMENT_STATES = ("none", "pending", "approved", "rejected")


class Signature(db.Model):
    """One person's act of signing one campaign, covering one or more demands."""

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("campaign_id", "email"),
        CheckConstraint(
            "state IN ('unconfirmed', 'confirmed', 'held', 'invalidated')", name="state_valid"
        ),
        CheckConstraint("display IN ('full', 'initials', 'anonymous')", name="display_valid"),
        CheckConstraint(
            "comment_state IN ('none', 'pending', 'approved', 'rejected')",
            name="comment_state_valid",
        ),
        CheckConstraint("source IN ('online', 'paper')", name="source_valid"),
        Index("ix_signatures_campaign_state", "campaign_id", "state", "confirmed_at"),
        # Letter packets read named supporters country by country, in name order.
        Index("ix_signatures_letters", "campaign_id", "country", "sort_name"),
        # Never give an erased row's id to a new one (SQLite reuses the highest rowid).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))  # normalised; never shown publicly
    # The part after "@", for moderators' per-domain views and heuristics.
    email_domain: Mapped[str] = mapped_column(String(254), default="", index=True)
    # The address with +tags (and, where the provider ignores them, dots) removed.
    mailbox_key: Mapped[str] = mapped_column(String(254), default="", index=True)
    name: Mapped[str] = mapped_column(String(200))
    # campaign.names.sort_key(name): Latin and Chinese names in one reading order.
    sort_name: Mapped[str] = mapped_column(String(400), default="")
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    region: Mapped[str] = mapped_column(String(200), default="")
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    comment_state: Mapped[str] = mapped_column(String(10), default="none")
    display: Mapped[str] = mapped_column(String(10), default="full")
    name_in_letters: Mapped[bool] = mapped_column(default=False)
    updates: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    state: Mapped[str] = mapped_column(String(12), default="unconfirmed")
    # Comma-separated heuristics that held this signature for review.
    hold_reasons: Mapped[str] = mapped_column(String(200), default="")
    # HMAC of the network address; cleared after IP_HASH_RETENTION_DAYS.
    ip_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    # When the latest confirmation mail goes (or went) out; limits mail to one address.
    mailed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When mail to the address was last refused for good (or reported as spam); cleared
    # when its owner signs again from the form. Staff count these per campaign.
    bounced_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    # The paper batch a paper signature was typed in from; confirmed by the batch, not mail.
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_batches.id", ondelete="CASCADE"), index=True
    )

    demands: Mapped[list[SignatureDemand]] = relationship(
        back_populates="signature", cascade="all, delete-orphan"
    )
    partner_consents: Mapped[list[PartnerConsent]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by=PartnerConsent.partner_id
    )

    @property
    def partner_ids(self) -> str:
        """The partners the supporter agreed to hear from: ids, ascending, comma-separated
        (as a submission holds them, so the two compare and copy like the other details)."""
        return join_ids(c.partner_id for c in self.partner_consents)

    @partner_ids.setter
    def partner_ids(self, value: str) -> None:
        wanted = set(split_ids(value))
        kept = [c for c in self.partner_consents if c.partner_id in wanted]
        have = {c.partner_id for c in kept}
        self.partner_consents = kept + [PartnerConsent(partner_id=p) for p in sorted(wanted - have)]


def join_ids(ids) -> str:  # noqa: ANN001 - any iterable of ints
    """Ids as a submission stores them: distinct, ascending, comma-separated."""
    return ",".join(str(i) for i in sorted(set(ids)))


def split_ids(value: str) -> list[int]:
    """The ids in a string made by ``join_ids``."""
    return [int(v) for v in value.split(",") if v]


class SignatureDemand(db.Model):
    """A demand covered by a signature; counted once ``confirmed_at`` is set."""

    __tablename__ = "signature_demands"
    __table_args__ = (Index("ix_signature_demands_demand", "demand_id", "confirmed_at"),)

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True
    )
    demand_id: Mapped[int] = mapped_column(
        ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Null until the owner of the address confirms this demand by the mailed link.
    confirmed_at: Mapped[datetime | None]

    signature: Mapped[Signature] = relationship(back_populates="demands")


SUBMISSION_STATES = ("received", "pending", "pressed", "applied", "merged")


class Submission(db.Model):
    """One submission of the signing form, kept apart until its own link is opened.

    The signing request only stores it (``received``, with the address) and answers; the
    worker then finds or creates the signature for the address, queues the mail and
    forgets the address here (``pending``). The confirmation link names one submission:
    opening it applies exactly these details and demands to the signature, whatever was
    submitted for the same address since.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint(
            "state IN ('received', 'pending', 'pressed', 'applied', 'merged')",
            name="state_valid",
        ),
        CheckConstraint("display IN ('full', 'initials', 'anonymous')", name="display_valid"),
        Index("ix_submissions_state", "state", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Set by the worker; None while received.
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    # The normalised address while received; "" once the signature holds it.
    email: Mapped[str] = mapped_column(String(254), default="")
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(200), default="")
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    display: Mapped[str] = mapped_column(String(10), default="full")
    name_in_letters: Mapped[bool] = mapped_column(default=False)
    updates: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # Demand ids, comma-separated, in ascending order.
    demand_ids: Mapped[str] = mapped_column(String(2000), default="")
    # The partners ticked on the form: ids as ``join_ids`` makes them.
    partner_ids: Mapped[str] = mapped_column(String(500), default="", server_default="")
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    # received: stored by the request, not yet seen by the worker; pending: its link is out
    # (or about to be); pressed: its link's button was pressed (at applied_at), the worker
    # applies it next; applied: done; merged: folded into a later submission before its
    # mail went out.
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]

    @property
    def demand_list(self) -> list[int]:
        """The demand ids as integers."""
        return split_ids(self.demand_ids)


class CountTally(db.Model):
    """Confirmed supporters of a campaign as last folded: one row per total, demand, country.

    Written only by ``counts.fold`` and ``counts.recount`` (under one lock), a few rows per
    campaign: reading counts never scans signatures, and signing never updates a hot row.
    """

    __tablename__ = "count_tallies"
    __table_args__ = (
        CheckConstraint(
            "dimension IN ('total', 'demand', 'country', 'paper', 'paper_demand')",
            name="dimension_valid",
        ),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    # "" for the total (and the paper total), the demand's id, or the ISO country code.
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class CountDelta(db.Model):
    """A change to counts not yet folded into ``CountTally``: appended, never updated.

    Written in the same transaction as the change (a confirmation, a moderation action, an
    erasure), so counts are exact the moment it commits: readers add the pending deltas to
    the tallies. Holds no signature id, only what moved.
    """

    __tablename__ = "count_deltas"
    __table_args__ = (
        Index("ix_count_deltas_campaign", "campaign_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int]


BATCH_KINDS = ("named", "counts")
BATCH_STATES = ("active", "invalidated")


class PaperBatch(db.Model):
    """Sheets signed on paper, entered together: where, when and by whom they were collected.

    A named batch holds one paper signature per person (``Signature`` rows, source
    ``paper``); a counts batch holds numbers only (``PaperCount``), for people who must not
    be named anywhere. Either is confirmed by being entered, counts at once, and can be
    corrected or invalidated as a whole, each change audited.
    """

    __tablename__ = "paper_batches"
    __table_args__ = (
        CheckConstraint("kind IN ('named', 'counts')", name="kind_valid"),
        CheckConstraint("state IN ('active', 'invalidated')", name="state_valid"),
        CheckConstraint("sheets >= 0", name="sheets_nonnegative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    collected_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    collected_by: Mapped[str] = mapped_column(String(200))
    sheets: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(12), default="active")
    invalid_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    counts: Mapped[list[PaperCount]] = relationship(
        cascade="all, delete-orphan", order_by="PaperCount.id"
    )


class PaperCount(db.Model):
    """Of a counts batch: how many people from one country signed, or signed one demand."""

    __tablename__ = "paper_counts"
    __table_args__ = (CheckConstraint("n >= 0", name="n_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("paper_batches.id", ondelete="CASCADE"), index=True
    )
    # ISO code, or "" when the sheets did not say.
    country: Mapped[str] = mapped_column(String(2), default="")
    # Null: the people from that country; a demand: how many of them signed it.
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(default=0)
