"""``/api/v1``: public campaign data and confirmed counts (never personal data)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from campaign.campaigns.services import public_campaign, public_campaigns
from campaign.extensions import csrf
from campaign.signatures.counts import count_cache_seconds, counts_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _cached(response):
    """Counts may be a few seconds stale; let caches keep them that long."""
    seconds = max(count_cache_seconds(), 1)
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/campaigns")
def campaigns():
    """Every public campaign with its confirmed total."""
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
    return _cached(jsonify({"campaigns": items}))


@bp.get("/campaigns/<slug>")
def campaign(slug: str):
    """One campaign: totals per demand and per country."""
    c = public_campaign(slug)
    if c is None:
        abort(404)
    counts = counts_for(c)
    return _cached(
        jsonify(
            {
                "slug": c.slug,
                "title": c.title,
                "organisation": c.organisation,
                "published_on": c.published_on.isoformat() if c.published_on else None,
                "state": c.state,
                "goal": c.goal,
                "signatures": counts.total,
                "demands": [
                    {
                        "id": d.id,
                        "position": d.position,
                        "title": d.title,
                        "retired": d.retired,
                        "signatures": counts.per_demand.get(d.id, 0),
                    }
                    for d in c.demands
                ],
                "by_country": counts.by_country,
            }
        )
    )
