"""Counts, letter packets and exports at scale, each beside a raw baseline of the same run.

``python -m bench.data [--quick]`` from the project root; ``make bench`` runs it after
``bench.run``. One database grows from 1,000 to 100,000 to 1,000,000 confirmed
signatures (``--quick`` uses the same sizes, with one round instead of two):

1. ``counts_1k``, ``counts_100k``, ``counts_1m``: reading a campaign's counts
   (``counts.compute_counts``: its tallies and pending deltas) vs ``SELECT count(*) FROM
   signatures`` on the same database, after the worker's recount built the tallies.
2. ``packet_100k`` (and ``_rss_mb``): building a visit's packet (one official, every demand)
   with ``campaign.packets.builder.run_build`` vs a plain ReportLab PDF that draws the same
   names, in the same order, one line each.
3. ``export_1m`` (and ``_rss_mb``; 100,000 too, to show memory stays flat): the CSV export
   (the service behind ``flask signatures export``) vs the standard library's ``csv``
   writing the same rows read by a plain ``sqlite3`` query.

Each measurement runs in a fresh process that reports its wall time and its peak resident
memory (``ru_maxrss``). The figures are added to ``bench/results/latest.json`` (the
contract's names), beside ``bench.run``'s.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

FAMILY = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
GIVEN = ["小明", "美华", "建国", "丽", "伟", "芳", "晓波", "敏", "静", "强"]
LATIN = ["Anna", "José", "Li", "Maria", "John", "Zoë", "Ahmed", "Olga", "Chen", "Sam"]
SURNAMES = ["Müller", "Smith", "García", "Nguyen", "Wang", "O'Brien", "Kowalski", "Dubois"]
COUNTRIES = ["US", "CN", "TW", "HK", "DE", "FR", "GB", "CA", "AU", "JP", "SG", "MY", "NL", "SE"]


def peak_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- data


def environment(tmp: Path) -> dict[str, str]:
    """The app's environment for a database in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{tmp / 'app.db'}",
        PACKET_DIR=str(tmp / "packets"),
        MAIL_FILE_DIR=str(tmp / "mail"),
        PUBLIC_URL="https://petition.example.org",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def prepare(tmp: Path, env: dict[str, str]) -> None:
    """Migrate and seed (the seed brings the campaign and its sample visit)."""
    for args in (["db", "upgrade"], ["campaign", "seed"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
        )  # fmt: skip


def fill(db_file: Path, first: int, count: int, seed: int = 7) -> None:
    """Insert confirmed signatures ``first``..``count``, each for one demand, 90 % consenting."""
    sys.path.insert(0, str(ROOT))
    from campaign.names import sort_key

    sort_key = functools.lru_cache(maxsize=None)(sort_key)  # a few hundred distinct names
    rng = random.Random(seed + first)
    con = sqlite3.connect(db_file)
    campaign_id = con.execute("SELECT id FROM campaigns").fetchone()[0]
    demands = [row[0] for row in con.execute("SELECT id FROM demands ORDER BY position")]
    now = "2026-11-20 10:00:00.000000"
    batch_s, batch_d = [], []
    for i in range(first, count + 1):
        if rng.random() < 0.4:
            name = rng.choice(FAMILY) + rng.choice(GIVEN)
        else:
            name = f"{rng.choice(LATIN)} {rng.choice(SURNAMES)}"
        batch_s.append(
            (i, campaign_id, f"s{i}@example.org", "example.org", f"s{i}@example.org", name,
             sort_key(name), rng.choice(COUNTRIES), rng.choice(["", "", "Region"]),
             rng.choice(["", "", "", "University"]), "", "none", "full",
             rng.random() < 0.9, False, "en", "confirmed", "", now, now, now)
        )  # fmt: skip
        batch_d.append((i, rng.choice(demands), now, now))
        if len(batch_s) == 20_000 or i == count:
            con.executemany(
                "INSERT INTO signatures (id, campaign_id, email, email_domain, mailbox_key, name,"
                " sort_name, country, region, affiliation, comment, comment_state, display,"
                " name_in_letters, updates, locale, state, hold_reasons, created_at,"
                " confirmed_at, updated_at) VALUES"
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                batch_s,
            )
            con.executemany(
                "INSERT INTO signature_demands (signature_id, demand_id, created_at, confirmed_at)"
                " VALUES (?,?,?,?)",
                batch_d,
            )
            batch_s, batch_d = [], []
    # The bench visit: the seed's, addressed to its first official only.
    visit_id = con.execute("SELECT id FROM visits").fetchone()[0]
    first = con.execute(
        "SELECT min(official_id) FROM visit_officials WHERE visit_id = ?", (visit_id,)
    ).fetchone()[0]
    con.execute("DELETE FROM visit_officials WHERE official_id != ?", (first,))
    con.commit()
    con.execute("ANALYZE")
    con.close()


# --------------------------------------------------------------------------- children


def child_packet(tmp: Path) -> dict:
    """The app's build of the bench visit, in this process."""
    sys.path.insert(0, str(ROOT))
    from campaign import create_app
    from campaign.extensions import db
    from campaign.packets import builder
    from campaign.packets.models import PacketBuild
    from campaign.visits.models import Visit

    app = create_app()
    with app.app_context():
        visit = db.session.scalars(db.select(Visit)).first()
        build = builder.create_build(visit, None)
        db.session.commit()
        started = time.perf_counter()
        builder.run_build(build.id)
        seconds = time.perf_counter() - started
        db.session.expire_all()
        build = db.session.get(PacketBuild, build.id)
        if build.state != "done":
            raise SystemExit(f"build failed: {build.error}")
        packet = build.packets[0]
        pdf = builder.build_dir(build) / packet.id / "letter.pdf"
        return {
            "seconds": seconds,
            "peak_mb": peak_mb(),
            "pages": packet.pages,
            "named": packet.named,
            "pdf_mb": pdf.stat().st_size / 1e6,
        }


def child_packet_baseline(tmp: Path) -> dict:
    """A plain ReportLab PDF of the same names, one line each, in the same order."""
    from reportlab.lib.pagesizes import LETTER
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    started = time.perf_counter()
    con = sqlite3.connect(tmp / "app.db")
    rows = con.execute(
        "SELECT s.name FROM signature_demands sd JOIN signatures s ON s.id = sd.signature_id"
        " WHERE s.state = 'confirmed' AND s.name_in_letters ORDER BY sd.demand_id, s.country,"
        " s.sort_name, s.name, s.id"
    )
    canvas = Canvas(str(tmp / "baseline.pdf"), pagesize=LETTER, invariant=1, pageCompression=1)
    y, lines, pages = 740.0, 0, 1
    for (name,) in rows:
        canvas.setFont("Helvetica" if name.isascii() else "STSong-Light", 9)
        canvas.drawString(57, y, name)
        lines += 1
        y -= 11.25
        if y < 60:
            canvas.showPage()
            pages += 1
            y = 740.0
    canvas.save()
    con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb(), "pages": pages, "named": lines}


