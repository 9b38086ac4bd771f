"""Waking the worker as soon as a request has queued work for it.

The work itself is always rows in the shared database (submissions, the outbox, jobs),
written in the same transaction as the request that asks for it, so nothing queued is lost
when Redis or a worker is not there. With ``REDIS_URL`` a request that changed something
also leaves one token in a Redis list, and an idle worker, on any server, waits on that
list instead of sleeping: it starts the moment there is something to do. Without Redis the
worker looks again after its idle interval (a second by default).
"""

from __future__ import annotations

import time

import redis
from flask import Flask, current_app, request

from campaign import redisconn

KEY = redisconn.PREFIX + "worker:wake"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_waiting: dict[str, redis.Redis] = {}


def nudge() -> None:
    """Leave a token for an idle worker (at most one waits in the list)."""
    found = redisconn.client()
    if found is None:
        return
    try:
        with found.pipeline(transaction=False) as pipe:
            pipe.lpush(KEY, 1)
            pipe.ltrim(KEY, 0, 0)
            pipe.execute()
    except redis.RedisError as error:
        redisconn.failed(error)


def wait(seconds: float) -> None:
    """Return after ``seconds``, or as soon as a request leaves a token."""
    url = current_app.config.get("REDIS_URL")
    if not url or redisconn.client() is None:
        time.sleep(seconds)
        return
    # A blocking read outlives the shared client's short timeout: a client of its own.
    found = _waiting.get(url) or _waiting.setdefault(
        url,
        redis.Redis.from_url(
            url,
            socket_timeout=seconds + redisconn.TIMEOUT_SECONDS,
            socket_connect_timeout=redisconn.TIMEOUT_SECONDS,
        ),
    )
    started = time.monotonic()
    try:
        found.blpop([KEY], timeout=seconds)
    except redis.RedisError as error:
        redisconn.failed(error)
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))


def register(app: Flask) -> None:
    """Nudge the worker after every request that may have queued something."""

    @app.after_request
    def _nudge(response):  # noqa: ANN001, ANN202
        if request.method not in _SAFE and response.status_code < 400:
            nudge()
        return response
