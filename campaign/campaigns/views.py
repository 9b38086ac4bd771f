"""Public campaign pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from campaign.campaigns.pages import render_campaign_page
from campaign.campaigns.services import featured_campaign, public_campaign
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
