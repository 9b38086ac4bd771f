"""The one Redis client of a process, for the page cache, the worker's wake-up and /readyz.

Redis is optional: without ``REDIS_URL`` every caller works on its own (per-process
caches, a worker that polls). When it is configured but does not answer, callers fall back
the same way and the client is not asked again for ``RETRY_SECONDS``, so a dead Redis
costs one failed connection per few seconds, not one per request. Rate limits keep their
own connection inside Flask-Limiter, which has the same fallback.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from flask import current_app, has_app_context

log = logging.getLogger(__name__)

# Redis answers on loopback or a LAN in well under a millisecond: a slow one is a dead one.
TIMEOUT_SECONDS = 0.5
RETRY_SECONDS = 5.0
# Every key this project writes starts with this, so one Redis can serve other programs.
PREFIX = "campaign:"

_clients: dict[str, redis.Redis] = {}
_down_until: dict[str, float] = {}
_lock = threading.Lock()


def client() -> redis.Redis | None:
    """This process's client for ``REDIS_URL``, or None without one or while it is down."""
    if not has_app_context():
        return None
    url = current_app.config.get("REDIS_URL")
    if not url or _down_until.get(url, 0.0) > time.monotonic():
        return None
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.setdefault(
                url,
                redis.Redis.from_url(
                    url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
                ),
            )
    return found


def failed(error: Exception) -> None:
    """Note that Redis did not answer: callers use their fallback for a few seconds."""
    url = current_app.config.get("REDIS_URL")
    if url:
        if _down_until.get(url, 0.0) <= time.monotonic():
            log.warning("redis unreachable, falling back for %ss: %s", RETRY_SECONDS, error)
        _down_until[url] = time.monotonic() + RETRY_SECONDS


def ping() -> str:
    """``ok``, ``unreachable`` or ``not configured`` (for /readyz; ignores the back-off)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    _down_until.pop(url, None)
    try:
        client().ping()  # type: ignore[union-attr]
    except redis.RedisError as error:
        failed(error)
        return "unreachable"
    return "ok"


def reset() -> None:
    """Forget clients and back-offs (tests switch ``REDIS_URL`` between apps)."""
    with _lock:
        for found in _clients.values():
            found.close()
        _clients.clear()
        _down_until.clear()
