"""Benchmarks of the campaign app, each reported as a ratio to a baseline of the same run.

``python -m bench.run [--quick]`` from the project root. The machine may be shared and
noisy, so no absolute figure is meaningful alone: every figure is measured next to a
baseline (a bare Flask app, or a plain SQL query) in the same run, in alternating rounds,
and reported as ``app / baseline`` together with both absolute numbers.

1. ``page``: GET of the campaign page vs a bare Flask app rendering a ~2 KB Jinja page.
2. ``sign``: the signing POST (CSRF, validation, insert, outbox row, 303) vs a bare Flask
   POST doing one SQLAlchemy insert into SQLite in WAL mode; throughput, p50 and p99.
3. ``counts``: ``compute_counts`` as confirmed signatures grow vs ``SELECT count(*)``.

Both HTTP benchmarks use gunicorn (sync workers, 2 of them) on a free 127.0.0.1 port and
the same small multi-process client built on ``http.client``. Results are printed as a
table and written to ``bench/results/latest.json``. The exit status is 1 when anything
failed (unexpected status, connection error, error in a server log, lost signature).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, redirect, render_template, request
from jinja2 import DictLoader
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SLUG = "us-china-human-rights-2011"
PAGE_PATH = f"/en/c/{SLUG}/"
SIGN_PATH = f"/en/c/{SLUG}/sign"
API_PATH = f"/api/v1/campaigns/{SLUG}"
BARE_PAGE_PATH = "/page"
BARE_SIGN_PATH = "/sign"
BARE_DB_ENV = "BENCH_BARE_DATABASE_URL"
EMAIL_DOMAIN = "example.org"

# Flask logs one block per unhandled exception; gunicorn logs its own trouble in brackets.
_EXCEPTION_ON = re.compile(r"ERROR in app: Exception on (\S+) \[(\w+)\]")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*$", re.M)
_APP_FRAME = re.compile(r'File "' + re.escape(str(ROOT / "campaign")) + r'/([^"]+)", line (\d+)')
_GUNICORN_TROUBLE = re.compile(r"^\[[^]]+\] \[\d+\] \[(?:ERROR|CRITICAL)\] (.*)$", re.M)


def log_problems(text: str) -> dict[str, int]:
    """Classify a server log: one key per kind of failed request, and gunicorn errors.

    A request's key is its method and path, the last exception line (its SQL cut off),
    and the two deepest frames of the app's own code that raised it.
    """
    found: Counter[str] = Counter()
    blocks = _EXCEPTION_ON.split(text)
    # split() gives [before, path, method, block, path, method, block, ...]
    for i in range(1, len(blocks) - 2, 3):
        path, method, block = blocks[i], blocks[i + 1], blocks[i + 2]
        block = _GUNICORN_TROUBLE.split(block)[0]
        exceptions = _EXCEPTION_LINE.findall(block)
        last = exceptions[-1][:160] if exceptions else "unknown exception"
        frames = _APP_FRAME.findall(block)
        where = " at " + " > ".join(f"campaign/{f}:{n}" for f, n in frames[-2:]) if frames else ""
        found[f"{method} {path}: {last}{where}"] += 1
    for message in _GUNICORN_TROUBLE.findall(text):
        found[f"gunicorn: {message[:160]}"] += 1
    return dict(found)


@dataclass(frozen=True)
class Plan:
    """How long and how hard to measure."""

    name: str
    clients: int  # client processes, each with its own connection and session
    warmup_s: float  # per measurement, not counted
    measure_s: float  # per measurement
    rounds: int  # baseline/app pairs, alternating which goes first
    max_requests: int  # per client and measurement: a bound on work, whatever the speed
    count_sizes: tuple[int, ...]  # confirmed signatures present at each counting step
    count_repeats: int  # timed calls per counting step (after one untimed call)
    settle_s: float  # load on each fresh server before any measurement, not counted


QUICK = Plan("quick", 4, 0.5, 2.0, 2, 5_000, (1_000, 10_000), 5, 1.0)
FULL = Plan("full", 4, 2.0, 12.0, 5, 50_000, (10_000, 50_000, 200_000), 9, 3.0)


# --------------------------------------------------------------------------- bare app

BARE_METADATA = MetaData()
BARE_SIGNATURES = Table(
    "bare_signatures",
    BARE_METADATA,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("display", String(10), nullable=False),
    Column("demands", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

BARE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><p class="total"><strong>{{ total }}</strong> signed</p>
<ol>{% for item in items %}
<li id="demand-{{ loop.index }}"><h3>{{ item.title }}</h3><p>{{ item.text }}</p>
<p class="count"><strong>{{ item.count }}</strong> supporters</p></li>{% endfor %}
</ol></main></body></html>
"""
BARE_ITEMS = [
    {
        "title": f"Recommendation {n}: release those detained for peaceful expression",
        "text": (
            "Release everyone detained for peaceful expression, assembly and "
            f"association, and end enforced disappearances <{n}> & harassment."
        ),
        "count": 1000 * n,
    }
    for n in range(1, 8)
]


