"""Public: partners' logos, served from this site so that no page loads anything elsewhere."""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from campaign.partners import services

bp = Blueprint("partners", __name__)


@bp.get("/partners/<int:partner_id>/logo")
def logo(partner_id: int):
    """A partner's logo (PNG or JPEG, re-encoded when uploaded)."""
    partner = services.public_logo(partner_id)
    if partner is None:
        abort(404)
    path = services.logo_path(partner)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=partner.logo_type, max_age=86400)
    # The URL names the logo's version (``v``): a changed logo has a new URL.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
