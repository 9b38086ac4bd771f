"""HTTP benchmarks of the campaign app, each a ratio to a bare Flask app in the same run.

``python -m bench.run [--quick]`` from the project root (``make bench``/``make bench-quick``
run it, then ``bench.data``). The load generator is ``wrk`` (Debian's package; the script is
``bench/load.lua``), so the client costs little of the two cores the servers share. Both
servers are gunicorn with ``make serve``'s worker settings (sync, 2 workers) and the same
SQLite pragmas; they take turns, round after round, and each figure is the median of the
per-round ratios:

* ``page_get``, ``page_get_zh``: the campaign page in English and Simplified Chinese vs a
  bare ~2 KB Jinja page;
* ``sign_post``, ``sign_post_p99``: the signing form posted as a browser would (distinct
  addresses, every demand) vs a bare POST that checks a Flask-WTF CSRF token and inserts
  one row with SQLAlchemy; throughput, and p99 latency;
* ``confirm``: pressing the button of a mailed link (one fresh token per request) vs the
  same bare POST;
* ``api_get``: ``GET /api/v1/campaigns/<slug>`` while signatures arrive and the worker
  runs, vs a bare JSON view under the same background load.

Results go to ``bench/results/latest.json`` (``{"figures": {NAME: {value, unit, baseline,
ratio}}}``) and a table on stdout. The exit status is 1 on any unexpected answer, a
signature lost or counted twice, or an error in a server log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, render_template, request
from flask_wtf.csrf import CSRFProtect, generate_csrf
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
PAGE_PATH_ZH = f"/zh-hans/c/{SLUG}/"
SIGN_PATH = f"/en/c/{SLUG}/sign"
API_PATH = f"/api/v1/campaigns/{SLUG}"
BARE_PAGE_PATH = "/page"
BARE_SIGN_PATH = "/sign"
BARE_JSON_PATH = "/json"
BARE_TOKEN_PATH = "/csrf"  # noqa: S105 - a path, not a secret
LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"
CONNECTIONS = 8
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
    """How long and how hard to measure (data sizes are ``bench.data``'s)."""

    name: str
    warmup_s: int  # per measurement, not counted (wrk takes whole seconds)
    measure_s: int  # per measurement
    rounds: int  # baseline/app pairs, alternating which goes first
    settle_s: int  # load on each fresh server before any measurement, not counted
    confirm_tokens: int  # confirmation links made ready for the confirm figure
    background_per_s: float  # signatures per second arriving during api_get
    apply_s: int  # how long the worker's part of confirming is timed


QUICK = Plan("quick", 1, 2, 3, 2, 13_000, 20.0, 8)
FULL = Plan("full", 2, 10, 5, 5, 80_000, 20.0, 60)
VERIFY_APPLY_S = 10  # then the counts are compared with a scan, whatever is left


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


BARE_JSON = {
    "slug": "a-bare-campaign",
    "title": "A bare campaign",
    "signatures": 12345,
    "demands": [
        {"id": n, "position": n, "title": item["title"], "signatures": item["count"]}
        for n, item in enumerate(BARE_ITEMS, 1)
    ],
    "by_country": {"CN": 4000, "US": 3000, "TW": 2000, "HK": 1000, "GB": 900, "FR": 800},
}


def create_bare_app() -> Flask:
    """The baseline (gunicorn factory): a ~2 KB Jinja page, a JSON view, a CSRF POST."""
    engine = bare_engine(os.environ[BARE_DB_ENV])
    app = Flask("bench_bare")
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    CSRFProtect(app)
    app.jinja_loader = DictLoader({"page.html": BARE_TEMPLATE})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(BARE_TOKEN_PATH)
    def token() -> str:
        return generate_csrf()

    @app.get(BARE_PAGE_PATH)
    def page() -> str:
        return render_template("page.html", title="A bare page", total=12345, items=BARE_ITEMS)

    @app.get(BARE_JSON_PATH)
    def json_view() -> Any:
        return jsonify(BARE_JSON)

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
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
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
        # wrk says which client each request is from (X-Forwarded-For, one trusted hop), so
        # the per-address limits are checked as in production and never refuse the bench.
        TRUSTED_PROXIES="1",
        # What the server can take is measured, not the policy: the limits for everyone
        # together would cap the signing figures at their configured rate.
        LIMIT_SIGN_GLOBAL="100000000 per minute",
        LIMIT_LOGIN_GLOBAL="100000000 per minute",
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


# --------------------------------------------------------------------------- wrk


@dataclass
class Load:
    """What one run of wrk saw."""

    requests: int
    seconds: float
    statuses: dict[str, int]
    errors: dict[str, int]
    latency_ms: dict[str, float]
    exhausted: int = 0

    @property
    def rps(self) -> float:
        """Requests completed per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def answered(self, status: int) -> int:
        """How many answers had ``status``."""
        return self.statuses.get(str(status), 0)

    def unexpected(self, status: int) -> dict[str, int]:
        """Answers of another status, socket errors, reused tokens: all failures."""
        bad = {f"status {k}": v for k, v in self.statuses.items() if k != str(status)}
        bad |= {f"socket {k}": v for k, v in self.errors.items() if v}
        if self.exhausted:
            bad["tokens exhausted"] = self.exhausted
        return bad


@dataclass(frozen=True)
class Target:
    """One side of a figure: where wrk sends its requests and what it expects back."""

    port: int
    path: str
    expect: int
    mode: str = "get"  # get, post or confirm
    arg: str = ""  # post: the body file; confirm: the token file

    def run(self, seconds: int, label: str, body: Path | None = None) -> Load:
        """One wrk run of ``seconds`` (``body`` replaces the body or token file for it)."""
        args = [self.mode]
        if self.mode == "post":
            args += [str(self.expect), str(body or self.arg)]
        elif self.mode == "confirm":
            args += [str(self.expect), str(body or self.arg), "1"]
        cmd = [
            "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(int(seconds), 1)}s", "--timeout", "15s",
            "-s", str(LOAD_SCRIPT), f"http://127.0.0.1:{self.port}{self.path}", "--", *args,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk for {label} failed:\n{done.stdout}\n{done.stderr}")
        return Load(**json.loads(line.removeprefix("BENCH ")))


@dataclass
class Side:
    """Every run of one side of a figure, warm-ups included (their rows must exist too)."""

    measured: list[Load] = field(default_factory=list)
    warmups: list[Load] = field(default_factory=list)

    def answered(self, status: int) -> int:
        """Expected answers over every run."""
        return sum(load.answered(status) for load in self.measured + self.warmups)

    def unexpected(self, status: int) -> Counter[str]:
        """Failures over every run."""
        return sum((Counter(load.unexpected(status)) for load in self.measured + self.warmups),
                   Counter())  # fmt: skip


def ensure_wrk() -> None:
    """wrk must be on PATH: ``apt-get install -y wrk`` (README, "Performance")."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install -y wrk (Debian's package)")