def child_export(tmp: Path) -> dict:
    """The app's CSV export of every signature (what ``flask signatures export`` runs)."""
    sys.path.insert(0, str(ROOT))
    from campaign import create_app
    from campaign.campaigns.models import Campaign
    from campaign.exports import services
    from campaign.extensions import db

    app = create_app()
    with app.app_context():
        campaign = db.session.scalars(db.select(Campaign)).first()
        flt = services.ExportFilter(state=None)
        started = time.perf_counter()
        export_id, rows = services.start_export(campaign, flt, "csv", None)
        db.session.commit()
        with (tmp / "export.csv").open("w", encoding="utf-8", newline="") as fh:
            for chunk in services.render(
                services.export_batches(campaign, flt, export_id), "csv", services.columns(flt)
            ):
                fh.write(chunk)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb(), "rows": rows}


def child_export_baseline(tmp: Path) -> dict:
    """The standard library's csv over the same columns, read with plain sqlite3."""
    import csv

    started = time.perf_counter()
    con = sqlite3.connect(tmp / "app.db")
    cursor = con.execute(
        "SELECT s.id, s.name, s.country, s.region, s.affiliation, s.state, s.display,"
        " s.name_in_letters, s.updates, s.locale, sd.demand_id, s.created_at, s.confirmed_at"
        " FROM signatures s JOIN signature_demands sd ON sd.signature_id = s.id ORDER BY s.id"
    )
    rows = 0
    with (tmp / "baseline.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([c[0] for c in cursor.description])
        for row in cursor:
            writer.writerow(row)
            rows += 1
    con.close()
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "rows": rows}