def bare_engine(url: str) -> Engine:
    """An engine with the pragmas the app uses: WAL, NORMAL sync, foreign keys, busy wait."""
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def create_bare_app() -> Flask:
    """The baseline: a ~2 KB Jinja page and a POST doing one insert (gunicorn factory)."""
    engine = bare_engine(os.environ[BARE_DB_ENV])
    app = Flask("bench_bare")
    app.jinja_loader = DictLoader({"page.html": BARE_TEMPLATE})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(BARE_PAGE_PATH)
    def page() -> str:
        return render_template("page.html", title="A bare page", total=12345, items=BARE_ITEMS)

    @app.post(BARE_SIGN_PATH)
    def sign() -> Any:
        form = request.form
        row = {
            "email": form["email"],
            "name": form["name"],
            "country": form["country"],
            "display": form.get("display", "full"),
            "demands": ",".join(form.getlist("demands")),
            "created_at": datetime.now(UTC).replace(tzinfo=None),
        }
        with engine.begin() as conn:
            conn.execute(insert(BARE_SIGNATURES).values(**row))
        return redirect(BARE_PAGE_PATH, code=303)

    return app


# --------------------------------------------------------------------------- client

_CSRF_INPUT = re.compile(rb'<input[^>]*\bname="csrf_token"[^>]*>')
_VALUE_ATTR = re.compile(rb'\bvalue="([^"]*)"')


@dataclass(frozen=True)
class ClientJob:
    """What one client process does: warm up until ``start_at``, measure until ``end_at``.

    Times are ``time.monotonic()`` values, one clock for every process on Linux.
    """

    kind: str  # "get" or "sign"
    port: int
    page_path: str
    sign_path: str
    demand_ids: tuple[int, ...]
    email_prefix: str
    start_at: float
    end_at: float
    max_requests: int
    timeout_s: float = 15.0


@dataclass
class ClientResult:
    """What one client process saw."""

    measured: int = 0  # expected answers to requests started inside the window
    latencies_ms: list[float] = field(default_factory=list)
    last_done: float = 0.0
    accepted_total: int = 0  # expected answers, warm-up included (rows that must exist)
    page_bytes: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    sample: str = ""  # the first unexpected answer, shortened

    def note(self, problem: str, detail: str) -> None:
        """Count an unexpected answer or a failed request; keep the first one's detail."""
        self.problems[problem] += 1
        if not self.sample:
            self.sample = f"{problem}: {detail[:400]}"


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> tuple[int, bytes, list[str]]:
    """One request; returns status, body and Set-Cookie headers."""
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, data, response.msg.get_all("Set-Cookie") or []


