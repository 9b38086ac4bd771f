"""Starting like production: gunicorn's configuration, and two servers starting at once."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import free_port
from tests.faults.servers import production_env, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _start_steps(env: dict) -> subprocess.Popen:
    """What `make serve` runs before gunicorn: the migrations, then the seed."""
    flask = f"{sys.executable} -m flask --app wsgi"
    return subprocess.Popen(
        ["/bin/sh", "-c", f"{flask} db upgrade && {flask} campaign seed"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _both_at_once(env: dict) -> list[tuple[int, str]]:
    started = [_start_steps(env), _start_steps(env)]
    results = []
    for process in started:
        output, _ = process.communicate(timeout=180)
        results.append((process.returncode, output.decode()))
    return results


def _assert_one_of_each(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM campaigns")) == 1
            assert connection.scalar(text("SELECT count(*) FROM visits")) == 1
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()


def test_two_servers_starting_at_once_on_sqlite_migrate_and_seed_once(tmp_path):
    database = f"sqlite:///{tmp_path / 'app.db'}"
    results = _both_at_once(production_env(tmp_path, database, "http://127.0.0.1"))
    assert [code for code, _ in results] == [0, 0], results
    outputs = "".join(out for _, out in results)
    assert outputs.count("Loaded campaign") == 1
    assert outputs.count("Already present: campaign") == 1
    _assert_one_of_each(database)


@pytest.fixture
def fresh_postgres():
    """A PostgreSQL database of its own, dropped afterwards; skipped without PostgreSQL."""
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (.ci/run does)")
    name = f"deploy_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_servers_starting_at_once_on_postgresql_migrate_and_seed_once(tmp_path, fresh_postgres):
    results = _both_at_once(production_env(tmp_path, fresh_postgres, "http://127.0.0.1"))
    assert [code for code, _ in results] == [0, 0], results
    _assert_one_of_each(fresh_postgres)


def test_the_gunicorn_configuration_is_valid_and_logs_no_address_or_query(tmp_path):
    database = f"sqlite:///{tmp_path / 'app.db'}"
    port = free_port()
    env = production_env(tmp_path, database, f"http://127.0.0.1:{port}",
                         HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2")  # fmt: skip
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
    checked = subprocess.run([*gunicorn, "--check-config", "wsgi:app"], cwd=ROOT, env=env,
                             capture_output=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert _both_at_once(env)[0][0] == 0
    log = tmp_path / "access.log"
    env["GUNICORN_ACCESS_LOG"] = str(log)
    server = subprocess.Popen([*gunicorn, "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until_up(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/en/privacy?email=jane%40example.org")
            assert connection.getresponse().status == 200
        finally:
            connection.close()
        deadline = time.monotonic() + 10
        while "/en/privacy" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "no access log line"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(20)
    line = next(row for row in log.read_text().splitlines() if "/en/privacy" in row)
    assert '"GET /en/privacy HTTP/1.1" 200' in line
    for secret in ("127.0.0.1", "jane", "email="):
        assert secret not in line
