"""Rate limits (Flask-Limiter): per client address, per mailbox, and for everyone at once.

Counters are keyed by keyed hashes, never by a clear address or e-mail, and live in Redis
when ``REDIS_URL`` is set (so every process and server shares them), else in memory. A
limited request is refused before its view runs: it writes nothing and mails nothing.
When the counter store itself fails, requests are let through (and the failure logged):
turning supporters away because Redis restarted would be the worse outcome.

The figures are configuration (``LIMIT_*``), read on every request, so they are documented
in one place (README, "Security and privacy") and a test can lower them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from email_validator import EmailNotValidError
from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_login import current_user
from limits.storage import MemoryStorage
from werkzeug.exceptions import HTTPException

from campaign.accounts.models import STAFF_ROLES
from campaign.emails import canonical_mailbox, normalise_email
from campaign.security import client_address, hash_address, keyed_digest

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SweptMemoryStorage(MemoryStorage):
    """``limits``' memory storage, with its expired counters swept every few seconds.

    The stock one re-arms a timer every 10 ms that walks every key: with one key per
    supporter's address (tens of thousands on a busy night, kept for the hour a limit
    spans) that walk takes the interpreter lock for much of the time and every request
    slows down (measured: 1.8 ms to 2.6 ms a request over 30,000 addresses). Expired
    counters are ignored when read anyway; the sweep only frees their memory, so it can
    run rarely. (Redis expires its keys itself.)
    """

    STORAGE_SCHEME = ["campaign-memory"]
    SWEEP_SECONDS = 5.0

    def __init__(self, uri: str | None = None, **options: object) -> None:
        super().__init__(uri, **options)
        self.timer.cancel()  # the stock 10 ms one
        self._arm()

    def _arm(self) -> None:
        self.timer = threading.Timer(self.SWEEP_SECONDS, self._MemoryStorage__expire_events)
        self.timer.daemon = True
        self.timer.start()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides the private one
        if not self.timer.is_alive():
            self._arm()


def client_key() -> str:
    """The requesting client: the keyed hash of its address (behind ``TRUSTED_PROXIES``)."""
    return "a:" + (hash_address(client_address()) or "unknown")


def _mailbox() -> str | None:
    """The canonical mailbox of the form's ``email`` field, or None when it has none."""
    if "limit_mailbox" not in g:
        try:
            value = request.form.get("email", "")
        except HTTPException:
            # Too large or malformed: the view refuses it. Raising here would make
            # Flask-Limiter take its store for dead and stop limiting every request.
            value = ""
        try:
            g.limit_mailbox = canonical_mailbox(normalise_email(value)) if value else None
        except (EmailNotValidError, ValueError):
            g.limit_mailbox = None  # refused by the form anyway; the address limit applies
    return g.limit_mailbox


def mailbox_key() -> str:
    """The mailbox the form names (+tag and dot variants together), as a keyed hash."""
    return "m:" + keyed_digest(b"limit-mailbox", _mailbox() or "")


def everyone_key() -> str:
    """One counter for all clients: the ceiling a distributed flood meets."""
    return "all"


def _no_mailbox() -> bool:
    return _mailbox() is None


def _not_a_visitor_form() -> bool:
    # The default limit is for forms an anonymous visitor sends; pages are cached and
    # cost nothing, and the organisation's own staff are known people behind a password.
    # A partner organisation's login is someone else's: it stays limited like a visitor.
    if request.method in SAFE_METHODS:
        return True
    return current_user.is_authenticated and bool(current_user.roles & set(STAFF_ROLES))


def setting(name: str) -> Callable[[], str]:
    """A limit read from configuration when the request is checked."""
    return lambda: current_app.config[name]


limiter = Limiter(
    key_func=client_key,
    default_limits=[setting("LIMIT_FORMS_PER_ADDRESS")],
    default_limits_exempt_when=_not_a_visitor_form,
    swallow_errors=True,
    in_memory_fallback_enabled=True,
    key_prefix="campaign-limits",
)


@limiter.request_filter
def _reading() -> bool:
    # Every limit is on a form; a page or an API answer skips the limiter's whole walk
    # over the route's limits (a quarter of a cached page's time, measured).
    return request.method in SAFE_METHODS


def per_address(name: str) -> Callable:
    """Limit a view per client address with the configured ``name``."""
    return limiter.limit(setting(name), key_func=client_key, methods=["POST"])


def per_mailbox(name: str) -> Callable:
    """Limit a view per mailbox named by its ``email`` field (skipped without one)."""
    return limiter.limit(
        setting(name), key_func=mailbox_key, methods=["POST"], exempt_when=_no_mailbox
    )


def for_everyone(name: str) -> Callable:
    """Limit a view for all clients together with the configured ``name``."""
    return limiter.limit(setting(name), key_func=everyone_key, methods=["POST"])


def retry_after() -> int:
    """Seconds until the limit that refused this request lets it through again."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - datetime.now(UTC).timestamp()))


def register(app: Flask) -> None:
    """Bind the limiter with its storage: Redis when configured, else this process's memory."""
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "campaign-memory://"
    )
    limiter.init_app(app)


def too_many(response: Response, wait: int) -> Response:
    """Add ``Retry-After`` (``wait``, from ``retry_after``) to the 429 page."""
    response.headers["Retry-After"] = str(wait)
    response.headers["Cache-Control"] = "no-store"
    return response
