"""Several servers as one: nginx in front of two app servers and two workers, on one
PostgreSQL and one Redis. Run with `make test-integration` (`.ci/run` does); `make test`
skips this folder, because it needs PostgreSQL, Redis and nginx running here."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from tests.conftest import free_port, redis_up
from tests.deploy.configs import nginx, nginx_binary, nginx_prefix
from tests.faults.servers import FLASK, ROOT, prepare, production_env, served, wait_until_up

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# A Redis database number of its own: the unit tests use 13.
REDIS = "redis://127.0.0.1:6379/12"
STAFF = ("organiser@example.org", "a long organiser password")


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201 - pytest's hook
    """Skipped unless asked for: the suite needs real services and takes a minute."""
    if os.environ.get("CAMPAIGN_INTEGRATION") == "1":
        return
    skip = pytest.mark.skip(reason="integration suite: run `make test-integration`")
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(skip)


@dataclass
class Cluster:
    """The running parts and where they write."""

    folder: Path
    env: dict[str, str]
    database: str
    apps: tuple[int, int]
    https: int
    http: int
    servers: dict[int, subprocess.Popen] = field(default_factory=dict)
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def mail(self) -> Path:
        return Path(self.env["MAIL_FILE_DIR"])

    def sql(self, statement: str, **params: object) -> list:
        """Rows of ``statement`` on the shared database."""
        engine = create_engine(self.database)
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    def start_worker(self) -> subprocess.Popen:
        """One more `flask worker`, as systemd runs it."""
        # The child keeps its own descriptor of the log; ours closes at once.
        with (self.folder / f"worker-{len(self.workers)}.log").open("wb") as log:
            worker = subprocess.Popen(
                [*FLASK, "worker", "--interval", "0.2"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.workers.append(worker)
        return worker

    def pause_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGSTOP)

    def resume_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGCONT)

    def start_server(self, port: int) -> None:
        """An app server with `make serve`'s gunicorn configuration on ``port``."""
        env = dict(self.env, PORT=str(port), HOST="127.0.0.1")
        with (self.folder / f"gunicorn-{port}.log").open("wb") as log:
            self.servers[port] = served(env, log)
        wait_until_up(port)


def wait_for(check, timeout: float = 60, what: str = "the cluster"):  # noqa: ANN001, ANN201
    """``check()``'s first true value, polled; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """nginx, two app servers and two workers on a fresh database, Redis db 12."""
    if not redis_up() or nginx_binary() is None:
        pytest.fail("the integration suite needs Redis on 127.0.0.1:6379 and nginx")
    folder = tmp_path_factory.mktemp("cluster")
    name = f"integration_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    store = redis.Redis.from_url(REDIS)
    store.flushdb()
    http, https, onion, app1, app2 = (free_port() for _ in range(5))
    env = production_env(
        folder, database, f"https://127.0.0.1:{https}",
        REDIS_URL=REDIS, TRUSTED_PROXIES="1", COUNT_CACHE_SECONDS="1",
        WEB_CONCURRENCY="2", GUNICORN_ACCESS_LOG="/dev/null",
        LIMIT_ERASE_PER_ADDRESS="3 per hour", LIMIT_ERASE_PER_MAILBOX="100 per hour",
        CONFIRM_MAIL_INTERVAL_SECONDS="0",
    )  # fmt: skip
    prepare(env, ["users", "create", STAFF[0], "--role", "organiser"], stdin=STAFF[1] + "\n")
    found = Cluster(folder, env, database, (app1, app2), https, http)
    prefix = nginx_prefix(folder / "nginx", http, https, onion, (app1, app2))
    try:
        for port in (app1, app2):
            found.start_server(port)
        for _ in range(2):
            found.start_worker()
        with nginx(prefix, https):
            yield found
    finally:
        for process in [*found.servers.values(), *found.workers]:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.terminate()
        for process in [*found.servers.values(), *found.workers]:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        store.flushdb()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