def measure_pair(
    plan: Plan,
    name: str,
    app: Target,
    baseline: Target,
    bodies: dict[str, Callable[[str], Path]] | None = None,
) -> dict[str, Side]:
    """Rounds of warm-up and measurement, baseline first in even rounds, app in odd ones."""
    sides = {"app": Side(), "baseline": Side()}
    pair = [("baseline", baseline), ("app", app)]
    for r in range(plan.rounds):
        for role, target in pair if r % 2 == 0 else pair[::-1]:
            make_body = (bodies or {}).get(role)
            # Every run its own addresses: each submission is a new signer.
            warm = make_body(f"{name}.w{r}") if make_body else None
            sides[role].warmups.append(target.run(plan.warmup_s, f"{name} {role}", warm))
            body = make_body(f"{name}.m{r}") if make_body else None
            load = target.run(plan.measure_s, f"{name} {role}", body)
            sides[role].measured.append(load)
            log(f"{name} round {r + 1} {role}: {load.rps:,.0f} req/s, "
                f"p99 {load.latency_ms['p99']:.1f} ms")  # fmt: skip
    return sides


def check_answers(
    name: str, sides: dict[str, Side], expect: dict[str, int], failures: dict
) -> None:
    """Every answer of both sides had the expected status."""
    for role, side in sides.items():
        bad = side.unexpected(expect[role])
        if bad:
            failures[f"{name} {role}"] = {
                "unexpected": dict(bad),
                "expected answers": side.answered(expect[role]),
            }


