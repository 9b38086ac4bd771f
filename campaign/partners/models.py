"""Partner organisations of a campaign, and supporters' consent to hear from each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.timeutil import utcnow


class Partner(db.Model):
    """An organisation that supports a campaign beside the one that publishes it.

    Its logo is a file on our server (``UPLOAD_DIR``), never a link to the partner's: a
    page that fetched it from elsewhere would tell that server who reads the campaign.
    """

    __tablename__ = "partners"
    # Never give a removed partner's id to a new one: a stale logo file would be its.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # The partner's web site (http or https), or "".
    url: Mapped[str] = mapped_column(String(500), default="")
    # "image/png" or "image/jpeg" when a logo was uploaded, else "".
    logo_type: Mapped[str] = mapped_column(String(20), default="")
    # Changes with each new logo, so a browser's cached copy is never the old one.
    logo_sha256: Mapped[str] = mapped_column(String(64), default="")
    # Whether letter packets to officials name the partner (some must not be named there).
    named_in_letters: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartnerConsent(db.Model):
    """A supporter's consent to be written to by one partner, given on the form (never
    pre-ticked) or on their own page; withdrawn by deleting the row."""

    __tablename__ = "partner_consents"
    __table_args__ = (Index("ix_partner_consents_partner", "partner_id", "signature_id"),)

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
