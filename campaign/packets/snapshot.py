"""What a packet says, read from the database as it stood at one moment.

A supporter counts when their signature is confirmed (not held, not invalidated) and both
it and the demand were confirmed at or before the snapshot. Erased signatures are gone
from the table, so they vanish from every later build. Names are streamed in batches, so
memory does not grow with the number of supporters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, distinct, func, or_, select

from campaign.campaigns.models import Demand
from campaign.countries import country_choices
from campaign.extensions import db
from campaign.signatures.counts import counted_demand_links, counted_signatures
from campaign.signatures.models import PaperBatch, PaperCount, Signature, SignatureDemand

BATCH = 2000


@dataclass(frozen=True)
class Supporter:
    """A supporter who agreed to be named in letters to officials."""

    name: str
    country: str
    region: str
    affiliation: str
    source: str = "online"


def _counted(demand_ids: list[int], snapshot: datetime) -> list:
    return [
        SignatureDemand.demand_id.in_(demand_ids),
        *counted_demand_links(until=snapshot),
        *counted_signatures(until=snapshot),
    ]


def demand_counts(demand_ids: list[int], snapshot: datetime) -> dict[int, tuple[int, int]]:
    """``{demand id: (supporters, named)}`` at ``snapshot``, in one grouped query."""
    rows = db.session.execute(
        select(
            SignatureDemand.demand_id,
            func.count(),
            func.count().filter(Signature.name_in_letters.is_(True)),
        )
        .select_from(SignatureDemand)
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*_counted(demand_ids, snapshot))
        .group_by(SignatureDemand.demand_id)
    ).all()
    found = {demand_id: (int(total), int(named)) for demand_id, total, named in rows}
    paper: dict[int, int] = {}
    for _batch, _country, demand_id, n in _paper_counts(demand_ids, snapshot):
        if demand_id is not None:
            paper[demand_id] = paper.get(demand_id, 0) + n
    result = {}
    for demand_id in demand_ids:
        total, named = found.get(demand_id, (0, 0))
        result[demand_id] = (total + paper.get(demand_id, 0), named)
    return result


def _paper_counts(
    demand_ids: list[int], snapshot: datetime
) -> list[tuple[int, str, int | None, int]]:
    """Counts-only paper batches at ``snapshot``, as ``(batch, country, demand, n)`` rows:
    active batches entered by then; a demand of None stands for the country's people."""
    campaigns = select(Demand.campaign_id).where(Demand.id.in_(demand_ids)).scalar_subquery()
    rows = db.session.execute(
        select(PaperCount.batch_id, PaperCount.country, PaperCount.demand_id, PaperCount.n)
        .join(PaperBatch, PaperBatch.id == PaperCount.batch_id)
        .where(
            PaperBatch.state == "active",
            PaperBatch.created_at <= snapshot,
            PaperBatch.campaign_id.in_(campaigns),
            or_(PaperCount.demand_id.in_(demand_ids), PaperCount.demand_id.is_(None)),
        )
    ).all()
    return [(b, c, d, int(n)) for b, c, d, n in rows]


def _paper_people(demand_ids: list[int], snapshot: datetime) -> int:
    """Counts-only paper supporters of any of ``demand_ids``, each person at most once.

    The sheets say how many people signed each demand, not who: a country's row adds the
    largest of its demands' numbers, the fewest people it can be, so a letter never claims
    more supporters than signed."""
    largest: dict[tuple[int, str], int] = {}
    for batch, country, demand_id, n in _paper_counts(demand_ids, snapshot):
        if demand_id is not None:
            largest[(batch, country)] = max(largest.get((batch, country), 0), n)
    return sum(largest.values())


def distinct_counts(demand_ids: list[int], snapshot: datetime) -> tuple[int, int]:
    """``(supporters, named)`` counting each person once across ``demand_ids``."""
    if not demand_ids:
        return 0, 0
    supporters = db.session.scalar(
        select(func.count(distinct(Signature.id)))
        .select_from(SignatureDemand)
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*_counted(demand_ids, snapshot))
    )
    named = db.session.scalar(
        select(func.count(distinct(Signature.id)))
        .select_from(SignatureDemand)
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*_counted(demand_ids, snapshot), Signature.name_in_letters.is_(True))
    )
    return int(supporters or 0) + _paper_people(demand_ids, snapshot), int(named or 0)


def small_countries(demand_id: int, snapshot: datetime, minimum: int) -> frozenset[str]:
    """Countries with fewer than ``minimum`` supporters of a demand at ``snapshot``."""
    rows = db.session.execute(
        select(Signature.country, func.count())
        .select_from(SignatureDemand)
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*_counted([demand_id], snapshot))
        .group_by(Signature.country)
    )
    return frozenset(country for country, n in rows if n < minimum)


# The country of a supporter listed under "Other countries" (a packet's ``others``).
OTHER = ""


def named_supporters(
    demand_id: int, snapshot: datetime, locale: str, others: frozenset[str] = frozenset()
) -> Iterator[Supporter]:
    """The named supporters of a demand, by country (in ``locale``'s order), then by name;
    those of ``others`` last, together, with the country ``OTHER``.

    One query per demand, streamed in batches: the country order is a CASE over the
    localised country list, so the database sorts and Python only reads.
    """
    ranks = {code: rank for rank, (code, _name) in enumerate(country_choices(locale))}
    unknown = len(ranks)  # a code not in the list sorts after every known country
    ranks.update(dict.fromkeys(others, unknown + 1))  # and "Other countries" after it
    country_rank = case(ranks, value=Signature.country, else_=unknown)
    group = case((Signature.country.in_(others), OTHER), else_=Signature.country)
    stmt = (
        select(Signature.name, group, Signature.region, Signature.affiliation, Signature.source)
        .select_from(SignatureDemand)
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*_counted([demand_id], snapshot), Signature.name_in_letters.is_(True))
        .order_by(country_rank, group, Signature.sort_name, Signature.name, Signature.id)
        .execution_options(yield_per=BATCH)
    )
    for name, country, region, affiliation, source in db.session.execute(stmt):
        yield Supporter(name, country, region, affiliation, source)