def _absorb_cookies(jar: dict[str, str], set_cookies: list[str]) -> None:
    """Keep name=value of every Set-Cookie; drop cookies being expired."""
    for header in set_cookies:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        if "max-age=0" in attributes.lower().replace(" ", ""):
            jar.pop(name, None)
        elif name:
            jar[name] = value


def _csrf_token(page: bytes) -> str:
    """The hidden ``csrf_token`` value of the first form in ``page``, or ''."""
    tag = _CSRF_INPUT.search(page)
    value = _VALUE_ATTR.search(tag.group(0)) if tag else None
    return value.group(1).decode() if value else ""


def _sign_body(job: ClientJob, n: int, csrf: str) -> bytes:
    fields = [
        ("name", f"Bench Signer {n}"),
        ("email", f"{job.email_prefix}.{n}@{EMAIL_DOMAIN}"),
        ("country", "US"),
        *[("demands", str(d)) for d in job.demand_ids],
        ("display", "full"),
        ("csrf_token", csrf),
    ]
    return urlencode(fields).encode()


def run_client(job: ClientJob) -> ClientResult:
    """Drive one server with one connection until the job's deadline or request bound.

    A ``sign`` client first GETs the page once for its session cookie and CSRF token.
    Gunicorn's sync workers close every connection, so each request reconnects.
    """
    result = ClientResult()
    conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=job.timeout_s)
    jar: dict[str, str] = {}
    csrf = ""
    if job.kind == "sign":
        try:
            status, page, cookies = _exchange(conn, "GET", job.page_path, None, {})
        except (OSError, http.client.HTTPException) as exc:
            result.note(f"setup GET {type(exc).__name__}", str(exc))
            return result
        _absorb_cookies(jar, cookies)
        csrf = _csrf_token(page)
        if status != 200:
            result.note(f"setup GET HTTP {status}", page.decode(errors="replace"))
    expected = 303 if job.kind == "sign" else 200
    attempts = 0
    while attempts < job.max_requests:
        began = time.monotonic()
        if began >= job.end_at:
            break
        attempts += 1
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        try:
            if job.kind == "sign":
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                body = _sign_body(job, attempts, csrf)
                status, data, cookies = _exchange(conn, "POST", job.sign_path, body, headers)
            else:
                status, data, cookies = _exchange(conn, "GET", job.page_path, None, headers)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            result.note(type(exc).__name__, str(exc))
            time.sleep(0.01)  # a dead server must not turn this into a busy loop
            continue
        done = time.monotonic()
        _absorb_cookies(jar, cookies)
        if status != expected:
            result.note(f"HTTP {status}", data.decode(errors="replace"))
            continue
        result.accepted_total += 1
        result.page_bytes = len(data)
        if began >= job.start_at:
            result.measured += 1
            result.latencies_ms.append((done - began) * 1000)
            result.last_done = max(result.last_done, done)
    conn.close()
    return result


@dataclass
class LoadResult:
    """One measurement of one server by every client."""

    requests: int
    seconds: float
    rps: float
    latencies_ms: list[float]
    accepted_total: int
    page_bytes: int
    problems: Counter[str]
    sample: str


