"""Time helpers: every stored time is naive UTC, whatever the database."""

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_date(value: object) -> date:
    """A day from SQL ``date(...)``: a date, a datetime, or text on SQLite."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
