"""Signature exports: filtered, streamed, traceable.

Every export gets an identifier that is in its file name and in a column of every row,
and an audit event (who, which filter, how many rows) is written before the first byte
leaves, so a leaked file can be traced to the person who made it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from campaign.campaigns.models import Campaign, Demand
from campaign.csvsafe import csv_lines
from campaign.extensions import db
from campaign.moderation import audit
from campaign.signatures.models import Signature, SignatureDemand

FORMATS = ("csv", "jsonl")
STATES = ("confirmed", "unconfirmed", "held", "invalidated")
BATCH = 2000
COLUMNS = [
    "export_id",
    "signature_id",
    "name",
    "country",
    "region",
    "affiliation",
    "state",
    "display",
    "name_in_letters",
    "updates",
    "locale",
    "demands",
    "signed_at",
    "confirmed_at",
]


@dataclass(frozen=True)
class ExportFilter:
    """Which signatures an export holds. ``None`` means no restriction."""

    demand_id: int | None = None
    state: str | None = "confirmed"
    country: str | None = None
    signed_from: date | None = None
    signed_until: date | None = None  # inclusive
    include_email: bool = False

    def describe(self) -> dict:
        """The filter as recorded in the audit trail."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


def new_export_id() -> str:
    """A short random identifier such as ``EX-7K3MQ9TX``."""
    return "EX-" + secrets.token_hex(4).upper()


def _conditions(campaign: Campaign, flt: ExportFilter) -> list:
    where = [Signature.campaign_id == campaign.id]
    if flt.state:
        where.append(Signature.state == flt.state)
    if flt.country:
        where.append(Signature.country == flt.country)
    if flt.signed_from:
        where.append(Signature.created_at >= datetime.combine(flt.signed_from, time.min))
    if flt.signed_until:
        end = datetime.combine(flt.signed_until + timedelta(days=1), time.min)
        where.append(Signature.created_at < end)
    if flt.demand_id is not None:
        where.append(
            Signature.id.in_(
                select(SignatureDemand.signature_id).where(
                    SignatureDemand.demand_id == flt.demand_id
                )
            )
        )
    return where


def count_rows(campaign: Campaign, flt: ExportFilter) -> int:
    """How many signatures match ``flt``."""
    return db.session.scalar(
        select(func.count(Signature.id)).where(*_conditions(campaign, flt))
    ) or 0  # fmt: skip


def start_export(campaign: Campaign, flt: ExportFilter, fmt: str, actor) -> tuple[str, int]:  # noqa: ANN001
    """Record the export in the audit trail; returns ``(export id, rows)``.

    The caller commits, then streams ``export_records``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    export_id = new_export_id()
    rows = count_rows(campaign, flt)
    audit.record(actor, "campaign", campaign.id, "export", "", export=export_id,
                 format=fmt, rows=rows, filter=flt.describe())  # fmt: skip
    return export_id, rows


def columns(flt: ExportFilter) -> list[str]:
    """The columns of an export with ``flt``."""
    return COLUMNS[:3] + ["email"] + COLUMNS[3:] if flt.include_email else list(COLUMNS)


def export_records(campaign: Campaign, flt: ExportFilter, export_id: str) -> Iterator[dict]:
    """Matching signatures as dicts, in id order, read in batches (memory stays flat)."""
    positions = dict(
        db.session.execute(
            select(Demand.id, Demand.position).where(Demand.campaign_id == campaign.id)
        ).all()
    )
    where = _conditions(campaign, flt)
    fields = (Signature.id, Signature.name, Signature.email, Signature.country, Signature.region,
              Signature.affiliation, Signature.state, Signature.display,
              Signature.name_in_letters, Signature.updates, Signature.locale,
              Signature.created_at, Signature.confirmed_at)  # fmt: skip
    cols = columns(flt)
    last = 0
    while True:
        # Keyset pages (id > last) rather than one cursor: plain rows, no identity map,
        # and the same on SQLite and PostgreSQL.
        batch = db.session.execute(
            select(*fields).where(*where, Signature.id > last).order_by(Signature.id).limit(BATCH)
        ).all()
        if not batch:
            return
        ids = [row.id for row in batch]
        signed: dict[int, list[int]] = {}
        for sig_id, demand_id in db.session.execute(
            select(SignatureDemand.signature_id, SignatureDemand.demand_id).where(
                SignatureDemand.signature_id.in_(ids)
            )
        ):
            signed.setdefault(sig_id, []).append(positions.get(demand_id, 0))
        for row in batch:
            record = {
                "export_id": export_id,
                "signature_id": row.id,
                "name": row.name,
                "email": row.email,
                "country": row.country,
                "region": row.region,
                "affiliation": row.affiliation,
                "state": row.state,
                "display": row.display,
                "name_in_letters": row.name_in_letters,
                "updates": row.updates,
                "locale": row.locale,
                "demands": " ".join(str(p) for p in sorted(signed.get(row.id, []))),
                "signed_at": _stamp(row.created_at),
                "confirmed_at": _stamp(row.confirmed_at),
            }
            yield {k: record[k] for k in cols}
        last = ids[-1]


def _stamp(value: datetime | None) -> str:
    return value.replace(microsecond=0).isoformat() + "Z" if value else ""


def _chunks(parts: Iterator[str], size: int = 64 * 1024) -> Iterator[str]:
    # Many small writes make a slow stream; send about 64 KB at a time.
    buffer: list[str] = []
    length = 0
    for part in parts:
        buffer.append(part)
        length += len(part)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


def render(records: Iterator[dict], fmt: str, cols: list[str]) -> Iterator[str]:
    """The export as text chunks: CSV (formula-safe, BOM) or JSON Lines."""
    if fmt == "csv":
        yield from _chunks(csv_lines(cols, ([r[c] for c in cols] for r in records)))
        return
    yield from _chunks(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def file_name(campaign: Campaign, export_id: str, fmt: str) -> str:
    """``<slug>-<export id>.csv`` or ``.jsonl``."""
    return f"{campaign.slug}-{export_id}.{fmt}"