def child_recount(tmp: Path) -> dict:
    """The worker's recount: the tallies rebuilt from the signatures (what it does daily)."""
    sys.path.insert(0, str(ROOT))
    from campaign import create_app
    from campaign.signatures import counts

    with create_app().app_context():
        started = time.perf_counter()
        counts.recount_all()
        return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb()}


def child_counts(tmp: Path) -> dict:
    """Reading the counts vs ``SELECT count(*)``, median of 25 each."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select, text

    from campaign import create_app
    from campaign.campaigns.models import Campaign
    from campaign.extensions import db
    from campaign.signatures import counts

    with create_app().app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
        # In two blocks: a count(*) over a million rows between two reads would evict the
        # caches the read uses, and time the eviction rather than the read.
        app_ms, base_ms, result, total = [], [], None, 0
        for n in range(26):
            began = time.perf_counter()
            result = counts.compute_counts(campaign_id)
            took = (time.perf_counter() - began) * 1000
            db.session.rollback()
            if n:  # the first warms the caches
                app_ms.append(took)
        for n in range(26):
            began = time.perf_counter()
            total = db.session.execute(text("SELECT count(*) FROM signatures")).scalar()
            took = (time.perf_counter() - began) * 1000
            db.session.rollback()
            if n:
                base_ms.append(took)
        return {
            "seconds": statistics.median(app_ms) / 1000,
            "baseline_seconds": statistics.median(base_ms) / 1000,
            "total": result.total,
            "rows": total,
            "peak_mb": peak_mb(),
        }


CHILDREN = {
    "recount": child_recount,
    "counts": child_counts,
    "packet": child_packet,
    "packet-baseline": child_packet_baseline,
    "export": child_export,
    "export-baseline": child_export_baseline,
}


def run_child(task: str, tmp: Path, env: dict[str, str]) -> dict:
    """Run one measurement in a fresh interpreter and read its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.data", "--child", task, "--tmp", str(tmp)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


@dataclass
class Row:
    """One line of the table."""

    figure: str
    size: int
    app_s: float
    base_s: float
    app_mb: float
    base_mb: float
    detail: str

    @property
    def time_ratio(self) -> float:
        """App time over baseline time."""
        return self.app_s / self.base_s if self.base_s else float("nan")


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench.data] {message}", file=sys.stderr, flush=True)


def measure(kind: str, size: int, tmp: Path, env: dict[str, str], rounds: int) -> Row:
    """Both sides of ``kind`` on the database as it is, alternating, best of ``rounds``."""
    shutil.rmtree(tmp / "packets", ignore_errors=True)
    app_runs, base_runs = [], []
    for n in range(rounds):
        order = [kind, f"{kind}-baseline"][:: 1 if n % 2 == 0 else -1]
        for task in order:
            log(f"{task} @ {size:,} (round {n + 1})")
            result = run_child(task, tmp, env)
            (app_runs if task == kind else base_runs).append(result)
    app = min(app_runs, key=lambda r: r["seconds"])
    base = min(base_runs, key=lambda r: r["seconds"])
    if kind == "packet":
        detail = (f"{app['named']:,} names, {app['pages']:,} pages ({app['pdf_mb']:.1f} MB);"
                  f" baseline {base['named']:,} names, {base['pages']:,} pages")  # fmt: skip
    else:
        detail = f"{app['rows']:,} rows; baseline {base['rows']:,} rows"
    return Row(kind, size, app["seconds"], base["seconds"],
               max(r["peak_mb"] for r in app_runs), max(r["peak_mb"] for r in base_runs),
               detail)  # fmt: skip


def measure_counts(size: int, tmp: Path, env: dict[str, str], failures: dict) -> Row:
    """The worker's recount, then reading the counts vs ``count(*)`` at ``size``."""
    recount = run_child("recount", tmp, env)
    log(f"recount @ {size:,}: {recount['seconds']:.2f} s")
    read = run_child("counts", tmp, env)
    if read["total"] != size or read["rows"] != size:
        failures[f"counts at {size}"] = read
    detail = f"total {read['total']:,}; the recount took {recount['seconds']:.2f} s"
    return Row("counts", size, read["seconds"], read["baseline_seconds"], read["peak_mb"],
               float("nan"), detail)  # fmt: skip


