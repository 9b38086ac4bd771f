"""Confirmed-signature counts, read without scanning signatures.

Every change that moves a count (a confirmation, a moderation action, an erasure) appends
a few ``CountDelta`` rows in its own transaction: what moved, never whose. Readers add the
pending deltas to the ``CountTally`` rows in one statement, so counts are exact as soon as
the change commits, and reading them costs the same at a thousand or a million signatures.
The worker folds the deltas into the tallies every pass (``fold``), so the pending ones
stay few; nothing updates one hot row per signature. ``recount`` rebuilds a campaign's
tallies from the signatures themselves: when the rule's frozen time moves (counting
resumed, a campaign reopened), and once a day to prove the tallies right.

This is the approach of the UK Parliament's petitions site (a counter job applying
increments in batches under a lock, and a nightly recount), with the increments kept as
rows so that a failed fold loses nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text, union_all, update

from campaign import pagecache
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.settings import counting_paused_at
from campaign.signatures.models import (
    CountDelta,
    CountTally,
    PaperBatch,
    PaperCount,
    Signature,
    SignatureDemand,
)

COUNTED_STATE = "confirmed"
FOLD_BATCH = 5000


def counted_signatures(campaign_id: int | None = None, until: datetime | None = None) -> list:
    """The one rule for a counted supporter, as SQL conditions on ``Signature``.

    Confirmed by the owner of the address, neither held nor invalidated, and confirmed by
    ``until`` when counts are frozen (a counting pause, a closed campaign, a snapshot).
    Counts, letter packets, the dashboard chart and updates to supporters all use it;
    ``contribution`` is the same rule for one signature in memory.
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


def counting_until(campaign: Campaign) -> datetime | None:
    """When counts of ``campaign`` stop: the counting pause or its closing, the earlier."""
    closed = campaign.closed_at if campaign.state in ("closed", "archived") else None
    return min((t for t in (counting_paused_at(), closed) if t), default=None)


@dataclass(frozen=True)
class Counts:
    """Confirmed supporters of one campaign: in total, per demand and per country."""

    total: int = 0
    per_demand: dict[int, int] = field(default_factory=dict)
    by_country: dict[str, int] = field(default_factory=dict)
    # The part of the above that came on paper.
    paper: int = 0
    paper_per_demand: dict[int, int] = field(default_factory=dict)

    def public_countries(self, minimum: int) -> tuple[dict[str, int], int]:
        """The countries with at least ``minimum`` supporters, and the sum of the others:
        what any public breakdown may show, so that no small group can be singled out."""
        shown = {code: n for code, n in self.by_country.items() if n >= minimum}
        return shown, sum(n for code, n in self.by_country.items() if code not in shown)


@dataclass(frozen=True)
class Contribution:
    """What one counted signature adds: one to the total, to its country, to each demand."""

    country: str
    demand_ids: frozenset[int]
    paper: bool = False


def _before(moment: datetime | None, until: datetime | None) -> bool:
    return moment is not None and (until is None or moment <= until)


def contribution(sig: Signature, until: datetime | None) -> Contribution | None:
    """``counted_signatures`` and ``counted_demand_links`` for one loaded signature."""
    if sig.state != COUNTED_STATE or not _before(sig.confirmed_at, until):
        return None
    demands = frozenset(d.demand_id for d in sig.demands if _before(d.confirmed_at, until))
    return Contribution(sig.country, demands, sig.source == "paper")


def contributions(ids: Iterable[int], until_of: dict[int, datetime | None]) -> dict:
    """``{signature id: (campaign id, Contribution)}`` of the counted ones among ``ids``.

    For changes made by one statement over many rows (a bulk invalidation, an erasure):
    read before the change, recorded as moving to nothing after it.
    """
    ids = list(ids)
    found: dict[int, tuple[int, Contribution]] = {}
    for start in range(0, len(ids), FOLD_BATCH):
        chunk = ids[start : start + FOLD_BATCH]
        sigs = db.session.execute(
            select(
                Signature.id,
                Signature.campaign_id,
                Signature.country,
                Signature.confirmed_at,
                Signature.source,
            ).where(Signature.id.in_(chunk), Signature.state == COUNTED_STATE)
        ).all()
        links: dict[int, list[tuple[int, datetime]]] = {}
        for sid, demand_id, confirmed_at in db.session.execute(
            select(SignatureDemand.signature_id, SignatureDemand.demand_id,
                   SignatureDemand.confirmed_at)
            .where(SignatureDemand.signature_id.in_(chunk),
                   SignatureDemand.confirmed_at.is_not(None))
        ):  # fmt: skip
            links.setdefault(sid, []).append((demand_id, confirmed_at))
        for sid, campaign_id, country, confirmed_at, source in sigs:
            until = until_of.get(campaign_id)
            if not _before(confirmed_at, until):
                continue
            demands = frozenset(d for d, at in links.get(sid, ()) if _before(at, until))
            found[sid] = (campaign_id, Contribution(country, demands, source == "paper"))
    return found


def until_of_all() -> dict[int, datetime | None]:
    """``counting_until`` of every campaign, by id (there are few)."""
    return {c.id: counting_until(c) for c in db.session.scalars(select(Campaign))}


