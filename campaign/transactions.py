"""How a transaction begins on SQLite: read-only ones deferred, every other one IMMEDIATE.

A deferred SQLite transaction that reads and then writes fails at once with "database is
locked" when another connection committed in between (the busy timeout does not apply to
a stale snapshot); ``BEGIN IMMEDIATE`` waits for the write lock instead. So every
transaction takes the lock at ``BEGIN`` unless the code says it only reads, with
``read_only()``: ``GET`` and ``HEAD`` requests (which never write) and long reads such as a
packet build's snapshot. In WAL mode readers never block the writer, nor it them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

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
