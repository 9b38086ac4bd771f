"""Absolute links and redirect targets: one rule each.

Every absolute link (mails, packets, QR codes, share links, the CLI) is built on
``PUBLIC_URL`` and never on the request's ``Host`` header, which a client chooses.
Every ``next``/``back`` parameter passes through ``safe_target``.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

# Longest redirect target we follow; longer ones fall back to the default.
TARGET_MAX_LENGTH = 2000


def public_base() -> str:
    """The configured base URL, without a trailing slash."""
    return current_app.config["PUBLIC_URL"].rstrip("/")


def external_url(endpoint: str, **values: object) -> str:
    """An absolute URL for ``endpoint`` on ``PUBLIC_URL`` (in the worker and CLI too)."""
    if has_request_context():
        return public_base() + url_for(endpoint, **values)
    # Outside a request Flask needs SERVER_NAME, which would also make the app refuse
    # every other host name: bind the URL map to PUBLIC_URL for this one link instead.
    base = urlsplit(public_base())
    adapter = current_app.url_map.bind(base.netloc, url_scheme=base.scheme or "http")
    current_app.inject_url_defaults(endpoint, values)
    return public_base() + adapter.build(endpoint, values)


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
