"""Officials a campaign writes to, and the visits packets are prepared for."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.campaigns.models import Campaign, Demand
from campaign.extensions import db
from campaign.i18n import LOCALE_IDS
from campaign.timeutil import utcnow

LETTER_LOCALES = LOCALE_IDS
PAPER_SIZES = ("A4", "Letter")


class Official(db.Model):
    """A person in office a letter packet is addressed to."""

    __tablename__ = "officials"
    __table_args__ = (
        CheckConstraint("language IN ('en', 'zh_Hans', 'zh_Hant')", name="language_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))  # e.g. "Secretary of State"
    office: Mapped[str] = mapped_column(String(200))  # e.g. "U.S. Department of State"
    government: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)  # postal address, one line per line
    email: Mapped[str] = mapped_column(String(254), default="")
    # How the letter greets them, in their language ("Dear Madam Secretary,").
    salutation: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(10), default="en")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


visit_officials = Table(
    "visit_officials",
    db.metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("official_id", ForeignKey("officials.id", ondelete="CASCADE"), primary_key=True),
)

visit_demands = Table(
    "visit_demands",
    db.metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("demand_id", ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True),
)


class Visit(db.Model):
    """An occasion packets are delivered for, such as a state visit."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("paper IN ('A4', 'Letter')", name="paper_valid"),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)  # packets must be delivered by then
    paper: Mapped[str] = mapped_column(String(10), default="A4")
    # For campaigns whose signers are at risk: packets carry numbers, never names.
    counts_only: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    officials: Mapped[list[Official]] = relationship(
        secondary=visit_officials, order_by="Official.id"
    )
    demands: Mapped[list[Demand]] = relationship(
        secondary=visit_demands, order_by="Demand.position"
    )
    letters: Mapped[list[VisitLetter]] = relationship(
        cascade="all, delete-orphan", order_by="VisitLetter.locale"
    )

    def letter_for(self, locale: str) -> str:
        """The cover letter in ``locale``, else English, else the first one written."""
        texts = {letter.locale: letter.body for letter in self.letters if letter.body.strip()}
        return texts.get(locale) or texts.get("en") or next(iter(texts.values()), "")

    def subject_for(self, locale: str) -> str:
        """The letter's subject in ``locale``: its own if written, else the visit's title."""
        for letter in self.letters:
            if letter.locale == locale and letter.subject.strip():
                return letter.subject
        return self.title


class VisitLetter(db.Model):
    """A visit's cover letter in one language (Markdown, sanitised when rendered)."""

    __tablename__ = "visit_letters"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(10), primary_key=True)
    # The visit's title in this language, the letter's "Regarding:" line.
    subject: Mapped[str] = mapped_column(String(200), default="", server_default="")
    body: Mapped[str] = mapped_column(Text, default="")
