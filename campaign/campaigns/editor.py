"""Organisers' changes to campaigns and demands. Each writes an audit event; the caller
commits. Used by the staff pages and by tests alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update

from campaign import audit
from campaign.campaigns.models import (
    Campaign,
    Demand,
)
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.i18n import LOCALE_IDS
from campaign.signatures import counts
from campaign.signatures.counts import clear_cache
from campaign.signatures.models import SignatureDemand
from campaign.timeutil import utcnow

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,78}[a-z0-9])$")
# state -> states it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("open",),
    "open": ("closed",),
    "closed": ("open", "archived"),
    "archived": ("closed",),
}
TRANSLATABLE_LOCALES = LOCALE_IDS


class EditorError(RefusedError):
    """A refused change to a campaign or its demands."""


@dataclass
class CampaignFields:
    """The editable fields of a campaign, in its original language."""

    slug: str
    title: str
    organisation: str
    published_on: date | None
    body: str
    footnotes: str
    media_contacts: str
    outcome: str
    goal: int
    source_locale: str = "en"
    packet_small_countries: bool = True


def slug_taken(slug: str, except_id: int | None = None) -> bool:
    """Whether another campaign uses ``slug``."""
    query = select(func.count()).where(Campaign.slug == slug)
    if except_id:
        query = query.where(Campaign.id != except_id)
    return bool(db.session.scalar(query))


def _apply(campaign: Campaign, fields: CampaignFields) -> None:
    if not SLUG_PATTERN.match(fields.slug):
        raise EditorError("bad_slug")
    if slug_taken(fields.slug, campaign.id):
        raise EditorError("slug_taken")
    for name, value in vars(fields).items():
        setattr(campaign, name, value)


def create_campaign(fields: CampaignFields, actor: object) -> Campaign:
    """A new draft campaign."""
    campaign = Campaign(state="draft", featured=False)
    _apply(campaign, fields)
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor, "campaign", campaign.id, "create", slug=campaign.slug)
    return campaign


def edit_campaign(campaign: Campaign, fields: CampaignFields, actor: object) -> None:
    """Change the original-language fields."""
    _apply(campaign, fields)
    audit.record(actor, "campaign", campaign.id, "edit")


def set_state(campaign: Campaign, new_state: str, actor: object, reason: str = "") -> None:
    """Move along draft → open → closed ⇄ archived (closed may reopen)."""
    if new_state not in TRANSITIONS.get(campaign.state, ()):
        raise EditorError("bad_transition")
    if new_state == "open" and not any(not d.retired for d in campaign.demands):
        raise EditorError("no_demands")
    before = campaign.state
    campaign.state = new_state
    if new_state == "closed" and before == "open":
        campaign.closed_at = utcnow()
    elif new_state == "open":
        campaign.closed_at = None
    if new_state != "open" and campaign.featured:
        campaign.featured = False
    if new_state == "open" and before != "draft":
        # Confirmations that came while it was closed were left out; now they count.
        counts.recount(campaign)
    audit.record(actor, "campaign", campaign.id, "state", reason, before=before, after=new_state)
    clear_cache()


def feature(campaign: Campaign, actor: object) -> None:
    """Make ``campaign`` the one on the home page (it must be open)."""
    if campaign.state != "open":
        raise EditorError("feature_not_open")
    db.session.execute(update(Campaign).where(Campaign.id != campaign.id).values(featured=False))
    campaign.featured = True
    audit.record(actor, "campaign", campaign.id, "feature")


def add_demand(campaign: Campaign, title: str, text: str, actor: object) -> Demand:
    """Append a demand."""
    position = max((d.position for d in campaign.demands), default=0) + 1
    demand = Demand(position=position, title=title.strip(), text=text.strip())
    campaign.demands.append(demand)
    db.session.flush()
    audit.record(actor, "demand", demand.id, "create", campaign=campaign.slug)
    return demand


def edit_demand(demand: Demand, title: str, text: str, actor: object) -> None:
    """Change a demand's original text."""
    demand.title, demand.text = title.strip(), text.strip()
    audit.record(actor, "demand", demand.id, "edit")


def move_demand(demand: Demand, direction: int, actor: object) -> None:
    """Swap a demand with its neighbour (direction -1 up, +1 down)."""
    ordered = sorted(demand.campaign.demands, key=lambda d: d.position)
    index = ordered.index(demand)
    other_index = index + (1 if direction > 0 else -1)
    if not 0 <= other_index < len(ordered):
        return
    other = ordered[other_index]
    demand.position, other.position = other.position, demand.position
    audit.record(actor, "demand", demand.id, "move", position=demand.position)


def signature_count(demand: Demand) -> int:
    """How many signatures (any state) cover ``demand``."""
    return (
        db.session.scalar(select(func.count()).where(SignatureDemand.demand_id == demand.id)) or 0
    )


def retire_demand(demand: Demand, retired: bool, actor: object) -> None:
    """Stop (or resume) taking signatures for a demand; its signatures still count."""
    demand.retired = retired
    audit.record(actor, "demand", demand.id, "retire" if retired else "unretire")


def delete_demand(demand: Demand, actor: object) -> None:
    """Delete a demand nobody signed; a signed demand can only be retired."""
    if signature_count(demand):
        raise EditorError("demand_signed")
    campaign = demand.campaign
    audit.record(actor, "demand", demand.id, "delete", title=demand.title)
    campaign.demands.remove(demand)
    for position, d in enumerate(sorted(campaign.demands, key=lambda d: d.position), 1):
        d.position = position


def _set_translated(translation, name: str, value: str) -> None:  # noqa: ANN001
    """Store an organiser's field; a changed one is no longer the platform's translation."""
    if (getattr(translation, name) or "") != value:
        setattr(translation, name, value)
        translation.mark(name, False)


def save_translation(
    campaign: Campaign,
    locale: str,
    fields: dict[str, str],
    demand_fields: dict[int, dict[str, str]],
    actor: object,
) -> None:
    """Store ``locale``'s versions; an empty field falls back to the original."""
    if locale not in TRANSLATABLE_LOCALES or locale == campaign.source_locale:
        raise EditorError("bad_locale")
    tr = campaign.translation_for(locale)
    for name in ("title", "body", "footnotes", "media_contacts", "outcome"):
        _set_translated(tr, name, (fields.get(name) or "").strip())
    for demand in campaign.demands:
        values = demand_fields.get(demand.id, {})
        dtr = demand.translation_for(locale)
        _set_translated(dtr, "title", (values.get("title") or "").strip())
        _set_translated(dtr, "text", (values.get("text") or "").strip())
    audit.record(actor, "campaign", campaign.id, "translate", locale=locale)
