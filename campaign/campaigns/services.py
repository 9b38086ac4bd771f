"""Reading campaigns for the public: the featured one, translations and their fallback."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaign.campaigns.models import PUBLIC_STATES, Campaign, Demand
from campaign.extensions import db
from campaign.markup import render_markdown
from campaign.partners.services import partners_of


@dataclass
class DemandView:
    """A demand as shown in one locale."""

    id: int
    position: int
    title: str
    text: Markup
    retired: bool
    translated: bool


@dataclass
class CampaignView:
    """A campaign as shown in one locale, with what fell back to the original."""

    campaign: Campaign
    title: str
    body: Markup
    media_contacts: Markup
    outcome: Markup
    demands: list[DemandView] = field(default_factory=list)
    # Parts shown in the original language because no translation exists yet.
    untranslated: bool = False
    # Parts shown in the platform's translation, not the organisation's own.
    by_platform: bool = False

    @property
    def slug(self) -> str:
        """The campaign's slug."""
        return self.campaign.slug


# Load a campaign with its demands and every translation in three queries, not 2n+1.
WITH_TEXTS = (
    selectinload(Campaign.translations),
    selectinload(Campaign.demands).selectinload(Demand.translations),
)


def public_campaign(slug: str) -> Campaign | None:
    """The campaign with ``slug`` if the public may see it."""
    return db.session.scalar(
        select(Campaign)
        .where(Campaign.slug == slug, Campaign.state.in_(PUBLIC_STATES))
        .options(*WITH_TEXTS)
    )


def public_campaigns() -> list[Campaign]:
    """Every campaign the public may see, newest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.state.in_(PUBLIC_STATES))
            .order_by(Campaign.published_on.desc(), Campaign.id)
        )
    )


def featured_campaign() -> Campaign | None:
    """The campaign shown on the home page: the featured open one, else the newest open."""
    return db.session.scalar(
        select(Campaign)
        .where(Campaign.state == "open")
        .order_by(Campaign.featured.desc(), Campaign.published_on.desc(), Campaign.id)
        .options(*WITH_TEXTS)
        .limit(1)
    )


def archived_campaigns() -> list[Campaign]:
    """Closed and archived campaigns, newest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.state.in_(("closed", "archived")))
            .order_by(Campaign.published_on.desc(), Campaign.id)
        )
    )


def open_campaigns() -> list[Campaign]:
    """Every open campaign, newest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.state == "open")
            .order_by(Campaign.published_on.desc(), Campaign.id)
        )
    )


def _pick(original: str, translations: list, locale: str, attr: str) -> tuple[str, bool, bool]:
    """The translated ``attr`` for ``locale``, whether it was translated, and whether the
    translation is the platform's rather than the organiser's."""
    for tr in translations:
        if tr.locale == locale and getattr(tr, attr):
            return getattr(tr, attr), True, tr.by_platform(attr)
    return original, False, False


def localise(campaign: Campaign, locale: str) -> CampaignView:
    """Build the view of ``campaign`` in ``locale``, falling back to the original text."""
    same = locale == campaign.source_locale
    untranslated = False
    by_platform = False

    def pick(original: str, translations: list, attr: str) -> str:
        nonlocal untranslated, by_platform
        if same or not original:
            return original
        value, ok, platform = _pick(original, translations, locale, attr)
        untranslated = untranslated or not ok
        by_platform = by_platform or platform
        return value

    title = pick(campaign.title, campaign.translations, "title")
    body = pick(campaign.body, campaign.translations, "body")
    footnotes = pick(campaign.footnotes, campaign.translations, "footnotes")
    contacts = pick(campaign.media_contacts, campaign.translations, "media_contacts")
    outcome = pick(campaign.outcome, campaign.translations, "outcome")
    demands = []
    for demand in campaign.demands:
        d_title = pick(demand.title, demand.translations, "title")
        d_text = pick(demand.text, demand.translations, "text")
        demands.append(
            DemandView(
                id=demand.id,
                position=demand.position,
                title=d_title,
                text=render_markdown(d_text),
                retired=demand.retired,
                translated=same or _pick(demand.text, demand.translations, locale, "text")[1],
            )
        )
    return CampaignView(
        campaign=campaign,
        title=title,
        body=render_markdown(body + "\n\n" + footnotes),
        media_contacts=render_markdown(contacts),
        outcome=render_markdown(outcome),
        demands=demands,
        untranslated=untranslated,
        by_platform=by_platform,
    )


def signable_demands(campaign: Campaign) -> list[Demand]:
    """Demands a supporter can sign now (not retired)."""
    return [d for d in campaign.demands if not d.retired]


@dataclass(frozen=True)
class SigningTarget:
    """What the signing request needs to know of a campaign: no ORM object, cacheable."""

    id: int
    is_open: bool
    demand_ids: tuple[int, ...]
    partner_ids: tuple[int, ...] = ()

    @classmethod
    def load(cls, fields: dict) -> SigningTarget:
        """Rebuilt from its fields as the page cache keeps them (JSON)."""
        return cls(
            fields["id"],
            fields["is_open"],
            tuple(fields["demand_ids"]),
            tuple(fields.get("partner_ids", ())),
        )


def signing_target(slug: str) -> SigningTarget | None:
    """The public campaign ``slug`` as the signing form sees it, or None."""
    campaign = public_campaign(slug)
    if campaign is None:
        return None
    return SigningTarget(
        id=campaign.id,
        is_open=campaign.is_open,
        demand_ids=tuple(d.id for d in signable_demands(campaign)),
        partner_ids=tuple(p.id for p in partners_of(campaign.id)),
    )
