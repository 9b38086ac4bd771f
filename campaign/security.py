"""Signed tokens, keyed hashing of network addresses, and response headers."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, Response, current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# One salt per purpose: a token made for one purpose is refused by every other.
SALTS = {
    "confirm": "signature-confirm",
    "erase": "signature-erase",
    "unsubscribe": "updates-unsubscribe",
}


class TokenError(Exception):
    """A token that is forged, malformed or for another purpose."""


class TokenExpired(TokenError):
    """A genuine token that is too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALTS[purpose])


def make_token(purpose: str, payload: Any) -> str:
    """Sign ``payload`` for ``purpose``."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> Any:
    """Return the payload of a valid token or raise ``TokenExpired``/``TokenError``."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise TokenExpired(str(exc)) from exc
    except BadSignature as exc:
        raise TokenError(str(exc)) from exc


def hash_address(address: str | None) -> str | None:
    """Keyed hash (HMAC-SHA256) of a network address; the clear address is never stored.

    HMAC with the app's secret is fast (microseconds, unlike a password hash) and cannot
    be reversed by hashing the whole IPv4 space without the key.
    """
    if not address:
        return None
    key = hashlib.sha256(b"ip-hash:" + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def client_address() -> str | None:
    """The request's remote address (set ``ProxyFix`` in front of a proxy)."""
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
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "interest-cohort=()")
        return response
