"""Organisers' forms for paper batches: the batch's details, and its rows as typed.

The rows are plain numbered inputs (``name-3``, ``country-3``, ``demand-3`` …) so that a
sheet is typed with the keyboard alone, row by row, and a refused batch comes back with
every row as it was typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from campaign.campaigns.staff_forms import REQUIRED
from campaign.signatures.paper import CountRow, Entry
from campaign.validation import CleanText, DateInRange

ROWS_STEP = 10
ROWS_MAX = 500


class BatchForm(FlaskForm):
    """Where, when and by whom the sheets were collected, and how many there are."""

    collected_on = DateField(
        _l("Collected on"), validators=[InputRequired(REQUIRED), DateInRange()]
    )
    place = StringField(
        _l("Where"),
        description=_l("The vigil, meeting or place, as precisely as is safe to record."),
        validators=[DataRequired(REQUIRED), Length(max=200), CleanText()],
    )
    collected_by = StringField(
        _l("Collected by"), validators=[DataRequired(REQUIRED), Length(max=200), CleanText()]
    )
    sheets = IntegerField(
        _l("Number of sheets"),
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=100000)],
    )
    file = FileField(_l("CSV file"))


class InvalidateForm(FlaskForm):
    """Why a whole batch no longer counts."""

    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(REQUIRED), Length(max=2000), CleanText(True)]
    )


def row_count(data: MultiDict, at_least: int) -> int:
    """How many rows the form shows: those sent, ten more when asked, at least ``at_least``."""
    try:
        sent = int(data.get("rows", 0))
    except ValueError:
        sent = 0
    rows = max(sent, at_least, ROWS_STEP)
    if "more" in data:
        rows += ROWS_STEP
    return min(rows, ROWS_MAX)


def _flag(data: MultiDict, name: str) -> bool:
    return data.get(name) in ("y", "on", "1")


def _positions(values: list[str]) -> list[int]:
    return [int(v) if v.isdigit() else -1 for v in values]


def entries_from(data: MultiDict, rows: int) -> list[Entry]:
    """The named rows as typed; a row with nothing in it is not an entry."""
    entries = []
    for i in range(1, rows + 1):
        entry = Entry(
            line=i,
            name=data.get(f"name-{i}", ""),
            country=data.get(f"country-{i}", ""),
            region=data.get(f"city-{i}", ""),
            demand_positions=_positions(data.getlist(f"demand-{i}")),
            name_in_letters=_flag(data, f"named-{i}"),
            updates=_flag(data, f"updates-{i}"),
            email=data.get(f"email-{i}", ""),
        )
        if any((entry.name.strip(), entry.country.strip(), entry.region.strip(),
                entry.email.strip(), entry.demand_positions)):  # fmt: skip
            entries.append(entry)
    return entries


def _number(value: str) -> int:
    value = (value or "").strip()
    if not value:
        return 0
    return int(value) if value.isdigit() else -1


def count_rows_from(data: MultiDict, rows: int, positions: list[int]) -> list[CountRow]:
    """The counts-only rows as typed; an empty row is not a row."""
    found = []
    for i in range(1, rows + 1):
        per = {p: _number(data.get(f"d{p}-{i}", "")) for p in positions}
        people = _number(data.get(f"people-{i}", ""))
        country = data.get(f"country-{i}", "")
        if people or country.strip() or any(per.values()):
            found.append(CountRow(i, country, people, {p: n for p, n in per.items() if n}))
    return found
