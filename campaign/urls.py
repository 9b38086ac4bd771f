"""Absolute links and redirect targets: one rule each.

Every absolute link (mails, packets, QR codes, share links, the CLI) is built on
``PUBLIC_URL`` and never on the request's ``Host`` header, which a client chooses. A page
asked for on the configured onion address (``ONION_URL``) builds its links on that instead:
the host is only compared with configuration, never copied.
Every ``next``/``back`` parameter passes through ``safe_target``.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for

# Longest redirect target we follow; longer ones fall back to the default.
TARGET_MAX_LENGTH = 2000


def onion_base() -> str | None:
    """``ONION_URL`` without a trailing slash, or None when there is no onion service."""
    return (current_app.config.get("ONION_URL") or "").rstrip("/") or None


def public_base() -> str:
    """The configured base URL, without a trailing slash: the onion one on the onion."""
    if has_request_context() and on_onion():
        return onion_base()  # type: ignore[return-value]
    return current_app.config["PUBLIC_URL"].rstrip("/")


def on_onion() -> bool:
    """Whether this request came to the onion address."""
    base = onion_base()
    return base is not None and request.host.split(":", 1)[0].lower() == urlsplit(base).hostname


def _path(endpoint: str, values: dict) -> str:
    """The path of ``endpoint`` on this site, in a request or not (the worker, the CLI)."""
    if has_request_context():
        return url_for(endpoint, **values)
    # Outside a request Flask needs SERVER_NAME, which would also make the app refuse
    # every other host name: bind the URL map to PUBLIC_URL for this one link instead.
    base = urlsplit(public_base())
    adapter = current_app.url_map.bind(base.netloc, url_scheme=base.scheme or "http")
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values)


def external_url(endpoint: str, **values: object) -> str:
    """An absolute URL for ``endpoint`` on ``PUBLIC_URL`` (in the worker and CLI too)."""
    return public_base() + _path(endpoint, values)


def onion_url(endpoint: str, **values: object) -> str | None:
    """The same link as ``external_url`` on ``ONION_URL``, or None without one (mails)."""
    base = onion_base()
    return None if base is None else base + _path(endpoint, values)


def safe_target(target: str | None, default: str, prefix: str = "/") -> str:
    """``target`` when it is a path on this site under ``prefix``, else ``default``.

    Refused: other hosts and schemes (``//host``, ``/\\host``, ``https:``), any control or
    invisible formatting character (browsers drop a tab or newline and would read
    ``/<TAB>/evil`` as ``//evil``; a newline would break the header), and overlong values.
    """
    if not target or len(target) > TARGET_MAX_LENGTH or not target.startswith(prefix):
        return default
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in target):
        return default
    if target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
