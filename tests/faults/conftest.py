"""Fixtures of the fault tests: real parts (an SMTP server, PostgreSQL, gunicorn) that fail."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres(app):
    """Skip unless the suite runs on PostgreSQL (``TEST_DATABASE_URL``)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (.ci/run does)")
    return app
