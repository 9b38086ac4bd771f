"""Load a campaign from a TOML data file, once: an existing slug is never overwritten."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import select

from campaign.campaigns.models import Campaign, CampaignTranslation, Demand, DemandTranslation
from campaign.extensions import db
from campaign.i18n import LOCALE_IDS

SEED_FILE = Path(__file__).parent / "data" / "chrd-2011.toml"
TRANSLATED_LOCALES = LOCALE_IDS


def load_campaign_file(path: Path = SEED_FILE) -> tuple[Campaign, bool]:
    """Create the campaign described by ``path`` unless its slug exists.

    Returns the campaign and whether it was created. Never changes an existing campaign,
    so organisers' edits survive a second ``flask campaign seed``.
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    existing = db.session.scalar(select(Campaign).where(Campaign.slug == data["slug"]))
    if existing is not None:
        return existing, False
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
    for locale, fields in data.get("translations", {}).items():
        campaign.translations.append(
            CampaignTranslation(
                locale=locale,
                title=fields.get("title", ""),
                body=fields.get("body", "").strip(),
                footnotes=fields.get("footnotes", "").strip(),
                media_contacts=fields.get("media_contacts", "").strip(),
            )
        )
    for position, item in enumerate(data["demands"], start=1):
        demand = Demand(position=position, title=item["title"], text=item["text"].strip())
        for locale in TRANSLATED_LOCALES:
            if locale in item:
                demand.translations.append(
                    DemandTranslation(
                        locale=locale,
                        title=item[locale].get("title", ""),
                        text=item[locale].get("text", "").strip(),
                    )
                )
        campaign.demands.append(demand)
    db.session.add(campaign)
    db.session.flush()
    return campaign, True
