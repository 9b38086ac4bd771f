"""Confirmed-signature counts.

Counts are computed from the signature rows themselves (``COUNT ... GROUP BY`` over
indexes) and kept for ``COUNT_CACHE_SECONDS`` per process. No counter row is updated when
someone signs, so a burst of signatures never queues on one hot row; the cost is one
grouped query per campaign per few seconds per worker, whatever the signing rate.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.settings import counting_paused_at
from campaign.signatures.models import Signature, SignatureDemand

COUNTED_STATE = "confirmed"


def counted_signatures(campaign_id: int | None = None, until: datetime | None = None) -> list:
    """The one rule for a counted supporter, as SQL conditions on ``Signature``.

    Confirmed by the owner of the address, neither held nor invalidated, and confirmed by
    ``until`` when counts are frozen (a counting pause, a closed campaign, a snapshot).
    Counts, letter packets, the dashboard chart and updates to supporters all use it.
    """
    conditions = [Signature.state == COUNTED_STATE]
    if campaign_id is not None:
        conditions.append(Signature.campaign_id == campaign_id)
    if until is not None:
        conditions.append(Signature.confirmed_at <= until)
    return conditions


def counted_demand_links(until: datetime | None = None) -> list:
    """The same rule for one demand of a counted signature (join ``Signature`` too)."""
    conditions = [SignatureDemand.confirmed_at.is_not(None)]
    if until is not None:
        conditions.append(SignatureDemand.confirmed_at <= until)
    return conditions


def counting_until(campaign) -> datetime | None:  # noqa: ANN001 - a Campaign
    """When counts of ``campaign`` stop: the counting pause or its closing, the earlier."""
    closed = campaign.closed_at if campaign.state in ("closed", "archived") else None
    return min((t for t in (counting_paused_at(), closed) if t), default=None)


@dataclass(frozen=True)
class Counts:
    """Confirmed supporters of one campaign: in total, per demand and per country."""

    total: int = 0
    per_demand: dict[int, int] = field(default_factory=dict)
    by_country: dict[str, int] = field(default_factory=dict)


def compute_counts(campaign_id: int, until: datetime | None = None) -> Counts:
    """Count confirmed signatures straight from the database.

    ``until`` freezes the counts (an admin paused counting): later confirmations wait.
    """
    base = counted_signatures(campaign_id, until)
    demand_filter = counted_demand_links(until)
    total = db.session.scalar(select(func.count(Signature.id)).where(*base)) or 0
    per_demand = dict(
        db.session.execute(
            select(SignatureDemand.demand_id, func.count())
            .join(Signature, Signature.id == SignatureDemand.signature_id)
            .where(*base, *demand_filter)
            .group_by(SignatureDemand.demand_id)
        ).all()
    )
    by_country = dict(
        db.session.execute(
            select(Signature.country, func.count())
            .where(*base)
            .group_by(Signature.country)
            .order_by(Signature.country)
        ).all()
    )
    return Counts(total=total, per_demand=per_demand, by_country=by_country)


_cache: dict[int, tuple[float, Counts]] = {}
_lock = threading.Lock()


def campaign_counts(campaign_id: int, until: datetime | None = None) -> Counts:
    """Counts for a campaign, at most ``COUNT_CACHE_SECONDS`` old, frozen at ``until``."""
    ttl = current_app.config["COUNT_CACHE_SECONDS"]
    now = time.monotonic()
    if ttl > 0:
        with _lock:
            hit = _cache.get(campaign_id)
        if hit and now - hit[0] < ttl:
            return hit[1]
    counts = compute_counts(campaign_id, until=until)
    if ttl > 0:
        with _lock:
            _cache[campaign_id] = (now, counts)
    return counts


def clear_cache() -> None:
    """Forget cached counts (tests, and after moderation changes)."""
    with _lock:
        _cache.clear()


@dataclass
class PublicSupporter:
    """A confirmed supporter as the public may see them."""

    display_name: str
    country: str
    comment: str


def initials(name: str) -> str:
    """``Jane Q. Doe`` -> ``J. Q. D.``; a name without spaces (``王小明``) -> ``王.``."""
    parts = name.split()
    return " ".join(p[0] + "." for p in parts if p) if parts else ""


def recent_supporters(campaign_id: int, limit: int = 10) -> list[PublicSupporter]:
    """The latest confirmed supporters who agreed to be shown, as they chose to be shown.

    Comments appear only once a moderator approved them.
    """
    rows = db.session.scalars(
        select(Signature)
        .where(*counted_signatures(campaign_id), Signature.display != "anonymous")
        .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
        .limit(limit)
    ).all()
    result = []
    for sig in rows:
        shown = sig.name if sig.display == "full" else initials(sig.name)
        comment = sig.comment if sig.comment_state == "approved" else ""
        result.append(PublicSupporter(display_name=shown, country=sig.country, comment=comment))
    return result


def counts_for(campaign) -> Counts:  # noqa: ANN001 - a Campaign (no import: no cycle)
    """Counts for ``campaign``, frozen at a counting pause or its closing time."""
    return campaign_counts(campaign.id, until=counting_until(campaign))


def count_cache_seconds() -> int:
    """How stale counts may be, for Cache-Control headers."""
    return int(current_app.config["COUNT_CACHE_SECONDS"])
