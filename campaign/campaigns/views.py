"""Public campaign pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import get_locale

from campaign.campaigns.pages import render_campaign_page
from campaign.campaigns.services import (
    archived_campaigns,
    featured_campaign,
    localise,
    public_campaign,
)
from campaign.i18n import use_language_prefix

bp = Blueprint("campaigns", __name__, url_prefix="/<lang>", template_folder="templates")
use_language_prefix(bp)


@bp.get("/")
def home():
    """The featured campaign, or a short notice when none is open."""
    campaign = featured_campaign()
    if campaign is None:
        return render_template("campaigns/none.html")
    return render_campaign_page(campaign)


@bp.get("/c/<slug>/")
def show(slug: str):
    """One campaign's page."""
    campaign = public_campaign(slug)
    if campaign is None:
        abort(404)
    return render_campaign_page(campaign)


@bp.get("/archive")
def archive():
    """Campaigns that no longer take signatures, with their final counts."""
    from campaign.signatures.counts import counts_for

    locale = str(get_locale())
    items = [(localise(c, locale), counts_for(c).total) for c in archived_campaigns()]
    return render_template("campaigns/archive.html", items=items)