def run_load(
    plan: Plan, kind: str, port: int, page_path: str, sign_path: str, **job: Any
) -> LoadResult:
    """Run ``plan.clients`` client processes against one server, all in one time window."""
    start_at = time.monotonic() + 0.3 + plan.warmup_s
    end_at = start_at + plan.measure_s
    jobs = [
        ClientJob(
            kind=kind,
            port=port,
            page_path=page_path,
            sign_path=sign_path,
            demand_ids=tuple(job.get("demand_ids", ())),
            email_prefix=f"{job.get('email_prefix', 'bench')}.c{i}",
            start_at=start_at,
            end_at=end_at,
            max_requests=plan.max_requests,
        )
        for i in range(plan.clients)
    ]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(jobs)) as pool:
        results = pool.map_async(run_client, jobs).get(timeout=end_at - time.monotonic() + 60)
    problems: Counter[str] = Counter()
    for r in results:
        problems.update(r.problems)
    requests = sum(r.measured for r in results)
    last = max((r.last_done for r in results), default=0.0)
    seconds = max(last - start_at, 1e-9) if requests else plan.measure_s
    return LoadResult(
        requests=requests,
        seconds=seconds,
        rps=requests / seconds,
        latencies_ms=[ms for r in results for ms in r.latencies_ms],
        accepted_total=sum(r.accepted_total for r in results),
        page_bytes=max((r.page_bytes for r in results), default=0),
        problems=problems,
        sample=next((r.sample for r in results if r.sample), ""),
    )


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """A single GET, for readiness checks and set-up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        status, body, _ = _exchange(conn, "GET", path, None, {})
        return status, body
    finally:
        conn.close()


class Gunicorn:
    """A gunicorn subprocess (sync workers) on a free 127.0.0.1 port; always stopped."""

    def __init__(self, name: str, target: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.target = target
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.config_path = workdir / "gunicorn.conf.py"  # empty: ignore any ./gunicorn.conf.py
        self.port = 0
        self.workers = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self, workers: int = 2) -> None:
        """Start gunicorn; ``wait_ready`` then waits for it."""
        self.config_path.touch()
        self.port = free_port()
        self.workers = workers
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(self.config_path),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--graceful-timeout",
            "5",
            "--no-control-socket",
            self.target,
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker has booted and ``/healthz`` answers 200."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{self.log_tail()}")
            booted = self.log_text().count("Booting worker")
            try:
                if booted >= self.workers and http_get(self.port, "/healthz", 2.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready in {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log_text(self) -> str:
        """Everything the server wrote."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def problems(self) -> dict[str, int]:
        """Failed requests and gunicorn errors in the server's output, by kind."""
        return log_problems(self.log_text())


# --------------------------------------------------------------------------- results


@dataclass
class Figure:
    """One line of the table: the app, its baseline, and app / baseline."""

    key: str
    label: str
    unit: str
    app: float
    baseline: float
    ratio: float
    better: str  # "higher" or "lower"
    detail: dict[str, Any] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ratio(a: float, b: float) -> float:
    """``a / b``, NaN when ``b`` is zero."""
    return a / b if b else float("nan")


_STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr, with seconds since start, so stdout keeps just the table."""
    print(f"[bench +{time.monotonic() - _STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- set-up


def app_environment(tmp: Path) -> dict[str, str]:
    """The environment of the app server and of the ``flask`` commands."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN")}
    (tmp / "mail").mkdir()
    env.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(20),  # 40 characters
        DATABASE_URL=f"sqlite:///{tmp / 'app.db'}",
        MAIL_FILE_DIR=str(tmp / "mail"),
        PUBLIC_URL="http://127.0.0.1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("REDIS_URL", None)
    return env


