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

_pages: dict[Hashable, tuple[float, tuple[str, bytes]]] = {}
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


# What ``_get`` returns when nothing fresh is kept (a kept value may itself be None).
_MISS = object()


def _get(name: str, local: dict, key: Hashable, decode: Callable[[bytes], Any]) -> Any:
    """The kept value: from Redis when it answers, else from this process's ``local``."""
    store = redisconn.client()
    if store is not None:
        try:
            raw = store.get(name)
        except redis.RedisError as error:
            redisconn.failed(error)
        else:
            return _MISS if raw is None else decode(raw)
    hit = local.get(key)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else _MISS


def _put(name: str, local: dict, key: Hashable, value: Any, raw: bytes, ttl: int) -> None:
    """Keep ``value`` for ``ttl`` seconds: as ``raw`` in Redis, else in ``local``."""
    store = redisconn.client()
    if store is not None:
        try:
            with store.pipeline(transaction=False) as pipe:
                pipe.set(name, raw, ex=ttl)
                pipe.sadd(_INDEX, name)
                pipe.execute()
            return
        except redis.RedisError as error:
            redisconn.failed(error)
    with _lock:
        local[key] = (time.monotonic() + ttl, value)


def _page(raw: bytes) -> tuple[str, bytes]:
    content_type, _, body = raw.partition(b"\n")
    return content_type.decode(), body


def serve(key: Hashable, render: Callable[[], object]) -> Response:
    """The response for ``key``: kept bytes while fresh, else ``render()`` (kept if 200)."""
    ttl = seconds()
    name = _name("page", key)
    kept = _get(name, _pages, key, _page) if ttl > 0 else _MISS
    if kept is not _MISS:
        content_type, body = kept
        return _public(current_app.response_class(body, content_type=content_type), ttl)
    response = make_response(render())
    if response.status_code != 200 or response.direct_passthrough:
        return response
    # Public pages neither read nor write the session (tested), and a page that sets a
    # cookie is someone's own: it is never kept.
    if ttl > 0 and "Set-Cookie" not in response.headers:
        page = (response.content_type, response.get_data())
        _put(name, _pages, key, page, page[0].encode() + b"\n" + page[1], ttl)
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

    def decode(raw: bytes) -> Any:
        value = json.loads(raw)
        return load(value) if load is not None and value is not None else value

    value = _get(name, _values, key, decode)
    if value is _MISS:
        value = compute()
        plain = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        _put(name, _values, key, value, json.dumps(plain).encode(), ttl)
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
