"""``/api/v1``: public campaign data and confirmed counts (never personal data)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify

from campaign import pagecache
from campaign.campaigns.services import public_campaign, public_campaigns
from campaign.extensions import csrf
from campaign.signatures.counts import counts_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.after_request
def _open_to_all(response):  # noqa: ANN001, ANN202
    """Public data: any site's script may read it (it is never personal)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/campaigns")
def campaigns():
    """Every public campaign with its confirmed total."""
    return pagecache.serve(("api", None), _campaigns)


@bp.get("/campaigns/<slug>")
def campaign(slug: str):
    """One campaign: totals per demand and per country (a few seconds stale at most)."""
    return pagecache.serve(("api", slug), lambda: _campaign(slug))


def _campaigns():  # noqa: ANN202 - a JSON response
    items = [
        {
            "slug": c.slug,
            "title": c.title,
            "organisation": c.organisation,
            "state": c.state,
            "goal": c.goal,
            "signatures": counts_for(c).total,
        }
        for c in public_campaigns()
    ]
    return jsonify({"campaigns": items})


def _campaign(slug: str):  # noqa: ANN202 - a JSON response
    c = public_campaign(slug)
    if c is None:
        abort(404)
    counts = counts_for(c)
    countries, other = counts.public_countries(current_app.config["PUBLIC_COUNTRY_MIN"])
    return jsonify(
        {
            "slug": c.slug,
            "title": c.title,
            "organisation": c.organisation,
            "published_on": c.published_on.isoformat() if c.published_on else None,
            "state": c.state,
            "goal": c.goal,
            "signatures": counts.total,
            "paper": counts.paper,
            "demands": [
                {
                    "id": d.id,
                    "position": d.position,
                    "title": d.title,
                    "retired": d.retired,
                    "signatures": counts.per_demand.get(d.id, 0),
                    "paper": counts.paper_per_demand.get(d.id, 0),
                }
                for d in c.demands
            ],
            "by_country": countries,
            "other_countries": other,
        }
    )
