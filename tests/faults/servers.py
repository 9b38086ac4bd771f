"""Real processes for the fault tests: gunicorn serving an instance folder, found and killed."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The suite signs from one address many times a second: no limit may refuse it here.
UNLIMITED = {
    name: "1000000 per minute"
    for name in (
        "LIMIT_SIGN_PER_ADDRESS", "LIMIT_SIGN_PER_MAILBOX", "LIMIT_SIGN_GLOBAL",
        "LIMIT_CONFIRM_PER_ADDRESS", "LIMIT_FORMS_PER_ADDRESS",
    )
}  # fmt: skip


def production_env(instance: Path, database: str, base: str, **extra: str) -> dict[str, str]:
    """The environment of a production process on ``instance``'s database and folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN", "TEST_"))}
    env.pop("REDIS_URL", None)
    env.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(24),
        DATABASE_URL=database,
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(instance / "mail"),
        PACKET_DIR=str(instance / "packets"),
        UPLOAD_DIR=str(instance / "uploads"),
        PUBLIC_URL=base,
        TRUSTED_HOSTS="127.0.0.1",
        SESSION_COOKIE_SECURE="false",
        COUNT_CACHE_SECONDS="0",
        **UNLIMITED,
    )
    env.update(extra)
    return env


def wait_until_up(port: int, timeout: float = 30) -> None:
    """Return once something answers ``/healthz`` on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise AssertionError(f"nothing answered on port {port}")


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[int]:
    """A gunicorn master with ``workers`` sync workers on ``port``; yields the master's pid."""
    empty = log.parent / "gunicorn.conf.py"
    empty.touch()  # ignore any configuration in the project
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(empty), "--bind",
             f"127.0.0.1:{port}", "--workers", str(workers), "--graceful-timeout", "2",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_up(port)
            yield server.pid
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers, for its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (name) state ppid ...": the name may hold spaces, so split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def kill(pid: int) -> None:
    """SIGKILL: no clean-up, no finally blocks, as the kernel's OOM killer would."""
    os.kill(pid, signal.SIGKILL)


def post_form(port: int, path: str, data: dict, timeout: float = 10) -> int | None:
    """POST a form as a browser on this site would; the status, or None if none came."""
    body = urllib.parse.urlencode(data, doseq=True)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "same-origin",
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


# `make serve`'s gunicorn: the project's gunicorn.conf.py, HOST and PORT from the env.
AS_SERVED = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def served(env: dict[str, str], output: int | object = subprocess.DEVNULL) -> subprocess.Popen:
    """gunicorn started as `make serve` starts it (``output``: a file or DEVNULL)."""
    return subprocess.Popen(AS_SERVED, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def prepare(env: dict[str, str], *steps: list[str], stdin: str = "") -> None:
    """`make db`'s migrations and seed on ``env``'s database, then any further commands."""
    for step in (["db", "upgrade"], ["campaign", "seed"], *steps):
        done = subprocess.run([*FLASK, *step], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    """GET ``path`` on ``port``: the status and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()
