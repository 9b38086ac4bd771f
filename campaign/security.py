"""Link-token errors, keyed hashing of network addresses, and response headers."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from flask import Flask, Response, current_app, request

from campaign import urls


class TokenError(Exception):
    """A link token that is unknown, malformed, for another purpose, or whose record is gone."""


class TokenExpired(TokenError):
    """A genuine link token that is too old."""


def hash_address(address: str | None) -> str | None:
    """Keyed hash (HMAC-SHA256) of a network address; the clear address is never stored.

    HMAC with the app's secret is fast (microseconds, unlike a password hash) and cannot
    be reversed by hashing the whole IPv4 space without the key.
    """
    if not address:
        return None
    return keyed_digest(b"ip-hash", address)


def keyed_digest(purpose: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a key derived from the secret for ``purpose``.

    One key per purpose, so a digest made for one use (an address, a mailbox counter)
    cannot be matched against another's.
    """
    key = hashlib.sha256(purpose + b":" + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def client_address() -> str | None:
    """The client's address: the peer's, or behind ``TRUSTED_PROXIES`` hops the forwarded one."""
    return request.remote_addr


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def register_headers(app: Flask) -> None:
    """Security headers on every response; nothing may load from other hosts."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "interest-cohort=()")
        hsts = app.config.get("HSTS_SECONDS", 0)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts}")
        onion = urls.onion_base()
        if (
            onion
            and app.config.get("ONION_LOCATION")
            and response.mimetype == "text/html"
            and not urls.on_onion()
        ):
            # Tor Browser offers the onion address of the same page: the path only, quoted,
            # so a path of any bytes (a hostile 404) cannot break the header.
            response.headers["Onion-Location"] = onion + quote(request.path, safe="/-._~")
        return response
