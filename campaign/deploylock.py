"""One process at a time through the start-up steps that change the schema or the seed.

Two app servers started together (``make serve`` on each, systemd restarting both) would
otherwise both run the migrations, or both insert the seed campaign, and one would fail.
On PostgreSQL the lock is a session-level advisory lock; on SQLite, an exclusive ``flock``
on a file beside the database. The second process waits, then finds the work done.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

# Any fixed 64-bit number: the key of the advisory lock every deployment step shares.
ADVISORY_KEY = 7_215_304_118


@contextmanager
def deploy_lock(engine: Engine) -> Iterator[None]:
    """Hold the deployment lock of ``engine``'s database while the block runs."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # one process owns an in-memory database anyway
        return
    path = Path(database).with_name(Path(database).name + ".deploy-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
