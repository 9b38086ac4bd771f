"""Paper signatures: sheets collected at vigils and meetings, entered by batch.

People sign on paper because they will not type their address into anything. Organisers
enter the sheets as a batch (where, when, by whom, how many sheets), either one entry per
person, typed or imported from CSV, or numbers only, per country and demand, for people who
must not be named anywhere. A batch is confirmed by being entered (by staff, audited), not
by mail. Named entries are signatures with source ``paper``: they count, are named in
letters when the person ticked that box, and are exported with their source. Counts-only
batches add to the tallies and to nothing else. A batch can be corrected or invalidated
with a reason; every change is in the audit trail, which is its history.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError
from sqlalchemy import or_, select

from campaign import audit
from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign
from campaign.countries import country_lookup
from campaign.emails import canonical_mailbox, normalise_email
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.names import sort_key
from campaign.signatures import counts
from campaign.signatures.models import PaperBatch, PaperCount, Signature, SignatureDemand
from campaign.timeutil import utcnow
from campaign.validation import text_problem

# An address no mail can reach (RFC 2606): the stand-in for a paper signer without one.
NO_ADDRESS_DOMAIN = "paper.invalid"
NAME_MAX = 200
TEXT_MAX = 200
CSV_COLUMNS = ("name", "country", "city", "demands", "named", "updates", "email")
YES = {"1", "y", "yes", "x", "true", "✓", "是", "是的", "有"}


class PaperError(RefusedError):
    """A batch that cannot be saved; ``problems`` lists ``(line, code)``, line 0 the batch."""

    def __init__(self, code: str, problems: list[tuple[int, str]] | None = None) -> None:
        super().__init__(code)
        self.problems = problems or []


@dataclass
class BatchDetails:
    """Where, when and by whom the sheets were collected, and how many there are."""

    collected_on: date
    place: str
    collected_by: str
    sheets: int


@dataclass
class Entry:
    """One person on a sheet, as typed (``line`` numbers what the organiser sees)."""

    line: int
    name: str
    country: str  # as typed: a code, or a name in any of the three languages
    region: str = ""
    demand_positions: list[int] = field(default_factory=list)
    name_in_letters: bool = False
    updates: bool = False
    email: str = ""


@dataclass
class CountRow:
    """People from one country ("" when the sheets did not say) and how many signed each
    demand (by position)."""

    line: int
    country: str
    people: int
    per_demand: dict[int, int] = field(default_factory=dict)


def _clean(value: str, limit: int) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > limit or (value and text_problem(value, False, True)):
        return None
    return value


def parse_csv(text: str) -> tuple[list[Entry], list[tuple[int, str]]]:
    """Entries from a CSV export of typed sheets (columns ``CSV_COLUMNS``, header first).

    ``demands`` holds the positions of the demands signed, separated by spaces, commas or
    semicolons. Returns the entries and ``(line, code)`` problems of the file itself.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("name", "country", "demands") if c not in header]
    if missing:
        return [], [(1, "csv_header")]
    reader.fieldnames = header
    entries = []
    for row in reader:
        get = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(get.values()):
            continue
        positions = []
        for part in get.get("demands", "").replace(";", " ").replace(",", " ").split():
            positions.append(int(part) if part.isdigit() else -1)
        entries.append(
            Entry(
                line=reader.line_num,
                name=get.get("name", ""),
                country=get.get("country", ""),
                region=get.get("city", ""),
                demand_positions=positions,
                name_in_letters=get.get("named", "").lower() in YES,
                updates=get.get("updates", "").lower() in YES,
                email=get.get("email", ""),
            )
        )
    return entries, []


def _positions(campaign: Campaign) -> dict[int, int]:
    """Demand id by position, of the demands one may still sign."""
    return {d.position: d.id for d in campaign.demands if not d.retired}


def _check_details(details: BatchDetails) -> list[tuple[int, str]]:
    problems = []
    if _clean(details.place, TEXT_MAX) in (None, ""):
        problems.append((0, "place"))
    if _clean(details.collected_by, TEXT_MAX) in (None, ""):
        problems.append((0, "collected_by"))
    if details.sheets < 0:
        problems.append((0, "sheets"))
    return problems


@dataclass
class _Checked:
    entry: Entry
    name: str
    country: str
    region: str
    demand_ids: list[int]
    email: str