def rate_figure(key: str, label: str, sides: dict[str, Side]) -> Figure:
    """Median req/s of each side; the ratio is the median of the per-round ratios."""
    app, base = sides["app"].measured, sides["baseline"].measured
    per_round = [ratio(a.rps, b.rps) for a, b in zip(app, base, strict=True)]
    return Figure(
        key=key, label=f"{label} req/s", unit="req/s",
        app=statistics.median(x.rps for x in app),
        baseline=statistics.median(x.rps for x in base),
        ratio=statistics.median(per_round), better="higher",
        detail={
            "ratio_per_round": per_round,
            "rps_per_round": {"app": [x.rps for x in app], "baseline": [x.rps for x in base]},
            "p99_ms_per_round": {"app": [x.latency_ms["p99"] for x in app],
                                 "baseline": [x.latency_ms["p99"] for x in base]},
            "p99_ratio": ratio(statistics.median(x.latency_ms["p99"] for x in app),
                               statistics.median(x.latency_ms["p99"] for x in base)),
        },
    )  # fmt: skip


def p99_figure(key: str, label: str, sides: dict[str, Side]) -> Figure:
    """Median of the per-round p99 latencies of each side, and their ratio."""
    app = statistics.median(x.latency_ms["p99"] for x in sides["app"].measured)
    base = statistics.median(x.latency_ms["p99"] for x in sides["baseline"].measured)
    return Figure(key, f"{label} p99 ms", "ms", app, base, ratio(app, base), "lower")


# --------------------------------------------------------------------------- app-side steps


