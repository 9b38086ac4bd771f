"""Site-wide switches kept in the database, so every worker sees the same value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.timeutil import utcnow

SIGNING_PAUSED = "signing_paused"
# Holds the time counting was paused (ISO 8601); counts ignore later confirmations.
COUNTING_PAUSED = "counting_paused_at"
# When a worker last finished a pass (ISO 8601), for ``/readyz``.
WORKER_SEEN = "worker_seen_at"


class Setting(db.Model):
    """One named value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def get_setting(key: str) -> str:
    """The value of ``key``, or an empty string."""
    row = db.session.get(Setting, key)
    return row.value if row else ""


def set_setting(key: str, value: str) -> None:
    """Store ``value`` under ``key`` (the caller commits)."""
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value


def signing_paused() -> bool:
    """Whether the signing form is closed for now."""
    return get_setting(SIGNING_PAUSED) == "1"


def counting_paused_at() -> datetime | None:
    """When counting was paused, or None."""
    value = get_setting(COUNTING_PAUSED)
    return datetime.fromisoformat(value) if value else None


def switch_state() -> dict:
    """Both switches, for the dashboard."""
    return {"signing_paused": signing_paused(), "counting_paused_at": counting_paused_at()}


def note_worker_alive(now: datetime | None = None) -> None:
    """Record that a worker is running (the caller commits)."""
    set_setting(WORKER_SEEN, (now or utcnow()).isoformat())


def worker_seen_at() -> datetime | None:
    """When a worker last said it was running, or None if none ever did."""
    value = get_setting(WORKER_SEEN)
    return datetime.fromisoformat(value) if value else None
