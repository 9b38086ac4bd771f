"""Moderation actions, the queue, bulk invalidation and the trending panel.

Every action writes a ``ModerationEvent`` in the same transaction as the change and
clears the count cache, so a held or invalidated signature leaves the counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, select

from campaign import audit
from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.settings import COUNTING_PAUSED, SIGNING_PAUSED, set_setting
from campaign.signatures import counts
from campaign.signatures.counts import clear_cache
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow

# action -> (states it applies to, whether it needs a reason)
ACTIONS: dict[str, tuple[tuple[str, ...], bool]] = {
    "approve_comment": (("unconfirmed", "confirmed", "held", "invalidated"), False),
    "reject_comment": (("unconfirmed", "confirmed", "held", "invalidated"), True),
    "release": (("held",), False),
    "invalidate": (("confirmed", "held"), True),
    "restore": (("invalidated",), False),
}


class ModerationError(ValueError):
    """An action that does not apply, or lacks its reason."""


def apply_action(sig: Signature, action: str, actor: object, reason: str = "") -> bool:
    """Apply one action to one signature; False when it does not apply to its state."""
    if action not in ACTIONS:
        raise ModerationError("unknown action")
    states, needs_reason = ACTIONS[action]
    reason = (reason or "").strip()
    if needs_reason and not reason:
        raise ModerationError("reason required")
    if sig.state not in states:
        return False
    until = counts.counting_until(db.session.get(Campaign, sig.campaign_id))
    counted_before = counts.contribution(sig, until)
    if action in ("approve_comment", "reject_comment"):
        if sig.comment_state == "none":
            return False
        sig.comment_state = "approved" if action == "approve_comment" else "rejected"
    elif action == "release":
        sig.state = "confirmed"
    elif action == "invalidate":
        sig.state = "invalidated"
    elif action == "restore":
        sig.state = "confirmed" if sig.confirmed_at else "unconfirmed"
    counts.record(sig.campaign_id, counted_before, counts.contribution(sig, until))
    audit.record(actor, "signature", sig.id, action, reason)
    return True


def apply_to_selection(ids: list[int], action: str, actor: object, reason: str = "") -> int:
    """Apply ``action`` to each selected signature; returns how many changed."""
    changed = 0
    for sig in db.session.scalars(select(Signature).where(Signature.id.in_(ids))):
        changed += apply_action(sig, action, actor, reason)
    clear_cache()
    return changed


@dataclass
class QueueFilter:
    """What the moderator asked to see."""

    kind: str = "all"  # all, comments, held
    campaign_id: int | None = None
    reason: str = ""
    page: int = 1


PAGE_SIZE = 25


def queue_query(f: QueueFilter) -> Select:
    """Items awaiting a decision, oldest first."""
    pending_comment = Signature.comment_state == "pending"
    held = Signature.state == "held"
    if f.kind == "comments":
        where = pending_comment & Signature.state.in_(("confirmed", "held"))
    elif f.kind == "held":
        where = held
    elif f.kind == "invalidated":
        where = Signature.state == "invalidated"
    else:
        where = held | (pending_comment & (Signature.state == "confirmed"))
    query = select(Signature).where(where)
    if f.campaign_id:
        query = query.where(Signature.campaign_id == f.campaign_id)
    if f.reason:
        query = query.where(Signature.hold_reasons.contains(f.reason))
    return query.order_by(Signature.created_at, Signature.id)


def queue_page(f: QueueFilter) -> Pagination:
    """One page of the queue (``items``, ``total``, ``pages``...)."""
    return db.paginate(queue_query(f), page=f.page, per_page=PAGE_SIZE, error_out=False)


def siblings(sigs: list[Signature], limit: int = 5) -> dict[int, tuple[int, list[Signature]]]:
    """For each signature, the others from its network address hash: how many, and a few.

    Two queries for a whole page, whatever its length.
    """
    hashes = {sig.ip_hash for sig in sigs if sig.ip_hash}
    if not hashes:
        return {sig.id: (0, []) for sig in sigs}
    counts = dict(
        db.session.execute(
            select(Signature.ip_hash, func.count())
            .where(Signature.ip_hash.in_(hashes))
            .group_by(Signature.ip_hash)
        ).all()
    )
    rank = (
        func.row_number()
        .over(partition_by=Signature.ip_hash, order_by=(Signature.created_at.desc(), Signature.id))
        .label("rank")
    )
    ranked = select(Signature.id, rank).where(Signature.ip_hash.in_(hashes)).subquery()
    recent: dict[str, list[Signature]] = {}
    for other in db.session.scalars(
        select(Signature)
        .join(ranked, ranked.c.id == Signature.id)
        .where(ranked.c.rank <= limit + 1)  # one more, in case it is the signature itself
        .order_by(Signature.created_at.desc(), Signature.id)
    ):
        recent.setdefault(other.ip_hash, []).append(other)
    result = {}
    for sig in sigs:
        if not sig.ip_hash:
            result[sig.id] = (0, [])
            continue
        others = [o for o in recent.get(sig.ip_hash, []) if o.id != sig.id][:limit]
        result[sig.id] = (counts.get(sig.ip_hash, 1) - 1, others)
    return result


@dataclass
class Criteria:
    """Which signatures a bulk invalidation targets (at least one criterion)."""

    campaign_id: int | None = None
    ip_hash: str = ""
    email_domain: str = ""
    country: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def is_empty(self) -> bool:
        """True when nothing narrows the selection."""
        return not (self.ip_hash or self.email_domain or self.country or self.since or self.until)

    def describe(self) -> dict:
        """The criteria as plain values, for the audit event."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in (
                ("campaign_id", self.campaign_id),
                ("ip_hash", self.ip_hash),
                ("email_domain", self.email_domain),
                ("country", self.country),
                ("since", self.since),
                ("until", self.until),
            )
            if v
        }