def child(task: str, env: dict[str, str], *args: str, timeout: float = 900) -> dict:
    """Run one of this module's steps inside the app (``--child``) in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--child", task, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _app():  # noqa: ANN202 - a Flask app, imported late (the config reads the environment)
    from campaign import create_app

    return create_app()


def step_take(token_file: str, limit: str) -> dict:
    """The worker's part of signing for every received submission (timed), then tokens.

    The first ``limit`` confirmation mails are "sent" as the outbox would: their tokens are
    made (``tokens.activate``) and written to ``token_file`` instead of a mailbox.
    """
    from sqlalchemy import func, select, update

    from campaign import tokens
    from campaign.extensions import db
    from campaign.mail.models import OutboxMessage
    from campaign.signatures.models import Submission
    from campaign.signatures.services import take_received

    with _app().app_context():
        received = db.session.scalar(
            select(func.count(Submission.id)).where(Submission.state == "received")
        )
        began = time.perf_counter()
        # As many as the confirm figure needs; the rest stay received (stored, counted in
        # the stored check), as a backlog would after a burst.
        taken = 0
        while taken < int(limit) and (batch := take_received(limit=min(1000, int(limit) - taken))):
            taken += batch
        seconds = time.perf_counter() - began
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.link_token_id)
            .where(OutboxMessage.kind == "confirm", OutboxMessage.state == "queued")
            .order_by(OutboxMessage.id)
            .limit(int(limit))
        ).all()
        made = [tokens.activate(token_id) for _id, token_id in rows]
        # Handed over (to the token file, not a mailbox): the worker does not send them
        # again during api_get, where only the background signers' mail is due.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "confirm", OutboxMessage.state == "queued")
            .values(state="sent", sent_at=func.now())
        )
        db.session.commit()
    Path(token_file).write_text("\n".join(t for t in made if t) + "\n")
    return {"received": received, "taken": taken, "seconds": seconds, "tokens": len(made)}


def step_apply(seconds: str) -> dict:
    """The worker's part of confirming, for up to ``seconds``: its rate, and what is left.

    A burst of presses leaves a backlog the worker works through afterwards (it does so
    during api_get); nothing is lost meanwhile, the rows are stored.
    """
    from sqlalchemy import func, select

    from campaign.extensions import db
    from campaign.signatures.models import Submission
    from campaign.signatures.services import apply_pressed

    with _app().app_context():
        began = time.perf_counter()
        applied = 0
        while time.perf_counter() - began < float(seconds) and (batch := apply_pressed(limit=200)):
            applied += batch
        took = time.perf_counter() - began
        left = db.session.scalar(
            select(func.count(Submission.id)).where(Submission.state == "pressed")
        )
        return {"applied": applied, "seconds": took, "left": left}


def step_verify(seconds: str) -> dict:
    """After everything: presses applied (for up to ``seconds``), counts equal a scan."""
    from sqlalchemy import func, select

    from campaign.campaigns.models import Campaign
    from campaign.extensions import db
    from campaign.signatures import counts
    from campaign.signatures.models import Signature, Submission
    from campaign.signatures.services import apply_pressed

    with _app().app_context():
        # Presses applied for a while, everything folded; what is left waits as a backlog
        # would (stored: the stored check counts the rows).
        began = time.perf_counter()
        while time.perf_counter() - began < float(seconds) and apply_pressed(limit=200):
            pass
        while counts.fold():
            pass
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
        read = counts.compute_counts(campaign.id)
        scanned = counts.scan_counts(campaign.id, counts.counting_until(campaign))
        states = dict(
            db.session.execute(
                select(Submission.state, func.count()).group_by(Submission.state)
            ).all()
        )
        signatures = db.session.scalar(select(func.count(Signature.id)))
        # Some signers may be held by the hold checks (similar names): "confirmed once" is
        # read from the rows, counted or held alike.
        confirmed = db.session.scalar(
            select(func.count(Signature.id)).where(Signature.confirmed_at.is_not(None))
        )
        return {
            "counts_match": read == scanned,
            "counted": read.total,
            "scanned": scanned.total,
            "submissions": states,
            "signatures": signatures,
            "confirmed": confirmed,
        }


def token_chunks(tokens_file: Path, plan: Plan, folder: Path) -> Iterator[Path]:
    """One file of unused links per wrk run (warm-ups get a share by their length)."""
    tokens = tokens_file.read_text().split()
    seconds = [plan.warmup_s, plan.measure_s] * plan.rounds
    start = 0
    for n, run_s in enumerate(seconds):
        size = len(tokens) * run_s // sum(seconds)
        path = folder / f"tokens-{n}.txt"
        path.write_text("\n".join(tokens[start : start + size]) + "\n")
        start += size
        yield path


def sqlite_count(db_file: Path, sql: str) -> int:
    """One number from a database file (read after its servers stopped)."""
    with sqlite3.connect(db_file) as conn:
        value = conn.execute(sql).fetchone()[0]
    conn.close()
    return int(value)


class Background:
    """Signatures arriving at a steady rate, as a browser sends them, while api_get runs."""

    def __init__(self, port: int, body: str, per_second: float) -> None:
        self.port, self.body, self.interval = port, body, 1.0 / per_second
        self.stop_event = threading.Event()
        self.answers: Counter[int] = Counter()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop_event.wait(self.interval):
            n += 1
            body = self.body.replace("{N}", f"bg{n}").encode()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            try:
                conn.request("POST", SIGN_PATH, body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Sec-Fetch-Site": "same-origin",
                    "X-Forwarded-For": f"10.251.{n // 250 % 250}.{n % 250 + 1}"})  # fmt: skip
                self.answers[conn.getresponse().status] += 1
            except OSError:
                self.answers[0] += 1
            finally:
                conn.close()

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=20)


# --------------------------------------------------------------------------- the run


def sign_body(demand_ids: list[int], prefix: str) -> str:
    """The signing form as the campaign page's form sends it; ``{N}`` is made unique."""
    fields = [("name", "Bench Signer"), ("email", f"{prefix}.{{N}}@{EMAIL_DOMAIN}"),
              ("country", "US"), ("region", ""), ("affiliation", ""), ("comment", ""),
              ("display", "full"), ("name_in_letters", "y")]  # fmt: skip
    fields += [("demands", str(d)) for d in demand_ids]
    return urlencode(fields).replace("%7BN%7D", "{N}")