def prepare_app_database(env: dict[str, str]) -> None:
    """``flask --app wsgi db upgrade`` then ``campaign seed`` against the temp database."""
    for args in (["db", "upgrade"], ["campaign", "seed"]):
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        done = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[2:])} failed:\n{done.stdout}\n{done.stderr}")


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (backup API, WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


# --------------------------------------------------------------------------- benchmarks


def record_failures(name: str, runs: dict[str, list[LoadResult]], failures: dict[str, Any]) -> None:
    """Unexpected answers and failed requests of each side, with the first one's text."""
    for role, results in runs.items():
        problems = sum((res.problems for res in results), Counter())
        if problems:
            failures[f"{name} {role}"] = {
                "unexpected": dict(problems),
                "expected answers": sum(res.accepted_total for res in results),
                "first": next(res.sample for res in results if res.sample),
            }


def alternate(round_no: int, pair: list[tuple[str, Gunicorn]]) -> list[tuple[str, Gunicorn]]:
    """Baseline first in even rounds, app first in odd ones, so drift hits both."""
    return pair if round_no % 2 == 0 else pair[::-1]


def bench_page(plan: Plan, app: Gunicorn, bare: Gunicorn, failures: dict[str, Any]) -> Figure:
    """Figure 1: campaign page GET throughput vs the bare ~2 KB Jinja page."""
    paths = {"app": PAGE_PATH, "baseline": BARE_PAGE_PATH}
    runs: dict[str, list[LoadResult]] = {"app": [], "baseline": []}
    for r in range(plan.rounds):
        for role, server in alternate(r, [("baseline", bare), ("app", app)]):
            res = run_load(plan, "get", server.port, paths[role], "")
            runs[role].append(res)
            log(f"page GET round {r + 1} {role}: {res.rps:.1f} req/s ({res.requests} requests)")
    record_failures("page GET", runs, failures)
    return throughput_figure("page_get", "campaign page GET", runs)


def throughput_figure(key: str, label: str, runs: dict[str, list[LoadResult]]) -> Figure:
    """Median req/s per side, and the median of the per-round ratios."""
    per_round = [ratio(a.rps, b.rps) for a, b in zip(runs["app"], runs["baseline"], strict=True)]
    app_lat = [ms for res in runs["app"] for ms in res.latencies_ms]
    base_lat = [ms for res in runs["baseline"] for ms in res.latencies_ms]
    return Figure(
        key=key,
        label=f"{label} req/s",
        unit="req/s",
        app=statistics.median(res.rps for res in runs["app"]),
        baseline=statistics.median(res.rps for res in runs["baseline"]),
        ratio=statistics.median(per_round),
        better="higher",
        detail={
            "ratio_per_round": per_round,
            "rps_per_round": {role: [res.rps for res in rs] for role, rs in runs.items()},
            "requests": {role: sum(res.requests for res in rs) for role, rs in runs.items()},
            "response_bytes": {role: rs[0].page_bytes for role, rs in runs.items()},
            "unexpected_answers": {
                role: sum(sum(res.problems.values()) for res in rs) for role, rs in runs.items()
            },
            "latency_ms": {
                "app": {"p50": percentile(app_lat, 50), "p99": percentile(app_lat, 99)},
                "baseline": {"p50": percentile(base_lat, 50), "p99": percentile(base_lat, 99)},
            },
        },
    )


def latency_figures(key: str, label: str, runs: dict[str, list[LoadResult]]) -> list[Figure]:
    """p50 and p99 latency, pooled over every round."""
    figures = []
    for q in (50, 99):
        app_ms = percentile([ms for res in runs["app"] for ms in res.latencies_ms], q)
        base_ms = percentile([ms for res in runs["baseline"] for ms in res.latencies_ms], q)
        figures.append(
            Figure(
                f"{key}_p{q}",
                f"{label} p{q} ms",
                "ms",
                app_ms,
                base_ms,
                ratio(app_ms, base_ms),
                "lower",
            )
        )
    return figures


def demand_ids_of(port: int) -> list[int]:
    """The signable demand ids, from the public API."""
    status, body = http_get(port, API_PATH)
    if status != 200:
        raise RuntimeError(f"GET {API_PATH} answered {status}")
    return [d["id"] for d in json.loads(body)["demands"] if not d.get("retired")]


def bench_sign(
    plan: Plan,
    app: Gunicorn,
    bare: Gunicorn,
    demand_ids: list[int],
    failures: dict[str, Any],
) -> tuple[list[Figure], dict[str, int]]:
    """Figure 2: signing POST throughput and latency vs one bare insert per POST."""
    paths = {
        "app": (PAGE_PATH, SIGN_PATH),
        "baseline": (BARE_PAGE_PATH, BARE_SIGN_PATH),
    }
    runs: dict[str, list[LoadResult]] = {"app": [], "baseline": []}
    for r in range(plan.rounds):
        for role, server in alternate(r, [("baseline", bare), ("app", app)]):
            page, sign = paths[role]
            res = run_load(
                plan,
                "sign",
                server.port,
                page,
                sign,
                demand_ids=demand_ids,
                email_prefix=f"bench.{role}.r{r}",
            )
            runs[role].append(res)
            log(f"sign POST round {r + 1} {role}: {res.rps:.1f} req/s ({res.requests} requests)")
    record_failures("sign POST", runs, failures)
    figures = [throughput_figure("sign_post", "sign POST", runs)]
    figures += latency_figures("sign_post", "sign POST", runs)
    accepted = {role: sum(res.accepted_total for res in rs) for role, rs in runs.items()}
    return figures, accepted


def check_stored(db_file: Path, table: str, where: str, expected: int) -> dict[str, int]:
    """Rows actually stored vs answers that said they were (read after the server stops)."""
    with sqlite3.connect(db_file) as conn:
        stored = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]  # noqa: S608
    conn.close()
    return {"answered": expected, "stored": stored}


