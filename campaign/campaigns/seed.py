"""Load a campaign from a TOML data file, once: an existing slug keeps its texts, and
gains only the file's translations of fields nobody has translated yet."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from campaign.campaigns.models import Campaign, Demand
from campaign.extensions import db
from campaign.i18n import LOCALE_IDS

SEED_FILE = Path(__file__).parent / "data" / "chrd-2011.toml"
TRANSLATED_LOCALES = LOCALE_IDS
CAMPAIGN_FIELDS = ("title", "body", "footnotes", "media_contacts", "outcome")
DEMAND_FIELDS = ("title", "text")
# The data file's mark of a translation made by the platform rather than the organisation.
PLATFORM = "platform"


@dataclass
class SeedResult:
    """What a load did: the campaign, whether it was created, translated fields added."""

    campaign: Campaign
    created: bool
    translated: int = 0


def load_campaign_file(path: Path = SEED_FILE) -> tuple[Campaign, bool]:
    """Create the campaign described by ``path`` unless its slug exists.

    Returns the campaign and whether it was created. See :func:`load_seed` for what an
    existing campaign gains.
    """
    result = load_seed(path)
    return result.campaign, result.created


def load_seed(path: Path = SEED_FILE) -> SeedResult:
    """Create the campaign of ``path`` if absent; fill in its translations where empty.

    An organiser's text is never overwritten: an existing campaign only gains the file's
    translation of a field that is empty in that language, and a demand only when its
    original title is still the file's (so a rewritten demand is not given a translation
    of another text).
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == data["slug"]))
    created = campaign is None
    if created:
        campaign = _create(data)
    translated = _add_translations(campaign, data)
    db.session.flush()
    return SeedResult(campaign, created, translated)


def _create(data: dict) -> Campaign:
    campaign = Campaign(
        slug=data["slug"],
        source_locale=data.get("source_locale", "en"),
        title=data["title"],
        organisation=data["organisation"],
        published_on=data.get("published_on"),
        body=data["body"].strip(),
        footnotes=data.get("footnotes", "").strip(),
        media_contacts=data.get("media_contacts", "").strip(),
        state=data.get("state", "draft"),
        goal=data.get("goal", 0),
        featured=data.get("featured", False),
    )
    for position, item in enumerate(data["demands"], start=1):
        campaign.demands.append(
            Demand(position=position, title=item["title"], text=item["text"].strip())
        )
    db.session.add(campaign)
    return campaign


def _fill(translation, fields: dict, names: tuple[str, ...]) -> int:  # noqa: ANN001
    """Copy ``fields`` into ``translation``'s empty fields; how many were copied."""
    by_platform = fields.get("by") == PLATFORM
    copied = 0
    for name in names:
        value = (fields.get(name) or "").strip()
        if value and not getattr(translation, name):
            setattr(translation, name, value)
            translation.mark(name, by_platform)
            copied += 1
    return copied


def _add_translations(campaign: Campaign, data: dict) -> int:
    copied = 0
    for locale, fields in data.get("translations", {}).items():
        if locale not in TRANSLATED_LOCALES or locale == campaign.source_locale:
            continue
        copied += _fill(campaign.translation_for(locale), fields, CAMPAIGN_FIELDS)
    by_title = {d.title: d for d in campaign.demands}
    for item in data["demands"]:
        demand = by_title.get(item["title"])
        if demand is None:
            continue
        for locale in TRANSLATED_LOCALES:
            if locale not in item or locale == campaign.source_locale:
                continue
            copied += _fill(demand.translation_for(locale), item[locale], DEMAND_FIELDS)
    return copied