def _check_entries(
    campaign: Campaign, entries: list[Entry], batch_id: int | None
) -> tuple[list[_Checked], list[tuple[int, str]]]:
    positions = _positions(campaign)
    checked, problems, seen = [], [], set()
    for e in entries:
        name = _clean(e.name, NAME_MAX)
        if not name:
            problems.append((e.line, "name" if name == "" else "text"))
            continue
        country = country_lookup(e.country)
        if country is None:
            problems.append((e.line, "country"))
            continue
        region = _clean(e.region, TEXT_MAX)
        if region is None:
            problems.append((e.line, "text"))
            continue
        if not e.demand_positions or any(p not in positions for p in e.demand_positions):
            problems.append((e.line, "demands"))
            continue
        email = ""
        if e.email.strip():
            try:
                email = normalise_email(e.email)
            except EmailNotValidError:
                problems.append((e.line, "email"))
                continue
            query = select(Signature.id).where(
                Signature.campaign_id == campaign.id, Signature.email == email
            )
            if batch_id is not None:  # a correction: the batch's own entries are replaced
                query = query.where(
                    or_(Signature.batch_id.is_(None), Signature.batch_id != batch_id)
                )
            taken = db.session.scalar(query)
            if taken or email in seen:
                problems.append((e.line, "email_taken"))
                continue
            seen.add(email)
        elif e.updates:
            problems.append((e.line, "updates_without_email"))
            continue
        ids = sorted({positions[p] for p in e.demand_positions})
        checked.append(_Checked(e, name, country, region, ids, email))
    if not checked and not problems:
        problems.append((0, "empty"))
    return checked, problems


def _check_rows(
    campaign: Campaign, rows: list[CountRow]
) -> tuple[list[PaperCount], list[tuple[int, str]]]:
    positions = _positions(campaign)
    made, problems, countries = [], [], set()
    for row in rows:
        country = "" if not row.country.strip() else country_lookup(row.country)
        if country is None:
            problems.append((row.line, "country"))
            continue
        if country in countries:
            problems.append((row.line, "country_twice"))
            continue
        countries.add(country)
        if row.people < 0 or any(n < 0 for n in row.per_demand.values()):
            problems.append((row.line, "negative"))
            continue
        if any(n > row.people for n in row.per_demand.values()):
            problems.append((row.line, "more_than_people"))
            continue
        if any(p not in positions for p in row.per_demand):
            problems.append((row.line, "demands"))
            continue
        if row.people == 0:
            continue
        made.append(PaperCount(country=country, demand_id=None, n=row.people))
        made += [
            PaperCount(country=country, demand_id=positions[p], n=n)
            for p, n in sorted(row.per_demand.items())
            if n
        ]
    if not made and not problems:
        problems.append((0, "empty"))
    return made, problems


def _no_address() -> str:
    return f"paper-{secrets.token_hex(12)}@{NO_ADDRESS_DOMAIN}"


def _add_entries(campaign: Campaign, batch: PaperBatch, checked: list[_Checked]) -> None:
    now = batch.updated_at or utcnow()
    until = counts.counting_until(campaign)
    for c in checked:
        sig = Signature(
            campaign_id=campaign.id,
            email=c.email or _no_address(),
            # Never grouped with others by the moderators' per-domain views.
            email_domain=c.email.rpartition("@")[2] if c.email else "",
            mailbox_key=canonical_mailbox(c.email) if c.email else "",
            name=c.name,
            sort_name=sort_key(c.name),
            country=c.country,
            region=c.region,
            # A sheet does not ask how to be shown on the site: paper signers are not.
            display="anonymous",
            name_in_letters=c.entry.name_in_letters,
            updates=c.entry.updates and bool(c.email),
            locale=campaign.source_locale,
            state="confirmed",
            confirmed_at=now,
            source="paper",
            batch_id=batch.id,
            demands=[SignatureDemand(demand_id=d, confirmed_at=now) for d in c.demand_ids],
        )
        db.session.add(sig)
        db.session.flush()
        counts.record(campaign.id, None, counts.contribution(sig, until))


def _remove_entries(batch: PaperBatch) -> int:
    ids = db.session.scalars(select(Signature.id).where(Signature.batch_id == batch.id)).all()
    counts.record_removed(counts.contributions(ids, counts.until_of_all()))
    for sig in db.session.scalars(select(Signature).where(Signature.id.in_(ids))):
        db.session.delete(sig)
    db.session.flush()
    return len(ids)


def _count_batch(campaign: Campaign, batch: PaperBatch, sign: int) -> None:
    if counts.batch_counts(batch, counts.counting_until(campaign)):
        counts.record_rows(campaign.id, counts.batch_rows(batch, sign))


def _refuse(problems: list[tuple[int, str]]) -> None:
    if problems:
        raise PaperError("invalid", sorted(problems))


