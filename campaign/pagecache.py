"""Public pages and API answers rendered once per few seconds, then served as bytes.

The campaign page is the same for every visitor of a language between two count refreshes:
it carries no token and sets no cookie (see ``crossorigin``), so its bytes can be kept and
served again without a query or a template. The last rendering of each (page, campaign,
language) is kept for ``COUNT_CACHE_SECONDS``, the staleness the API already promises for
counts; ``Cache-Control`` lets a proxy in front (nginx) keep it as long.

With ``REDIS_URL`` the renderings live in Redis: every process and server serves the same
bytes (the same counts), renders a page once per few seconds between them, and a staff
change clears them everywhere at once. Without it (or while Redis does not answer) each
process keeps its own, and other processes' copies age out within the same few seconds.

Only complete ``200`` answers are kept; a form with errors, a 404 or a preview never is.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import redis
from flask import Response, current_app, make_response

from campaign import redisconn

_pages: dict[Hashable, tuple[float, bytes, str]] = {}
_values: dict[Hashable, tuple[float, object]] = {}
_lock = threading.Lock()
# The Redis set naming every key kept there, so ``clear`` deletes them without a SCAN over
# the rate limiter's many keys.
_INDEX = redisconn.PREFIX + "cache:keys"


def seconds() -> int:
    """How long a rendering is served again (0: never kept, as in the tests by default)."""
    return int(current_app.config["COUNT_CACHE_SECONDS"])


def _public(response: Response, ttl: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max(ttl, 1)}"
    return response


def _name(kind: str, key: Hashable) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return redisconn.PREFIX + kind + ":" + ":".join("" if p is None else str(p) for p in parts)


def _shared_get(name: str) -> bytes | None:
    found = redisconn.client()
    if found is None:
        raise LookupError(name)
    try:
        return found.get(name)
    except redis.RedisError as error:
        redisconn.failed(error)
        raise LookupError(name) from error


def _shared_set(name: str, data: bytes, ttl: int) -> None:
    found = redisconn.client()
    if found is None:
        return
    try:
        with found.pipeline(transaction=False) as pipe:
            pipe.set(name, data, ex=ttl)
            pipe.sadd(_INDEX, name)
            pipe.execute()
    except redis.RedisError as error:
        redisconn.failed(error)


def serve(key: Hashable, render: Callable[[], object]) -> Response:
    """The response for ``key``: kept bytes while fresh, else ``render()`` (kept if 200)."""
    ttl = seconds()
    name = _name("page", key)
    now = time.monotonic()
    try:
        if ttl <= 0:
            raise LookupError(name)
        shared = _shared_get(name)
        if shared is not None:
            content_type, _, body = shared.partition(b"\n")
            response = current_app.response_class(body, content_type=content_type.decode())
            return _public(response, ttl)
        local = False
    except LookupError:
        local = True
        hit = _pages.get(key) if ttl > 0 else None
        if hit is not None and hit[0] > now:
            response = current_app.response_class(hit[1], content_type=hit[2])
            return _public(response, ttl)
    response = make_response(render())
    if response.status_code != 200 or response.direct_passthrough:
        return response
    # Public pages neither read nor write the session (tested), and a page that sets a
    # cookie is someone's own: it is never kept.
    if ttl > 0 and "Set-Cookie" not in response.headers:
        body = response.get_data()
        if local:
            with _lock:
                _pages[key] = (now + ttl, body, response.content_type)
        else:
            _shared_set(name, response.content_type.encode() + b"\n" + body, ttl)
    return _public(response, ttl)


def remember(
    key: Hashable, compute: Callable[[], Any], load: Callable[[Any], Any] | None = None
) -> Any:
    """``compute()``, kept as long as a page: what the signing request reads every time.

    Only plain values or dataclasses of them (never ORM objects, which belong to one
    session). In Redis they are kept as JSON; ``load`` turns a dataclass's fields back into
    it (not called for None).
    """
    ttl = seconds()
    if ttl <= 0:
        return compute()
    name = _name("value", key)
    now = time.monotonic()
    try:
        shared = _shared_get(name)
        if shared is not None:
            value = json.loads(shared)
            return load(value) if load is not None and value is not None else value
        local = False
    except LookupError:
        local = True
        hit = _values.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    value = compute()
    if local:
        with _lock:
            _values[key] = (now + ttl, value)
    else:
        plain = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        _shared_set(name, json.dumps(plain).encode(), ttl)
    return value


def clear() -> None:
    """Forget every kept page and value: this process's and, with Redis, everyone's."""
    with _lock:
        _pages.clear()
        _values.clear()
    found = redisconn.client()
    if found is None:
        return
    try:
        names = found.smembers(_INDEX)
        if names:
            with found.pipeline(transaction=True) as pipe:
                pipe.delete(*names)
                pipe.srem(_INDEX, *names)
                pipe.execute()
    except redis.RedisError as error:
        redisconn.failed(error)
