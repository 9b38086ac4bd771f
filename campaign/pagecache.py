"""Public pages and API answers rendered once per few seconds, then served as bytes.

The campaign page is the same for every visitor of a language between two count refreshes:
it carries no token and sets no cookie (see ``crossorigin``), so its bytes can be kept and
served again without a query or a template. Each process keeps the last rendering of each
(page, campaign, language) for ``COUNT_CACHE_SECONDS``, the staleness the API already
promises for counts; ``Cache-Control`` lets a proxy in front (nginx) keep it as long.

Only complete ``200`` answers are kept; a form with errors, a 404 or a preview never is.
Staff changes clear this process's copies at once (``clear``); other processes' copies age
out within the same few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from flask import Response, current_app, make_response

_pages: dict[Hashable, tuple[float, bytes, str]] = {}
_values: dict[Hashable, tuple[float, object]] = {}
_lock = threading.Lock()


def seconds() -> int:
    """How long a rendering is served again (0: never kept, as in the tests by default)."""
    return int(current_app.config["COUNT_CACHE_SECONDS"])


def _public(response: Response, ttl: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max(ttl, 1)}"
    return response


def serve(key: Hashable, render: Callable[[], object]) -> Response:
    """The response for ``key``: kept bytes while fresh, else ``render()`` (kept if 200)."""
    ttl = seconds()
    now = time.monotonic()
    if ttl > 0:
        hit = _pages.get(key)
        if hit is not None and hit[0] > now:
            response = current_app.response_class(hit[1], content_type=hit[2])
            return _public(response, ttl)
    response = make_response(render())
    if response.status_code != 200 or response.direct_passthrough:
        return response
    # Public pages neither read nor write the session (tested), and a page that sets a
    # cookie is someone's own: it is never kept.
    if ttl > 0 and "Set-Cookie" not in response.headers:
        with _lock:
            _pages[key] = (now + ttl, response.get_data(), response.content_type)
    return _public(response, ttl)


def remember(key: Hashable, compute: Callable[[], object]) -> object:
    """``compute()``, kept as long as a page: what the signing request reads every time.

    Only plain values (never ORM objects, which belong to one session).
    """
    ttl = seconds()
    now = time.monotonic()
    hit = _values.get(key)
    if ttl > 0 and hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    if ttl > 0:
        with _lock:
            _values[key] = (now + ttl, value)
    return value


def clear() -> None:
    """Forget every kept page and value of this process (after staff changes, in tests)."""
    with _lock:
        _pages.clear()
        _values.clear()