SIZE_NAMES = {1_000: "1k", 100_000: "100k", 1_000_000: "1m"}


def figures_of(rows: list[Row]) -> dict[str, dict]:
    """The contract's figures: durations in seconds (counts in ms), memory in MB."""
    out: dict[str, dict] = {}
    for r in rows:
        name = f"{r.figure}_{SIZE_NAMES[r.size]}"
        scale, unit = (1000, "ms") if r.figure == "counts" else (1, "s")
        out[name] = {"value": r.app_s * scale, "unit": unit, "baseline": r.base_s * scale,
                     "ratio": r.time_ratio, "label": f"{r.figure} @ {r.size:,} {unit}",
                     "better": "lower", "detail": r.detail}  # fmt: skip
        if r.figure != "counts":
            out[f"{name}_rss_mb"] = {
                "value": r.app_mb, "unit": "MB", "baseline": r.base_mb,
                "ratio": r.app_mb / r.base_mb if r.base_mb else float("nan"),
                "label": f"{r.figure} @ {r.size:,} peak MB", "better": "lower",
            }  # fmt: skip
    return out


def merge_results(path: Path, figures: dict[str, dict], meta: dict) -> None:
    """Add these figures to ``latest.json`` (``bench.run`` writes it first)."""
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        report = {"figures": {}}
    if not isinstance(report.get("figures"), dict):
        report["figures"] = {}
    report["figures"].update(figures)
    report["data"] = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def table(rows: list[Row]) -> str:
    """The results as a fixed-width table."""
    lines = [
        f"{'figure':8} {'signatures':>10} {'app s':>8} {'base s':>8} {'time ×':>7} "
        f"{'app MB':>7} {'base MB':>8}  detail"
    ]
    for r in rows:
        if r.figure == "counts":  # milliseconds, not seconds
            times = f"{r.app_s * 1000:6.2f}ms {r.base_s * 1000:6.2f}ms"
            memory = f"{r.app_mb:7.0f} {'':>8}"
        else:
            times = f"{r.app_s:8.2f} {r.base_s:8.2f}"
            memory = f"{r.app_mb:7.0f} {r.base_mb:8.0f}"
        lines.append(f"{r.figure:8} {r.size:>10,} {times} {r.time_ratio:7.2f} {memory}  {r.detail}")
    return "\n".join(lines)


COUNT_SIZES = (1_000, 100_000, 1_000_000)
PACKET_SIZES = (100_000,)
EXPORT_SIZES = (100_000, 1_000_000)


def main(argv: list[str] | None = None) -> int:
    """Run the data-size benchmarks (or one child measurement) and report."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="one round per side")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.tmp)))
        return 0

    rounds = 1 if args.quick else 2
    tmp = Path(tempfile.mkdtemp(prefix="campaign-bench-data-"))
    started = time.monotonic()
    rows: list[Row] = []
    failures: dict = {}
    try:
        env = environment(tmp)
        log("migrating and seeding")
        prepare(tmp, env)
        present = 0
        for size in COUNT_SIZES:
            began = time.monotonic()
            fill(tmp / "app.db", present + 1, size)
            present = size
            log(f"{size:,} confirmed signatures in place ({time.monotonic() - began:.1f} s)")
            rows.append(measure_counts(size, tmp, env, failures))
            if size in PACKET_SIZES:
                rows.append(measure("packet", size, tmp, env, rounds))
            if size in EXPORT_SIZES:
                rows.append(measure("export", size, tmp, env, rounds))
    except Exception as exc:  # report what was measured, and why the run stopped
        failures["run aborted"] = repr(exc)[:2000]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta = {
        "mode": "quick" if args.quick else "full",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.monotonic() - started, 1),
        "ratio": "app seconds / baseline seconds, best of the rounds, same run",
        "loadavg": os.getloadavg(),
        "rows": [{**asdict(r), "time_ratio": r.time_ratio} for r in rows],
        "failures": failures,
    }
    merge_results(args.output, figures_of(rows), meta)
    print(f"campaign bench, data sizes ({meta['mode']}, {meta['elapsed_s']:.0f} s)")
    print(table(rows))
    if failures:
        print("FAILURES:")
        for name, what in failures.items():
            print(f"  {name}: {json.dumps(what, default=str)[:400]}")
    print(f"written {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
