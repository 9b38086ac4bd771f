"""gunicorn's settings for `make serve`: `gunicorn -c gunicorn.conf.py wsgi:app`.

Each can be overridden from the environment (the names below) or on the command line.
"""

import multiprocessing
import os
import shutil
import tempfile

# HOST and PORT, as `make run` uses them.
bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)
# Sync workers: two per core and one, the usual figure for requests that wait on the
# database; WEB_CONCURRENCY sets it (a small server with SQLite does well with 2-4).
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A request that takes longer is a bug or an attack: its worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On a restart (SIGHUP, a deploy) workers finish what they are answering first.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Workers are recycled now and then (staggered), so a slow leak never reaches the limit.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's advice

# The access log carries no client address and no query string; link tokens in paths are
# redacted by the app's log filter (campaign/logsafe.py), which gunicorn's loggers pass through.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# Behind nginx the forwarded headers are the app's business (TRUSTED_PROXIES, ProxyFix).
forwarded_allow_ips = "127.0.0.1"

# /metrics adds up every worker's request figures from files in this folder
# (prometheus_client's multiprocess mode). Set before the workers start, emptied at each
# start, and a dead worker's live figures are dropped when it exits.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(
        "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir(),  # noqa: S108
        f"campaign-metrics-{os.getpid()}",
    ),
)
# Made here too: `--check-config` imports the app without running the hooks below.
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook
    """Start with an empty metrics folder: figures of an earlier run are not ours."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, mode=0o700, exist_ok=True)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook
    """Forget a finished worker's gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201 - gunicorn's hook
    """Remove the metrics folder when the server stops."""
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