def _fill_required(table: Any, row: dict[str, Any]) -> None:
    """Refuse rows that miss a NOT NULL column without a default (the schema moved on)."""
    missing = [
        c.name
        for c in table.columns
        if not c.nullable
        and c.default is None
        and c.server_default is None
        and not c.primary_key
        and c.name not in row
    ]
    if missing:
        raise RuntimeError(f"bench does not know how to fill {table.name}.{', '.join(missing)}")


COUNTRIES = ("US", "CN", "TW", "HK", "GB", "DE", "FR", "CA", "AU", "JP", "KR", "IN", "BR")


def insert_confirmed(
    engine: Engine,
    signatures: Any,
    links: Any,
    campaign_id: int,
    demand_ids: list[int],
    first: int,
    last: int,
    rng: random.Random,
) -> int:
    """Insert confirmed signatures ``first``..``last - 1`` and their confirmed demand links.

    Each signature covers each demand with probability 0.7 (at least one). Returns the
    number of link rows inserted.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    links_added = 0
    chunk = 5_000
    with engine.begin() as conn:
        for start in range(first, last, chunk):
            sig_rows, link_rows = [], []
            for n in range(start, min(start + chunk, last)):
                sig_id = 1_000_000 + n
                row = {
                    "id": sig_id,
                    "campaign_id": campaign_id,
                    "email": f"counted.{n}@{EMAIL_DOMAIN}",
                    "name": f"Counted Signer {n}",
                    "country": COUNTRIES[n % len(COUNTRIES)],
                    "display": "full",
                    "state": "confirmed",
                    "created_at": now,
                    "confirmed_at": now,
                    "mailed_at": now,
                }
                if "email_domain" in signatures.c:
                    row["email_domain"] = EMAIL_DOMAIN
                sig_rows.append(row)
                chosen = [d for d in demand_ids if rng.random() < 0.7] or [demand_ids[0]]
                link_rows += [
                    {"signature_id": sig_id, "demand_id": d, "created_at": now, "confirmed_at": now}
                    for d in chosen
                ]
            _fill_required(signatures, sig_rows[0])
            _fill_required(links, link_rows[0])
            conn.execute(insert(signatures), sig_rows)
            conn.execute(insert(links), link_rows)
            links_added += len(link_rows)
    return links_added


def timed_ms(fn: Callable[[], object]) -> tuple[float, object]:
    """Milliseconds taken by ``fn()``, and its result."""
    began = time.perf_counter()
    value = fn()
    return (time.perf_counter() - began) * 1000, value


def bench_counts(
    plan: Plan, db_file: Path, env: dict[str, str], failures: dict[str, Any]
) -> list[Figure]:
    """Figure 3: ``compute_counts`` as confirmed signatures grow vs ``SELECT count(*)``.

    Runs in this process on a copy of the seeded database that no server touches.
    """
    keys = ("APP_ENV", "SECRET_KEY", "MAIL_FILE_DIR", "PUBLIC_URL")
    os.environ.update({k: env[k] for k in keys})
    os.environ["DATABASE_URL"] = f"sqlite:///{db_file}"
    # Imported only now: the configuration reads the environment at import time.
    from sqlalchemy import select, text

    from campaign import create_app
    from campaign.campaigns.models import Campaign, Demand
    from campaign.extensions import db
    from campaign.signatures.counts import compute_counts
    from campaign.signatures.models import Signature, SignatureDemand

    app = create_app()
    figures = []
    rng = random.Random(2011)
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == SLUG))
        demand_ids = list(
            db.session.scalars(select(Demand.id).where(Demand.campaign_id == campaign_id))
        )
        db.session.rollback()
        present, links = 0, 0
        for size in plan.count_sizes:
            began = time.monotonic()
            links += insert_confirmed(
                db.engine,
                Signature.__table__,
                SignatureDemand.__table__,
                campaign_id,
                demand_ids,
                present,
                size,
                rng,
            )
            present = size
            log(
                f"counts: {size:,} confirmed signatures in place ({time.monotonic() - began:.1f} s)"
            )

            def baseline() -> object:
                return db.session.execute(text("SELECT count(*) FROM signatures")).scalar()

            def counted() -> object:
                return compute_counts(campaign_id)

            app_ms, base_ms = [], []
            result = counted()
            baseline()
            for _ in range(plan.count_repeats):
                base_ms.append(timed_ms(baseline)[0])
                ms, result = timed_ms(counted)
                app_ms.append(ms)
            db.session.rollback()
            if result.total != size:
                failures[f"counts at {size}"] = f"compute_counts total {result.total} != {size}"
            app_median, base_median = statistics.median(app_ms), statistics.median(base_ms)
            figures.append(
                Figure(
                    key=f"counts_{size}",
                    label=f"compute_counts @ {size:,} sigs ms",
                    unit="ms",
                    app=app_median,
                    baseline=base_median,
                    ratio=ratio(app_median, base_median),
                    better="lower",
                    detail={
                        "signatures": size,
                        "signature_demands": links,
                        "app_ms": app_ms,
                        "baseline_ms": base_ms,
                        "total": result.total,
                        "per_demand": {str(k): v for k, v in result.per_demand.items()},
                        "countries": len(result.by_country),
                    },
                )
            )
        db.session.remove()
        db.engine.dispose()
    return figures


# --------------------------------------------------------------------------- output


def fmt(value: float) -> str:
    """Compact number: three significant decimals where they matter."""
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2g}"


def table(figures: list[Figure]) -> str:
    """The printed summary."""
    width = max(len(f.label) for f in figures)
    lines = [f"{'figure':<{width}}  {'app':>10}  {'baseline':>10}  {'ratio':>7}  reading"]
    for f in figures:
        if f.ratio != f.ratio:
            reading = ""
        elif f.better == "higher":
            reading = f"app at {f.ratio:.0%} of baseline"
        else:
            reading = f"app {f.ratio:.1f}x baseline time"
        lines.append(
            f"{f.label:<{width}}  {fmt(f.app):>10}  {fmt(f.baseline):>10}  "
            f"{f.ratio:>7.3f}  {reading}"
        )
    return "\n".join(lines)


def run_all(plan: Plan, tmp: Path, failures: dict[str, Any], report: dict[str, Any]) -> None:
    """Set up, run the three benchmarks, check what was stored; figures go in ``report``."""
    figures: list[Figure] = report["figures"]
    env = app_environment(tmp)
    log(f"{plan.name} run in {tmp}: migrating and seeding")
    prepare_app_database(env)
    copy_sqlite(tmp / "app.db", tmp / "counts.db")

    bare_env = {**env, BARE_DB_ENV: f"sqlite:///{tmp / 'bare.db'}"}
    engine = bare_engine(bare_env[BARE_DB_ENV])
    BARE_METADATA.create_all(engine)
    engine.dispose()

    app = Gunicorn("app", "wsgi:app", env, tmp)
    bare = Gunicorn("baseline", "bench.run:create_bare_app()", bare_env, tmp)
    try:
        with ExitStack() as stack:
            for server in (app, bare):
                stack.callback(server.stop)
                server.launch()
            for server in (app, bare):
                server.wait_ready()
            demand_ids = demand_ids_of(app.port)
            log(f"servers up (app :{app.port}, baseline :{bare.port}); demands {demand_ids}")
            settle = Plan(**{**asdict(plan), "warmup_s": 0.0, "measure_s": plan.settle_s})
            for server, path in ((app, PAGE_PATH), (bare, BARE_PAGE_PATH)):
                run_load(settle, "get", server.port, path, "")  # every worker warm, not counted
            log("servers warm")
            figures.append(bench_page(plan, app, bare, failures))
            sign_figures, accepted = bench_sign(plan, app, bare, demand_ids, failures)
            figures += sign_figures
    finally:
        for server in (app, bare):
            problems = server.problems()
            report["servers"][server.name] = {"problems": problems, "tail": server.log_tail(15)}
            if problems:
                failures[f"{server.name} server log"] = problems

    stored = report["stored_check"]
    stored["app signatures"] = check_stored(
        tmp / "app.db", "signatures", "email LIKE 'bench.%'", accepted["app"]
    )
    stored["app confirmation mails"] = check_stored(
        tmp / "app.db", "outbox_messages", "recipient LIKE 'bench.%'", accepted["app"]
    )
    stored["baseline rows"] = check_stored(
        tmp / "bare.db", "bare_signatures", "1 = 1", accepted["baseline"]
    )
    for name, check in stored.items():
        if check["answered"] != check["stored"]:
            failures[f"stored {name}"] = check
    figures += bench_counts(plan, tmp / "counts.db", env, failures)


def describe_failures(failures: dict[str, Any]) -> str:
    """Failures as short lines; the JSON keeps every detail (and the first answer's text)."""
    lines = []
    for name, what in failures.items():
        if isinstance(what, dict) and "unexpected" in what:
            bad = sum(what["unexpected"].values())
            total = bad + what["expected answers"]
            kinds = ", ".join(f"{n} x {kind}" for kind, n in what["unexpected"].items())
            lines.append(f"  {name}: {bad} of {total} requests failed ({bad / total:.0%}): {kinds}")
        elif isinstance(what, dict) and name.endswith("server log"):
            lines += [f"  {name}: {n} x {kind}" for kind, n in what.items()]
        else:
            lines.append(f"  {name}: {json.dumps(what, default=str)[:300]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, write the JSON; 1 if anything failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    parser.add_argument("--clients", type=int, help="client processes (default 4)")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "latest.json", help="where to write the JSON"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.clients:
        plan = Plan(**{**asdict(plan), "clients": args.clients})

    started = time.monotonic()
    failures: dict[str, Any] = {}
    report: dict[str, Any] = {
        "mode": plan.name,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": None,
        "ratio": "app / baseline, both measured in this run",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(),
        },
        "plan": asdict(plan),
        "figures": [],
        "stored_check": {},
        "servers": {},
        "failures": failures,
    }
    tmp = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
    try:
        run_all(plan, tmp, failures, report)
    except Exception as exc:  # report whatever was measured, and why the run stopped
        failures["run aborted"] = "".join(traceback.format_exception_only(exc)).strip()
        log(traceback.format_exc())
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - started
    report["elapsed_s"] = round(elapsed, 1)
    report["machine"]["loadavg_after"] = os.getloadavg()
    figures: list[Figure] = report["figures"]
    report["figures"] = [asdict(f) for f in figures]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")

    print(f"campaign bench ({plan.name}, {elapsed:.0f} s): ratio = app / baseline, same run")
    if figures:
        print(table(figures))
    if failures:
        print("FAILURES:")
        print(describe_failures(failures))
    else:
        print("failures: none (every answer as expected, every signature stored)")
    print(f"written {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