def _rows(c: Contribution, sign: int) -> list[tuple[str, str, int]]:
    rows = [("total", "", sign), ("country", c.country, sign)]
    rows += [("demand", str(d), sign) for d in c.demand_ids]
    if c.paper:
        rows += [("paper", "", sign)] + [("paper_demand", str(d), sign) for d in c.demand_ids]
    return rows


def _append(moves: Iterable[tuple[int, Contribution, int]]) -> None:
    """Append the net deltas of ``(campaign id, contribution, +1 or -1)`` moves."""
    net: Counter[tuple[int, str, str]] = Counter()
    for campaign_id, c, sign in moves:
        for dimension, key, n in _rows(c, sign):
            net[(campaign_id, dimension, key)] += n
    rows = [
        {"campaign_id": cid, "dimension": d, "key": k, "delta": n}
        for (cid, d, k), n in net.items()
        if n
    ]
    if rows:
        db.session.execute(insert(CountDelta), rows)


def record(campaign_id: int, before: Contribution | None, after: Contribution | None) -> None:
    """Append what moved when one signature went from ``before`` to ``after``."""
    if before != after:
        _append((campaign_id, c, sign) for c, sign in ((before, -1), (after, 1)) if c is not None)


def record_removed(found: dict) -> None:
    """Record that each of ``contributions(...)``'s signatures counts no more."""
    _append((campaign_id, c, -1) for campaign_id, c in found.values())


def record_rows(campaign_id: int, rows: Iterable[tuple[str, str, int]]) -> None:
    """Append deltas given as ``(dimension, key, n)`` (a counts-only paper batch)."""
    net: Counter[tuple[str, str]] = Counter()
    for dimension, key, n in rows:
        net[(dimension, key)] += n
    values = [
        {"campaign_id": campaign_id, "dimension": d, "key": k, "delta": n}
        for (d, k), n in net.items()
        if n
    ]
    if values:
        db.session.execute(insert(CountDelta), values)


# CLDR's "Unknown Region": people on paper sheets that did not say where they live.
UNKNOWN_COUNTRY = "ZZ"


def _count_rows(country: str, demand_id: int | None, n: int) -> list[tuple[str, str, int]]:
    """Tally rows of one ``PaperCount``: people (no demand) or the signers of one demand."""
    if demand_id is None:
        return [("total", "", n), ("paper", "", n), ("country", country or UNKNOWN_COUNTRY, n)]
    return [("demand", str(demand_id), n), ("paper_demand", str(demand_id), n)]


def batch_rows(batch: PaperBatch, sign: int = 1) -> list[tuple[str, str, int]]:
    """What a counts-only paper batch adds to the tallies (``sign`` -1: takes away)."""
    return [row for c in batch.counts for row in _count_rows(c.country, c.demand_id, sign * c.n)]


def batch_counts(batch: PaperBatch, until: datetime | None) -> bool:
    """Whether a paper batch counts: active, and entered while counting ran."""
    return batch.state == "active" and _before(batch.created_at, until)


def counted_batch_rows(campaign_id: int, until: datetime | None) -> list[tuple[str, str, int]]:
    """The tally rows of every counting counts-only batch of a campaign, from their rows."""
    query = (
        select(PaperCount.country, PaperCount.demand_id, func.sum(PaperCount.n))
        .join(PaperBatch, PaperBatch.id == PaperCount.batch_id)
        .where(PaperBatch.campaign_id == campaign_id, PaperBatch.state == "active")
        .group_by(PaperCount.country, PaperCount.demand_id)
    )
    if until is not None:
        query = query.where(PaperBatch.created_at <= until)
    return [
        row
        for country, demand_id, n in db.session.execute(query)
        for row in _count_rows(country, demand_id, int(n or 0))
    ]


def _counts(rows: Iterable[tuple[str, str, int]]) -> Counts:
    total, paper, per_demand, by_country, paper_demand = 0, 0, Counter(), Counter(), Counter()
    for dimension, key, n in rows:
        if dimension == "total":
            total += n
        elif dimension == "demand":
            per_demand[int(key)] += n
        elif dimension == "country":
            by_country[key] += n
        elif dimension == "paper":
            paper += n
        else:
            paper_demand[int(key)] += n
    return Counts(
        total=total,
        per_demand={k: v for k, v in per_demand.items() if v},
        by_country={k: by_country[k] for k in sorted(by_country) if by_country[k]},
        paper=paper,
        paper_per_demand={k: v for k, v in paper_demand.items() if v},
    )


def tally_rows(counts: Counts) -> list[tuple[str, str, int]]:
    """``counts`` as tally rows ``(dimension, key, n)``."""
    rows = [("total", "", counts.total), ("paper", "", counts.paper)]
    rows += [("demand", str(d), n) for d, n in counts.per_demand.items()]
    rows += [("country", c, n) for c, n in counts.by_country.items()]
    rows += [("paper_demand", str(d), n) for d, n in counts.paper_per_demand.items()]
    return rows


