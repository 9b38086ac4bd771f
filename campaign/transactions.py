"""How transactions begin, and how one that lost a race is run again.

On SQLite, read-only ones begin deferred, every other one IMMEDIATE.

A deferred SQLite transaction that reads and then writes fails at once with "database is
locked" when another connection committed in between (the busy timeout does not apply to
a stale snapshot); ``BEGIN IMMEDIATE`` waits for the write lock instead. So every
transaction takes the lock at ``BEGIN`` unless the code says it only reads, with
``read_only()``: ``GET`` and ``HEAD`` requests (which never write) and long reads such as a
packet build's snapshot. In WAL mode readers never block the writer, nor it them.

On PostgreSQL two transactions can deadlock (each waits for a row the other holds) or, at
a stricter isolation level, fail to serialise; the database then aborts one of them with
SQLSTATE 40P01 or 40001, and the right answer is to run it again. ``retry_conflicts`` does
that for the worker's steps, and every view answering an unsafe method is run through it,
so a supporter never sees a 500 because two writers met.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from campaign.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# Deadlock detected, serialisation failure: the database asks for the transaction again.
CONFLICT_STATES = frozenset({"40P01", "40001"})
CONFLICT_ATTEMPTS = 5

_read_only: ContextVar[bool] = ContextVar("read_only", default=False)


@contextmanager
def read_only(only: bool = True) -> Iterator[None]:
    """Transactions begun inside only read (``only=False``: they may write again)."""
    token = _read_only.set(only)
    try:
        yield
    finally:
        _read_only.reset(token)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")


def register(app: Flask) -> None:
    """Make ``GET`` and ``HEAD`` requests read-only: a mailed link's GET never writes."""

    @app.before_request
    def _reads_only() -> None:
        if request.method in ("GET", "HEAD"):
            request.environ["campaign.read_only"] = _read_only.set(True)

    @app.teardown_request
    def _done(_exc: BaseException | None) -> None:
        token = request.environ.pop("campaign.read_only", None)
        if token is not None:
            _read_only.reset(token)


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is the database aborting a transaction that may simply run again."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    # (Not SQLite's "database is locked": that comes after a 10 s busy timeout already, and
    # running a request again would pass gunicorn's timeout; the worker's next pass retries.)
    return getattr(original, "sqlstate", None) in CONFLICT_STATES


def retry_conflicts(work: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``work`` (which commits its own transaction), again after a conflict.

    The session is rolled back before each new try, with a short random pause so two
    writers that met do not meet again. Other errors, and a conflict on the last try,
    are raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not is_conflict(exc) or attempt == attempts:
                raise
            db.session.rollback()
            log.warning("transaction conflict (%s), try %s of %s", type(exc.orig).__name__,
                        attempt + 1, attempts)  # fmt: skip
            time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311 - jitter
    raise AssertionError("unreachable")


def retry_views(app: Flask) -> None:
    """Run every view again when it loses a race, for unsafe methods (GETs only read)."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def retried(*args: object, **kwargs: object) -> object:
            if request.method in ("GET", "HEAD", "OPTIONS"):
                return view(*args, **kwargs)
            return retry_conflicts(lambda: view(*args, **kwargs))

        return retried

    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = wrap(view)
