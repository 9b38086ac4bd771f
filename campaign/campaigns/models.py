"""Campaign and demand models, with per-locale translations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import true

from campaign.extensions import db
from campaign.timeutil import utcnow

CAMPAIGN_STATES = ("draft", "open", "closed", "archived")
# States the public may see; drafts are staff-only.
PUBLIC_STATES = ("open", "closed", "archived")


class PlatformFields:
    """Which of a translation's fields the platform wrote (its seed translations), so the
    page can say so; an organiser's edit of a field takes it off the list."""

    # Field names separated by spaces.
    platform_fields: Mapped[str] = mapped_column(String(200), default="", server_default="")

    def by_platform(self, name: str) -> bool:
        """Whether field ``name`` holds the platform's translation."""
        return name in (self.platform_fields or "").split()

    def mark(self, name: str, by_platform: bool) -> None:
        """Record who wrote field ``name``: the platform, or (``False``) the organiser."""
        names = [n for n in (self.platform_fields or "").split() if n != name]
        if by_platform:
            names.append(name)
        self.platform_fields = " ".join(sorted(names))


class Translated:
    """A model whose ``translations`` hold one row per locale."""

    def translation_for(self, locale: str):  # noqa: ANN201 - the model's translation class
        """The row for ``locale``, added (empty) if there is none yet."""
        for translation in self.translations:
            if translation.locale == locale:
                return translation
        kind = self.__mapper__.relationships["translations"].mapper.class_
        translation = kind(locale=locale, platform_fields="")
        self.translations.append(translation)
        return translation


class Campaign(Translated, db.Model):
    """A published statement that supporters sign, demand by demand."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'open', 'closed', 'archived')", name="state_valid"),
        CheckConstraint("goal >= 0", name="goal_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # The language the original text is written in (a Babel locale identifier).
    source_locale: Mapped[str] = mapped_column(String(10), default="en")
    title: Mapped[str] = mapped_column(String(300))
    organisation: Mapped[str] = mapped_column(String(200))
    published_on: Mapped[date | None] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)  # Markdown, sanitised on render
    footnotes: Mapped[str] = mapped_column(Text, default="")  # Markdown
    media_contacts: Mapped[str] = mapped_column(Text, default="")  # Markdown
    # What came of it (Markdown), shown on the page once signing has closed.
    outcome: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="draft")
    goal: Mapped[int] = mapped_column(Integer, default=0)
    # Set when signing closes; counts of a closed campaign stop there.
    closed_at: Mapped[datetime | None]
    featured: Mapped[bool] = mapped_column(default=False)
    # Whether packets name a country with fewer than PUBLIC_COUNTRY_MIN supporters of a
    # demand; off, its named supporters are listed under "Other countries".
    packet_small_countries: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    demands: Mapped[list[Demand]] = relationship(
        back_populates="campaign", order_by="Demand.position", cascade="all, delete-orphan"
    )
    translations: Mapped[list[CampaignTranslation]] = relationship(cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        """Whether the campaign accepts signatures."""
        return self.state == "open"


class CampaignTranslation(PlatformFields, db.Model):
    """A campaign's title and texts in one other locale; empty fields fall back."""

    __tablename__ = "campaign_translations"
    __table_args__ = (UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    footnotes: Mapped[str] = mapped_column(Text, default="")
    media_contacts: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")


class Demand(Translated, db.Model):
    """One numbered recommendation of a campaign, signed separately."""

    __tablename__ = "demands"
    __table_args__ = (CheckConstraint("position > 0", name="position_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)  # Markdown
    # A retired demand is no longer signable but its signatures still count in history.
    retired: Mapped[bool] = mapped_column(default=False)

    campaign: Mapped[Campaign] = relationship(back_populates="demands")
    translations: Mapped[list[DemandTranslation]] = relationship(cascade="all, delete-orphan")


class DemandTranslation(PlatformFields, db.Model):
    """A demand's title and text in one other locale; empty fields fall back."""

    __tablename__ = "demand_translations"
    __table_args__ = (UniqueConstraint("demand_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")


class CampaignUpdate(db.Model):
    """News sent to supporters who opted in, and shown on the campaign page."""

    __tablename__ = "campaign_updates"
    __table_args__ = (CheckConstraint("state IN ('draft', 'sending', 'sent')", name="state_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # The worker queues the messages in batches, in signature order: the last signature
    # id queued, from which a fan-out cut short by a dead worker goes on.
    fanned_out_to: Mapped[int] = mapped_column(Integer, default=0)
    # Comma-separated locales the update was written in.
    locales: Mapped[str] = mapped_column(String(40), default="")

    texts: Mapped[list[UpdateText]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    def text_for(self, locale: str) -> UpdateText | None:
        """The version in ``locale``, else the first one written."""
        by_locale = {t.locale: t for t in self.texts if t.subject}
        return by_locale.get(locale) or next(iter(by_locale.values()), None)


class UpdateText(db.Model):
    """One language version of an update."""

    __tablename__ = "update_texts"
    __table_args__ = (UniqueConstraint("update_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("campaign_updates.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
