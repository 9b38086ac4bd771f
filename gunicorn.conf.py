"""gunicorn's settings for `make serve`: `gunicorn -c gunicorn.conf.py wsgi:app`.

Each can be overridden from the environment (the names below) or on the command line.
"""

import multiprocessing
import os

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
