"""Background jobs: rows in the database, run by the one worker (``flask worker``).

A job is enqueued in the same transaction as the work that asks for it, so it exists
exactly when that work was committed. The worker claims a due job with a lease; a job whose
worker died (killed, recycled) is claimed again once its lease runs out, so handlers are
written to be run again safely: each checks what is already done and carries on from there.
A failure is retried with back-off, then kept as ``failed`` with its error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.timeutil import utcnow

log = logging.getLogger(__name__)

JOB_STATES = ("queued", "running", "done", "failed")
# A running job is given back to the queue when its worker has not finished it by then.
LEASE = timedelta(minutes=15)


class Job(db.Model):
    """One piece of background work."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state_valid"),
        Index("ix_jobs_due", "state", "run_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))  # the name a handler registered
    payload: Mapped[str] = mapped_column(Text, default="{}")  # JSON keyword arguments
    state: Mapped[str] = mapped_column(String(10), default="queued")
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    # Until when the worker that claimed it holds it; past that, another may take it.
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


_HANDLERS: dict[str, Callable[..., None]] = {}
# Kinds whose payload holds personal data (an e-mail address): emptied once the job ends.
_PERSONAL: set[str] = set()


def handler(
    kind: str, personal: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register the function that runs jobs of ``kind`` (called with the payload).

    With ``personal``, the payload is emptied when the job is done or has failed for good,
    so the jobs table keeps no address beyond the seconds the work takes.
    """

    def register(function: Callable[..., None]) -> Callable[..., None]:
        if _HANDLERS.get(kind, function) is not function:
            raise ValueError(f"two handlers for job kind {kind!r}")
        _HANDLERS[kind] = function
        if personal:
            _PERSONAL.add(kind)
        return function

    return register


def enqueue(kind: str, run_at: datetime | None = None, **payload: object) -> Job:
    """Add a job to the session; it exists once the caller commits."""
    job = Job(kind=kind, payload=json.dumps(payload, sort_keys=True), run_at=run_at or utcnow())
    db.session.add(job)
    return job


def backoff(attempts: int, cap: timedelta = timedelta(hours=1)) -> timedelta:
    """Delay before failed work runs again: 30 s, 1 min, 2 min, ... capped at ``cap``.

    Jobs (one hour) and mail (six hours, ``mail.outbox.backoff``) share it.
    """
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), cap)


def _claim(job_id: int, now: datetime) -> bool:
    taken = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.run_at <= now)
        .where((Job.state == "queued") | ((Job.state == "running") & (Job.locked_until < now)))
        .values(state="running", locked_until=now + LEASE, attempts=Job.attempts + 1)
    ).rowcount
    db.session.commit()
    return taken == 1


def due_ids(limit: int, now: datetime) -> list[int]:
    """Ids of jobs that may run now, oldest first (abandoned running ones included)."""
    return list(
        db.session.scalars(
            select(Job.id)
            .where(Job.run_at <= now)
            .where((Job.state == "queued") | ((Job.state == "running") & (Job.locked_until < now)))
            .order_by(Job.run_at, Job.id)
            .limit(limit)
        )
    )


def run_due(limit: int = 20) -> int:
    """Run up to ``limit`` due jobs, each in transactions of its own; returns how many ran."""
    now = utcnow()
    ids = due_ids(limit, now)
    db.session.commit()
    ran = 0
    for job_id in ids:
        if not _claim(job_id, utcnow()):
            continue  # another worker took it
        job = db.session.get(Job, job_id)
        kind, payload = job.kind, json.loads(job.payload)
        attempts, most = job.attempts, job.max_attempts
        db.session.commit()
        run = _HANDLERS.get(kind)
        try:
            if run is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            run(**payload)
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - a failed job is recorded, never lost
            db.session.rollback()
            log.exception("job %s (%s) failed, attempt %s", job_id, kind, attempts)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if attempts >= most:
                values = {"state": "failed", "finished_at": utcnow(), **_forget(kind)}
            else:
                values = {"state": "queued", "run_at": utcnow() + backoff(attempts)}
            _finish(job_id, last_error=error, locked_until=None, **values)
        else:
            _finish(
                job_id,
                state="done",
                finished_at=utcnow(),
                locked_until=None,
                last_error="",
                **_forget(kind),
            )
        ran += 1
    return ran


def _forget(kind: str) -> dict[str, str]:
    return {"payload": "{}"} if kind in _PERSONAL else {}


def _finish(job_id: int, **values: object) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(**values))
    db.session.commit()


def purge_finished(days: int) -> int:
    """Delete jobs done more than ``days`` ago (failed ones stay for a person to look at)."""
    cutoff = utcnow() - timedelta(days=days)
    return db.session.execute(
        Job.__table__.delete().where(Job.state == "done", Job.finished_at < cutoff)
    ).rowcount
