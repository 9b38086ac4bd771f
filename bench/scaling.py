"""What a second app server gives: one server against two, behind nginx, on PostgreSQL.

Both sides run in the same process tree at once, on the same database and Redis: nginx
listens on two ports, one in front of one gunicorn server (the baseline), the other in front
of two (the figure), each server with the same number of workers. The ratios say how far a
second server carries the load; on this project's 2-core machine both sides share the same
two cores, so a ratio near 1 says the machine, not the app, is the limit, and the per-request
work (profiled in ``bench.run``) is what decides the gain from a second machine.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 6379 (CI's machine has both) and nginx and
wrk; without them it says so and exits 0. ``make bench`` runs it after the other figures.
Results go to ``bench/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.run import (
    FULL,
    PAGE_PATH,
    QUICK,
    RESULTS,
    SIGN_PATH,
    Figure,
    Gunicorn,
    Target,
    app_environment,
    check_answers,
    demand_ids_of,
    ensure_wrk,
    free_port,
    measure_pair,
    p99_figure,
    prepare_app_database,
    rate_figure,
    sign_body,
    table,
    write_body,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/11"
WORKERS_PER_SERVER = 2
NGINX = """worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    upstream one {{ server 127.0.0.1:{a}; }}
    upstream two {{ server 127.0.0.1:{b}; server 127.0.0.1:{c}; }}
    server {{
        listen 127.0.0.1:{one};
        location / {{ proxy_pass http://one; proxy_set_header Host $host;
                     proxy_set_header X-Forwarded-For $http_x_forwarded_for; }}
    }}
    server {{
        listen 127.0.0.1:{two};
        location / {{ proxy_pass http://two; proxy_set_header Host $host;
                     proxy_set_header X-Forwarded-For $http_x_forwarded_for; }}
    }}
}}
"""


def _up(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-c", sql], check=True, capture_output=True)


def run(plan_quick: bool) -> int:
    """Measure, print the table, write the JSON; 1 if an answer was not as expected."""
    nginx_bin = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if not (_up(5432) and _up(6379) and nginx_bin and shutil.which("psql")):
        print("bench.scaling skipped: needs PostgreSQL on :5432, Redis on :6379, nginx and psql")
        return 0
    ensure_wrk()
    plan = QUICK if plan_quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="campaign-scaling-"))
    name = f"scaling_{os.getpid()}"
    failures: dict = {}
    figures: list[Figure] = []
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(f'CREATE DATABASE "{name}"')
    started = time.monotonic()
    try:
        env = app_environment(tmp)
        env.update(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                   REDIS_URL=REDIS)  # fmt: skip
        subprocess.run(["redis-cli", "-n", "11", "flushdb"], capture_output=True, check=False)
        prepare_app_database(env)
        servers = [Gunicorn(f"server{n}", "wsgi:app", env, tmp) for n in range(3)]
        with ExitStack() as stack:
            for server in servers:
                stack.callback(server.stop)
                server.launch(WORKERS_PER_SERVER)
            for server in servers:
                server.wait_ready()
            one, two = free_port(), free_port()
            conf = tmp / "nginx.conf"
            conf.write_text(NGINX.format(tmp=tmp, a=servers[0].port, b=servers[1].port,
                                         c=servers[2].port, one=one, two=two))  # fmt: skip
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            proxy = subprocess.Popen([nginx_bin, "-p", str(tmp), "-c", str(conf)], **quiet)
            stack.callback(proxy.terminate)
            deadline = time.monotonic() + 10
            while not (_up(one) and _up(two)):
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start")
                time.sleep(0.1)
            demand_ids = demand_ids_of(servers[0].port)
            for port in (one, two):
                Target(port, PAGE_PATH, 200).run(plan.settle_s, "settle")
            browser = {"Content-Type": "application/x-www-form-urlencoded",
                       "Sec-Fetch-Site": "same-origin"}  # fmt: skip
            bodies = tmp / "bodies"
            bodies.mkdir()

            def body(side: str):  # noqa: ANN202 - a body maker for measure_pair
                return lambda tag: write_body(
                    bodies, f"{side}-{tag}", sign_body(demand_ids, f"{side}.{tag}"), browser
                )

            sides = measure_pair(plan, "two_servers_page", Target(two, PAGE_PATH, 200),
                                 Target(one, PAGE_PATH, 200))  # fmt: skip
            check_answers("two_servers_page", sides, {"app": 200, "baseline": 200}, failures)
            figures.append(rate_figure("two_servers_page", "campaign page, 2 servers / 1", sides))
            sides = measure_pair(
                plan, "two_servers_sign",
                Target(two, SIGN_PATH, 303, "post", str(body("two")("x"))),
                Target(one, SIGN_PATH, 303, "post", str(body("one")("x"))),
                bodies={"app": body("two"), "baseline": body("one")},
            )  # fmt: skip
            check_answers("two_servers_sign", sides, {"app": 303, "baseline": 303}, failures)
            figures.append(rate_figure("two_servers_sign", "signing POST, 2 servers / 1", sides))
            figures.append(p99_figure("two_servers_sign_p99", "signing POST, 2 servers / 1", sides))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run(["redis-cli", "-n", "11", "flushdb"], capture_output=True, check=False)
    elapsed = time.monotonic() - started
    out = RESULTS / "scaling.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "mode": plan.name, "elapsed_s": round(elapsed, 1), "cpus": os.cpu_count(),
        "workers_per_server": WORKERS_PER_SERVER, "database": "postgresql", "redis": True,
        "ratio": "two servers / one server, same run, same database and Redis",
        "figures": {f.key: {"value": f.app, "baseline": f.baseline, "ratio": f.ratio,
                            "unit": f.unit} for f in figures},
        "failures": failures,
    }, indent=2, default=str))  # fmt: skip
    print(f"campaign bench, scaling ({plan.name}, {elapsed:.0f} s): ratio = two servers / one")
    if figures:
        print(table(figures))
    print("failures:", failures or "none")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.scaling [--quick]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.scaling")
    parser.add_argument("--quick", action="store_true", help="shorter load phases")
    return run(parser.parse_args(argv).quick)


if __name__ == "__main__":
    sys.exit(main())