def criteria_query(c: Criteria) -> Select:
    """Counted or held signatures matching ``c``."""
    if c.is_empty():
        raise ModerationError("at least one criterion")
    query = select(Signature).where(Signature.state.in_(("confirmed", "held")))
    if c.campaign_id:
        query = query.where(Signature.campaign_id == c.campaign_id)
    if c.ip_hash:
        query = query.where(Signature.ip_hash == c.ip_hash)
    if c.email_domain:
        query = query.where(Signature.email_domain == c.email_domain.strip().casefold())
    if c.country:
        query = query.where(Signature.country == c.country.upper())
    if c.since:
        query = query.where(Signature.created_at >= c.since)
    if c.until:
        query = query.where(Signature.created_at < c.until)
    return query


def preview_bulk(c: Criteria, sample_size: int = 10) -> tuple[int, list[Signature]]:
    """How many signatures the criteria match, and a sample of them."""
    query = criteria_query(c)
    count = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    sample = db.session.scalars(query.order_by(Signature.created_at).limit(sample_size)).all()
    return count, list(sample)


def bulk_invalidate(c: Criteria, actor: object, reason: str) -> int:
    """Invalidate every match, writing one event with the criteria; the caller commits."""
    if not reason.strip():
        raise ModerationError("reason required")
    ids = db.session.scalars(criteria_query(c).with_only_columns(Signature.id)).all()
    if ids:
        counts.record_removed(counts.contributions(ids, counts.until_of_all()))
        db.session.execute(
            Signature.__table__.update()
            .where(Signature.id.in_(ids))
            .values(state="invalidated", updated_at=utcnow())
        )
    audit.record(
        actor, "signatures", "bulk", "bulk_invalidate", reason.strip(),
        criteria=c.describe(), count=len(ids),
    )  # fmt: skip
    clear_cache()
    return len(ids)


@dataclass
class Trend:
    """A source signing far above its normal rate."""

    kind: str  # ip_hash or email_domain
    value: str
    last_hour: int
    hourly_average: float


def trending(now: datetime | None = None) -> list[Trend]:
    """Address hashes and e-mail domains whose last hour stands far above their week."""
    cfg = current_app.config
    now = now or utcnow()
    hour_ago, week_ago = now - timedelta(hours=1), now - timedelta(days=7)
    result = []
    for kind, column in (("ip_hash", Signature.ip_hash), ("email_domain", Signature.email_domain)):
        recent = db.session.execute(
            select(column, func.count())
            .where(Signature.created_at >= hour_ago, column.is_not(None), column != "")
            .group_by(column)
            .having(func.count() >= cfg["TRENDING_MIN_PER_HOUR"])
        ).all()
        for value, last_hour in recent:
            before = (
                db.session.scalar(
                    select(func.count()).where(
                        column == value,
                        Signature.created_at >= week_ago,
                        Signature.created_at < hour_ago,
                    )
                )
                or 0
            )
            average = before / (7 * 24 - 1)
            if last_hour >= cfg["TRENDING_FACTOR"] * max(average, 1.0):
                result.append(Trend(kind, value, last_hour, round(average, 2)))
    return sorted(result, key=lambda t: -t.last_hour)


def set_switch(name: str, on: bool, actor: object, reason: str = "") -> None:
    """Pause or resume signing or counting, with an audit event; the caller commits."""
    if name == "signing":
        set_setting(SIGNING_PAUSED, "1" if on else "")
    elif name == "counting":
        set_setting(COUNTING_PAUSED, utcnow().isoformat() if on else "")
    else:
        raise ModerationError("unknown switch")
    audit.record(actor, "switch", name, "pause" if on else "resume", reason)
    if name == "counting" and not on:
        # Confirmations made while paused were left out; now they count.
        for campaign in db.session.scalars(select(Campaign)):
            counts.recount(campaign)
    clear_cache()


@dataclass
class AuditFilter:
    """Filters of the audit page."""

    action: str = ""
    actor: str = ""
    object_type: str = ""
    page: int = 1


AUDIT_PAGE_SIZE = 50


def audit_page(f: AuditFilter) -> Pagination:
    """One page of events, newest first."""
    return db.paginate(audit_query(f), page=f.page, per_page=AUDIT_PAGE_SIZE, error_out=False)


def audit_query(f: AuditFilter) -> Select:
    """Events newest first, filtered."""
    query = select(ModerationEvent)
    if f.action:
        query = query.where(ModerationEvent.action == f.action)
    if f.actor:
        query = query.where(ModerationEvent.actor_label.contains(f.actor.strip().casefold()))
    if f.object_type:
        query = query.where(ModerationEvent.object_type == f.object_type)
    return query.order_by(ModerationEvent.at.desc(), ModerationEvent.id.desc())
