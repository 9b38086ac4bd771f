"""Public: partners' logos, served from this site so that no page loads anything elsewhere."""

from __future__ import annotations

from flask import Blueprint, abort

from campaign.partners import services
from campaign.uploads import send_upload

bp = Blueprint("partners", __name__)


@bp.get("/partners/<int:partner_id>/logo")
def logo(partner_id: int):
    """A partner's logo (PNG or JPEG, re-encoded when uploaded)."""
    partner = services.public_logo(partner_id)
    if partner is None:
        abort(404)
    # The URL names the logo's version (``v``): a changed logo has a new URL.
    return send_upload(services.logo_path(partner), partner.logo_type, max_age=86400)