def save_batch(
    campaign: Campaign,
    details: BatchDetails,
    actor: object,
    *,
    entries: list[Entry] | None = None,
    rows: list[CountRow] | None = None,
    batch: PaperBatch | None = None,
) -> PaperBatch:
    """Enter a new batch (``batch`` None) or correct one; the caller commits.

    ``entries`` make a named batch, ``rows`` a counts-only one. Nothing is stored unless
    every line is right: ``PaperError.problems`` names each wrong one. A correction
    replaces the batch's entries or numbers as a whole, and counts move by the difference.
    """
    kind = "named" if entries is not None else "counts"
    if batch is not None and batch.state != "active":
        raise PaperError("invalidated")
    problems = _check_details(details)
    if kind == "named":
        checked, found = _check_entries(campaign, entries or [], batch.id if batch else None)
    else:
        made, found = _check_rows(campaign, rows or [])
    _refuse(problems + found)
    before = _summary(batch) if batch is not None else None
    now = utcnow()
    if batch is None:
        batch = PaperBatch(
            campaign_id=campaign.id, kind=kind, created_by=getattr(actor, "id", None)
        )
        batch.created_at = now
        db.session.add(batch)
    elif kind == "named":
        _remove_entries(batch)
    else:
        _count_batch(campaign, batch, -1)
        batch.counts = []
        db.session.flush()
    batch.collected_on = details.collected_on
    batch.place = _clean(details.place, TEXT_MAX)
    batch.collected_by = _clean(details.collected_by, TEXT_MAX)
    batch.sheets = details.sheets
    batch.updated_at = now
    db.session.flush()
    if kind == "named":
        _add_entries(campaign, batch, checked)
    else:
        batch.counts = made
        db.session.flush()
        _count_batch(campaign, batch, 1)
    after = _summary(batch)
    if before is None:
        audit.record(actor, "paper_batch", batch.id, "paper_batch_entered", **after)
    else:
        changed = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        audit.record(actor, "paper_batch", batch.id, "paper_batch_corrected", **changed)
    counts.clear_cache()
    return batch


def _summary(batch: PaperBatch) -> dict:
    """What the audit trail keeps of a batch: its details and sizes, never a name."""
    summary = {
        "kind": batch.kind,
        "collected_on": batch.collected_on.isoformat(),
        "place": batch.place,
        "collected_by": batch.collected_by,
        "sheets": batch.sheets,
    }
    if batch.kind == "named":
        entries = db.session.scalars(select(Signature).where(Signature.batch_id == batch.id)).all()
        summary["entries"] = len(entries)
        summary["named_in_letters"] = sum(1 for s in entries if s.name_in_letters)
    else:
        summary["people"] = sum(c.n for c in batch.counts if c.demand_id is None)
    return summary


def invalidate_batch(campaign: Campaign, batch: PaperBatch, reason: str, actor: object) -> None:
    """Take a whole batch out of the counts, with a reason (audited); the caller commits.

    Its entries are kept, invalidated, as online signatures are: the record of what was
    entered stays, and nothing of it counts or is named again.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise PaperError("reason")
    if batch.state != "active":
        raise PaperError("invalidated")
    if batch.kind == "named":
        ids = db.session.scalars(select(Signature.id).where(Signature.batch_id == batch.id)).all()
        counts.record_removed(counts.contributions(ids, counts.until_of_all()))
        for sig in db.session.scalars(select(Signature).where(Signature.id.in_(ids))):
            sig.state = "invalidated"
    else:
        _count_batch(campaign, batch, -1)
    batch.state = "invalidated"
    batch.invalid_reason = reason
    audit.record(actor, "paper_batch", batch.id, "paper_batch_invalidated", reason)
    counts.clear_cache()


def batches(campaign: Campaign) -> list[tuple[PaperBatch, int]]:
    """The campaign's batches, newest first, each with the people it holds."""
    rows = db.session.scalars(
        select(PaperBatch)
        .where(PaperBatch.campaign_id == campaign.id)
        .order_by(PaperBatch.created_at.desc(), PaperBatch.id.desc())
    ).all()
    return [(b, batch_people(b)) for b in rows]


def batch_people(batch: PaperBatch) -> int:
    """How many people a batch holds (entries, or the people counted)."""
    if batch.kind == "counts":
        return sum(c.n for c in batch.counts if c.demand_id is None)
    return len(entries_of(batch))


def entries_of(batch: PaperBatch) -> list[Signature]:
    """A named batch's entries, in the order they were typed."""
    return list(
        db.session.scalars(
            select(Signature).where(Signature.batch_id == batch.id).order_by(Signature.id)
        )
    )


def history(batch: PaperBatch) -> list[ModerationEvent]:
    """Who entered, corrected and invalidated the batch, and what changed, oldest first."""
    return list(
        db.session.scalars(
            select(ModerationEvent)
            .where(
                ModerationEvent.object_type == "paper_batch",
                ModerationEvent.object_id == str(batch.id),
            )
            .order_by(ModerationEvent.id)
        )
    )