def write_body(folder: Path, name: str, body: str, headers: dict[str, str]) -> Path:
    """A body file and its ``.headers`` file for ``load.lua``."""
    path = folder / f"{name}.body"
    path.write_text(body)
    lines = [f"{k}: {v}" for k, v in headers.items()]
    path.with_name(path.name + ".headers").write_text("\n".join(lines) + "\n")
    return path


def bare_csrf(port: int) -> tuple[str, str]:
    """A CSRF token of the bare app and the session cookie it belongs to."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", BARE_TOKEN_PATH)
        response = conn.getresponse()
        token = response.read().decode()
        cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
    finally:
        conn.close()
    if not token or not cookie:
        raise RuntimeError("the bare app gave no CSRF token")
    return token, cookie


def run_all(plan: Plan, tmp: Path, failures: dict[str, Any], report: dict[str, Any]) -> None:
    """Set up both servers, measure every figure, check what was stored and counted."""
    figures: list[Figure] = report["figures"]
    env = app_environment(tmp)
    log(f"{plan.name} run in {tmp}: migrating and seeding")
    prepare_app_database(env)
    bare_env = {**env, BARE_DB_ENV: f"sqlite:///{tmp / 'bare.db'}"}
    engine = bare_engine(bare_env[BARE_DB_ENV])
    BARE_METADATA.create_all(engine)
    engine.dispose()
    bodies_dir = tmp / "bodies"
    bodies_dir.mkdir()
    tokens_file = tmp / "tokens.txt"

    app = Gunicorn("app", "wsgi:app", env, tmp)
    bare = Gunicorn("baseline", "bench.run:create_bare_app()", bare_env, tmp)
    worker: subprocess.Popen[bytes] | None = None
    answered = {"app": 0, "baseline": 0}
    try:
        with ExitStack() as stack:
            for server in (app, bare):
                stack.callback(server.stop)
                server.launch()
            for server in (app, bare):
                server.wait_ready()
            demand_ids = demand_ids_of(app.port)
            token, cookie = bare_csrf(bare.port)
            log(f"servers up (app :{app.port}, baseline :{bare.port}); demands {demand_ids}")
            for target in (
                Target(app.port, PAGE_PATH, 200),
                Target(bare.port, BARE_PAGE_PATH, 200),
            ):
                target.run(plan.settle_s, "settle")  # every worker warm, not counted
            browser = {"Content-Type": "application/x-www-form-urlencoded",
                       "Sec-Fetch-Site": "same-origin"}  # fmt: skip
            bare_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}

            def app_body(tag: str) -> Path:
                return write_body(bodies_dir, f"app-{tag}", sign_body(demand_ids, f"bench.{tag}"),
                                  browser)  # fmt: skip

            def bare_body(tag: str) -> Path:
                body = sign_body(demand_ids, f"bare.{tag}") + "&" + urlencode({"csrf_token": token})
                return write_body(bodies_dir, f"bare-{tag}", body, bare_headers)

            bare_post = Target(bare.port, BARE_SIGN_PATH, 303, "post", str(bare_body("x")))
            for key, label, path in (
                ("page_get", "campaign page GET (en)", PAGE_PATH),
                ("page_get_zh", "campaign page GET (zh-hans)", PAGE_PATH_ZH),
            ):
                sides = measure_pair(plan, key, Target(app.port, path, 200),
                                     Target(bare.port, BARE_PAGE_PATH, 200))  # fmt: skip
                check_answers(key, sides, {"app": 200, "baseline": 200}, failures)
                figures.append(rate_figure(key, label, sides))

            sides = measure_pair(
                plan, "sign_post",
                Target(app.port, SIGN_PATH, 303, "post", str(app_body("x"))), bare_post,
                bodies={"app": app_body, "baseline": bare_body},
            )  # fmt: skip
            check_answers("sign_post", sides, {"app": 303, "baseline": 303}, failures)
            figures.append(rate_figure("sign_post", "signing POST", sides))
            figures.append(p99_figure("sign_post_p99", "signing POST", sides))
            answered = {role: side.answered(303) for role, side in sides.items()}
            # Enough signers for the confirm figure: every press a fresh link.
            rate = max(figures[-2].app, 100.0)
            missing = plan.confirm_tokens - answered["app"]
            if missing > 0:
                extra = Target(app.port, SIGN_PATH, 303, "post", str(app_body("extra")))
                load = extra.run(int(missing / rate) + 2, "more signers")
                if load.unexpected(303):
                    failures["more signers"] = load.unexpected(303)
                answered["app"] += load.answered(303)

            log(f"worker: taking {answered['app']:,} submissions, making confirmation links")
            took = child("take", env, str(tokens_file), str(plan.confirm_tokens))
            report["intake"] = took
            figures.append(Figure("intake", "worker takes a submission /s", "rows/s",
                                  ratio(took["taken"], took["seconds"]), float("nan"),
                                  float("nan"), "higher", took))  # fmt: skip

            worker_log = (tmp / "worker.log").open("wb")
            worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--interval", "0.5"],
                cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            background = Background(app.port, sign_body(demand_ids, "bench.bg"),
                                    plan.background_per_s)  # fmt: skip
            with background:
                sides = measure_pair(plan, "api_get", Target(app.port, API_PATH, 200),
                                     Target(bare.port, BARE_JSON_PATH, 200))  # fmt: skip
            check_answers("api_get", sides, {"app": 200, "baseline": 200}, failures)
            figures.append(rate_figure("api_get", "API GET while signing", sides))
            report["background_answers"] = dict(background.answers)
            if set(background.answers) - {303}:
                failures["background signing"] = dict(background.answers)
            answered["app"] += background.answers[303]
            # The confirm figure and the worker's timed steps run without it.
            worker.terminate()
            worker.wait(timeout=30)
            chunks = token_chunks(tokens_file, plan, bodies_dir)

            def next_chunk(tag: str) -> Path:
                return next(chunks)

            sides = measure_pair(
                plan, "confirm", Target(app.port, "/", 303, "confirm", str(tokens_file)),
                bare_post, bodies={"app": next_chunk, "baseline": bare_body},
            )  # fmt: skip
            check_answers("confirm", sides, {"app": 303, "baseline": 303}, failures)
            figures.append(rate_figure("confirm", "confirmation POST", sides))
            report["confirmed_answers"] = sides["app"].answered(303)
            answered["baseline"] += sides["baseline"].answered(303)
            applied = child("apply", env, str(plan.apply_s))
            report["applied"] = applied
            figures.append(Figure("applied", "worker applies a confirmation /s", "rows/s",
                                  ratio(applied["applied"], applied["seconds"]), float("nan"),
                                  float("nan"), "higher", applied))  # fmt: skip

    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        for server in (app, bare):
            problems = server.problems()
            report["servers"][server.name] = {"problems": problems, "tail": server.log_tail(15)}
            if problems:
                failures[f"{server.name} server log"] = problems
        worker_text = (tmp / "worker.log").read_text(errors="replace") if worker else ""
        if "Traceback" in worker_text:
            failures["worker log"] = worker_text[-1500:]

    check_stored(tmp, env, answered, report, failures)


def demand_ids_of(port: int) -> list[int]:
    """The signable demand ids, from the public API."""
    status, body = http_get(port, API_PATH)
    if status != 200:
        raise RuntimeError(f"GET {API_PATH} answered {status}")
    return [d["id"] for d in json.loads(body)["demands"] if not d.get("retired")]


def check_stored(
    tmp: Path, env: dict[str, str], answered: dict[str, int], report: dict, failures: dict
) -> None:
    """Every 303 left its row; every confirmation counted once; counts equal a scan."""
    verified = child("verify", env, str(VERIFY_APPLY_S))
    stored = {
        "app submissions": {"answered": answered["app"], "stored": sqlite_count(
            tmp / "app.db", "SELECT count(*) FROM submissions")},
        "baseline rows": {"answered": answered["baseline"], "stored": sqlite_count(
            tmp / "bare.db", "SELECT count(*) FROM bare_signatures")},
    }  # fmt: skip
    report["stored_check"] = {**stored, "verify": verified}
    for name, check in stored.items():
        # wrk stops counting at the end of its time: a request it gave up on may still
        # have been stored, never the other way round.
        if not check["answered"] <= check["stored"] <= check["answered"] + 2 * CONNECTIONS * 40:
            failures[f"stored {name}"] = check
    if not verified["counts_match"]:
        failures["counts"] = verified
    expected = report.get("confirmed_answers", 0)
    # As above: a press wrk gave up on at the end of its time may still have confirmed.
    slack = 2 * CONNECTIONS * 40
    if verified["confirmed"] > expected + slack or verified["counted"] > verified["confirmed"]:
        failures["counted twice"] = {"confirm answers": expected, **verified}
    # Each bench signer has one submission: an applied press is one confirmed signature.
    if verified["confirmed"] != verified["submissions"].get("applied", 0):
        failures["applied but not confirmed"] = verified
    report["backlog"] = {
        "received (not taken)": verified["submissions"].get("received", 0),
        "pressed (not applied)": verified["submissions"].get("pressed", 0),
    }


def write_results(path: Path, report: dict[str, Any], figures: list[Figure]) -> None:
    """``latest.json``: the contract's ``figures`` by name, then everything else."""
    report["figures"] = {
        f.key: {"value": f.app, "unit": f.unit, "baseline": f.baseline, "ratio": f.ratio,
                "label": f.label, "better": f.better, "detail": f.detail}
        for f in figures
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


CHILDREN = {"take": step_take, "apply": step_apply, "verify": step_verify}


def main(argv: list[str] | None = None) -> int:
    """Run every HTTP figure, print the table, write the JSON; 1 if anything failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter load phases")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "latest.json", help="where to write the JSON"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](*rest), default=str))
        return 0
    ensure_wrk()
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    failures: dict[str, Any] = {}
    report: dict[str, Any] = {
        "mode": plan.name,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": None,
        "ratio": "app / baseline, both measured in this run (rates: app rate / baseline "
        "rate; durations: app time / baseline time)",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(),
            "database": "sqlite (WAL)",
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
    write_results(args.output, report, figures)
    print(f"campaign bench, HTTP ({plan.name}, {elapsed:.0f} s): ratio = app / baseline, same run")
    if figures:
        print(table(figures))
    if failures:
        print("FAILURES:")
        print(describe_failures(failures))
    else:
        print("failures: none (every answer as expected, every signature stored, counted once)")
    print(f"written {args.output}")
    return 1 if failures else 0


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


if __name__ == "__main__":
    sys.exit(main())