def compute_counts(campaign_id: int) -> Counts:
    """Counts of a campaign: its tallies plus the deltas not folded yet, in one statement.

    One statement, so that on PostgreSQL a fold committing meanwhile is seen entirely or
    not at all (SQLite's read transaction is a snapshot anyway).
    """
    tallies = select(CountTally.dimension, CountTally.key, CountTally.n).where(
        CountTally.campaign_id == campaign_id
    )
    pending = select(CountDelta.dimension, CountDelta.key, CountDelta.delta).where(
        CountDelta.campaign_id == campaign_id
    )
    return _counts(db.session.execute(union_all(tallies, pending)).all())


def scan_counts(campaign_id: int, until: datetime | None = None) -> Counts:
    """Count confirmed signatures straight from their rows: what the tallies must equal."""
    base = counted_signatures(campaign_id, until)
    demand_filter = counted_demand_links(until)
    total = db.session.scalar(select(func.count(Signature.id)).where(*base)) or 0
    per_demand = db.session.execute(
        select(SignatureDemand.demand_id, func.count())
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*base, *demand_filter)
        .group_by(SignatureDemand.demand_id)
    ).all()
    by_country = db.session.execute(
        select(Signature.country, func.count()).where(*base).group_by(Signature.country)
    ).all()
    paper = base + [Signature.source == "paper"]
    paper_total = db.session.scalar(select(func.count(Signature.id)).where(*paper)) or 0
    paper_demand = db.session.execute(
        select(SignatureDemand.demand_id, func.count())
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*paper, *demand_filter)
        .group_by(SignatureDemand.demand_id)
    ).all()
    return _counts(
        [("total", "", total), ("paper", "", paper_total)]
        + [("demand", str(d), n) for d, n in per_demand]
        + [("country", c, n) for c, n in by_country]
        + [("paper_demand", str(d), n) for d, n in paper_demand]
        + counted_batch_rows(campaign_id, until)
    )


def _lock(*tables: str) -> None:
    """One fold or recount at a time; on PostgreSQL plain reads go on meanwhile."""
    if db.session.get_bind().dialect.name == "postgresql":
        for table in tables:
            db.session.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
    # SQLite: the transaction began IMMEDIATE, so it already holds the only write lock.


def _add_to_tallies(net: Counter) -> None:
    for (campaign_id, dimension, key), n in net.items():
        if not n:
            continue
        moved = db.session.execute(
            update(CountTally)
            .where(
                CountTally.campaign_id == campaign_id,
                CountTally.dimension == dimension,
                CountTally.key == key,
            )
            .values(n=CountTally.n + n)
        ).rowcount
        if not moved:
            db.session.execute(
                insert(CountTally).values(campaign_id=campaign_id, dimension=dimension, key=key,
                                          n=n)
            )  # fmt: skip


def fold(limit: int = FOLD_BATCH) -> int:
    """Move up to ``limit`` pending deltas into the tallies; returns how many. Commits.

    Exactly the deltas read are deleted (by id), so one committed late by a slow
    transaction is left for the next fold, never lost.
    """
    _lock("count_tallies")
    deltas = db.session.execute(
        select(CountDelta.id, CountDelta.campaign_id, CountDelta.dimension, CountDelta.key,
               CountDelta.delta)
        .order_by(CountDelta.id)
        .limit(limit)
    ).all()  # fmt: skip
    if not deltas:
        db.session.commit()
        return 0
    net: Counter[tuple[int, str, str]] = Counter()
    for _id, campaign_id, dimension, key, n in deltas:
        net[(campaign_id, dimension, key)] += n
    _add_to_tallies(net)
    ids = [row[0] for row in deltas]
    for start in range(0, len(ids), 500):
        db.session.execute(delete(CountDelta).where(CountDelta.id.in_(ids[start : start + 500])))
    db.session.commit()
    return len(deltas)


def recount(campaign: Campaign) -> Counts:
    """Rebuild ``campaign``'s tallies from its signatures and drop its deltas; no commit.

    Both tables are locked meanwhile (on PostgreSQL confirmations wait for the few seconds
    a million signatures take), so no change falls between the scan and the rebuild.
    """
    _lock("count_tallies", "count_deltas")
    counts = scan_counts(campaign.id, until=counting_until(campaign))
    db.session.execute(delete(CountDelta).where(CountDelta.campaign_id == campaign.id))
    db.session.execute(delete(CountTally).where(CountTally.campaign_id == campaign.id))
    db.session.execute(
        insert(CountTally),
        [
            {"campaign_id": campaign.id, "dimension": d, "key": k, "n": n}
            for d, k, n in tally_rows(counts)
        ],
    )
    return counts


def recount_all() -> None:
    """Recount every campaign, each in its own transaction (the worker's daily check)."""
    for campaign_id in db.session.scalars(select(Campaign.id)).all():
        campaign = db.session.get(Campaign, campaign_id)
        recount(campaign)
        db.session.commit()


def clear_cache() -> None:
    """Show a change on public pages at once in this process (others follow in seconds)."""
    pagecache.clear()


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


def counts_for(campaign: Campaign) -> Counts:
    """Counts for ``campaign``, frozen at a counting pause or its closing time."""
    return compute_counts(campaign.id)
