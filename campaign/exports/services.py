"""Signature exports: filtered, streamed, traceable.

Every export gets an identifier that is in its file name and in a column of every row,
and an audit event (who, which filter, how many rows) is written before the first byte
leaves, so a leaked file can be traced to the person who made it.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, Select, String, case, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from campaign import audit
from campaign.campaigns.models import Campaign, Demand
from campaign.countries import country_codes
from campaign.csvsafe import FORMULA_START, bom_writer, safe_cell
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.signatures.models import Signature, SignatureDemand
from campaign.validation import DATE_MAX, DATE_MIN

FORMATS = ("csv", "jsonl")
STATES = ("confirmed", "unconfirmed", "held", "invalidated")
BATCH = 2000
# The order of the file's columns: "demands" comes just before the two times.
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
    "source",  # online, or paper (typed in from a sheet)
    "paper_batch",  # the batch a paper signature was entered in
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


class ExportError(RefusedError):
    """Filters that cannot be applied: ``no_demand``, ``bad_state``, ``bad_country``,
    ``bad_date`` or ``reversed``."""


def make_filter(
    campaign: Campaign,
    *,
    demand_id: int | None = None,
    demand_position: int | None = None,
    state: str = "confirmed",
    country: str | None = None,
    signed_from: date | None = None,
    signed_until: date | None = None,
    include_email: bool = False,
) -> ExportFilter:
    """The one place export filters are checked, for the staff page and the CLI alike.

    A demand is named by its id (the page) or its position (the CLI); ``state`` may be
    ``any``; dates are inclusive and bounded like every date a person types.
    """
    if demand_position is not None:
        match = [d.id for d in campaign.demands if d.position == demand_position]
        if not match:
            raise ExportError("no_demand")
        demand_id = match[0]
    if demand_id is not None and demand_id not in {d.id for d in campaign.demands}:
        raise ExportError("no_demand")
    if state not in (*STATES, "any"):
        raise ExportError("bad_state")
    country = country.strip().upper() if country else None
    if country and country not in country_codes():
        raise ExportError("bad_country")
    for day in (signed_from, signed_until):
        if day is not None and not DATE_MIN <= day <= DATE_MAX:
            raise ExportError("bad_date")
    if signed_from and signed_until and signed_until < signed_from:
        raise ExportError("reversed")
    return ExportFilter(
        demand_id=demand_id,
        state=None if state == "any" else state,
        country=country,
        signed_from=signed_from,
        signed_until=signed_until,
        include_email=include_email,
    )


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

    The caller commits, then streams ``export_batches``.
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


# Columns whose text comes from the public and could start a spreadsheet formula.
_FREE_TEXT = {"name", "email", "region", "affiliation"}


def export_batches(campaign: Campaign, flt: ExportFilter, export_id: str) -> Iterator[list[list]]:
    """Matching signatures as rows in ``columns(flt)`` order, in id order, a batch at a time.

    Keyset pages (``id > last``) of plain rows rather than ORM objects: memory stays flat
    and the query is the same on SQLite and PostgreSQL.
    """
    positions = dict(
        db.session.execute(
            select(Demand.id, Demand.position).where(Demand.campaign_id == campaign.id)
        ).all()
    )
    where = _conditions(campaign, flt)
    cols = columns(flt)
    fields = {
        "signature_id": Signature.id, "name": Signature.name, "email": Signature.email,
        "country": Signature.country, "region": Signature.region,
        "affiliation": Signature.affiliation, "state": Signature.state,
        "display": Signature.display, "name_in_letters": _flag(Signature.name_in_letters),
        "updates": _flag(Signature.updates), "locale": Signature.locale,
        # Read as text: SQLite stores ISO text, and parsing it into datetimes only to
        # print it again was a third of the export's time. PostgreSQL returns datetimes.
        "signed_at": type_coerce(Signature.created_at, String),
        "confirmed_at": type_coerce(Signature.confirmed_at, String),
        "source": Signature.source, "paper_batch": Signature.batch_id,
    }  # fmt: skip
    selected = [c for c in cols if c in fields]
    stmt = select(*(fields[c] for c in selected)).order_by(Signature.id).limit(BATCH)
    links = select(SignatureDemand.signature_id, SignatureDemand.demand_id)
    conn = db.session.connection()
    last = 0
    while True:
        batch = _plain_rows(conn, stmt.where(*where, Signature.id > last))
        if not batch:
            return
        first, last = last, batch[-1][0]
        signed: dict[int, list[int]] = {}
        # The batch's id range, not an IN list of its ids: one index range, no parameters
        # per row (links of signatures the filter left out are simply never looked up).
        span = (SignatureDemand.signature_id > first, SignatureDemand.signature_id <= last)
        for sig_id, demand_id in _plain_rows(conn, links.where(*span)):
            signed.setdefault(sig_id, []).append(positions.get(demand_id, 0))
        yield [
            [
                export_id,
                *row[:-2],
                " ".join(map(str, sorted(signed.get(row[0], ())))),
                _stamp(row[-2]),
                _stamp(row[-1]),
            ]
            for row in batch
        ]


def _flag(column: ColumnElement) -> ColumnElement:
    """A boolean as the export prints it, ``True`` or ``False``, on every database."""
    return case((column.is_(True), "True"), else_="False")


def _plain_rows(conn: Connection, stmt: Select) -> list[tuple]:
    """The rows as the database driver returns them: parameters are bound as usual, but no
    result row objects are built (that was most of a large export's time). Only for
    columns whose driver values are what the export prints: text, numbers, booleans."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _stamp(value: object) -> str:
    """``2026-11-20T10:00:00Z`` from SQLite's text or PostgreSQL's datetime."""
    if not value:
        return ""
    if isinstance(value, str):
        return value[:19].replace(" ", "T") + "Z"
    return f"{value:%Y-%m-%dT%H:%M:%SZ}"


def render(batches: Iterator[list[list]], fmt: str, cols: list[str]) -> Iterator[str]:
    """The export as text chunks of a batch each: CSV (formula-safe, BOM) or JSON Lines."""
    if fmt == "jsonl":
        for rows in batches:
            yield "".join(
                json.dumps(dict(zip(cols, r, strict=True)), ensure_ascii=False) + "\n" for r in rows
            )
        return
    risky = [i for i, c in enumerate(cols) if c in _FREE_TEXT]
    buffer = io.StringIO()
    writer = bom_writer(buffer)
    writer.writerow(cols)
    for rows in batches:
        for row in rows:
            for i in risky:
                if row[i].startswith(FORMULA_START):
                    row[i] = safe_cell(row[i])
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def file_name(campaign: Campaign, export_id: str, fmt: str) -> str:
    """``<slug>-<export id>.csv`` or ``.jsonl``."""
    return f"{campaign.slug}-{export_id}.{fmt}"
