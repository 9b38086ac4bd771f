"""Fixtures of the fault tests: real parts (an SMTP server, PostgreSQL, gunicorn) that fail."""

from __future__ import annotations

import pytest


@pytest.fixture
def postgres(app):
    """Skip unless the suite runs on PostgreSQL (``TEST_DATABASE_URL``)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (.ci/run does)")
    return app
