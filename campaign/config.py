"""Configuration classes, read from the environment.

``APP_ENV`` chooses the class: ``development`` (default), ``production`` or ``testing``.
Production refuses to start with a missing or weak ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _list(name: str) -> list[str] | None:
    value = os.environ.get(name, "")
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or None


def _dev_secret_key() -> str:
    """A random key kept under ``instance/`` so development sessions survive restarts."""
    path = INSTANCE / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE / 'campaign.db'}"
    )
    # hide_parameters: a failed statement's values (addresses, names) stay out of errors.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None

    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    BABEL_DEFAULT_LOCALE = "en"

    WTF_CSRF_TIME_LIMIT = 4 * 3600
    MAX_CONTENT_LENGTH = 64 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)

    # "json" for structured logs (production's default), "text" for plain lines.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_FILE_DIR = os.environ.get("MAIL_FILE_DIR", str(INSTANCE / "mail"))
    # Letter packets are written here, one folder per build.
    PACKET_DIR = os.environ.get("PACKET_DIR", str(INSTANCE / "packets"))
    # Files organisers publish (officials' replies) are kept here, served from our server.
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE / "uploads"))
    # Largest file an organiser may upload (PDF, PNG or JPEG), in megabytes.
    UPLOAD_MAX_MB = max(1, _int("UPLOAD_MAX_MB", 10))
    # A build that reports no progress for this long is shown as stopped, with "Try again".
    PACKET_STALL_MINUTES = _int("PACKET_STALL_MINUTES", 10)
    # Optional TrueType fonts embedded in letters for every script but Chinese (which keeps
    # the standard CID fonts); without them, Helvetica covers Western European names only.
    PACKET_FONT = os.environ.get("PACKET_FONT", "")
    PACKET_FONT_BOLD = os.environ.get("PACKET_FONT_BOLD", "")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "campaign@localhost")
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 12)

    # Staff sessions end after this much inactivity.
    STAFF_SESSION_MINUTES = _int("STAFF_SESSION_MINUTES", 30)
    PERMANENT_SESSION_LIFETIME = STAFF_SESSION_MINUTES * 60
    REMEMBER_COOKIE_DURATION = 0
    LOGIN_WINDOW_MINUTES = _int("LOGIN_WINDOW_MINUTES", 15)
    LOGIN_MAX_FAILURES_PER_ACCOUNT = _int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _int("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)

    # Proxy hops in front of the app whose X-Forwarded-For and -Proto are believed (nginx:
    # 1). With 0 the headers are ignored: anyone can send them.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)

    # Rate limits (Flask-Limiter syntax: "N per minute", several joined by ";"). Per client
    # address (its keyed hash), per mailbox (+tag and dot variants together) and for
    # everyone at once. Counters live in Redis with REDIS_URL (shared by every process),
    # else in each process's memory. See README, "Security and privacy".
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # Two counters per key and window, the previous one weighed in: cheap, and close to a
    # true sliding window (at a window's turn it may let one more request through).
    RATELIMIT_STRATEGY = os.environ.get("RATELIMIT_STRATEGY", "sliding-window-counter")
    LIMIT_SIGN_PER_ADDRESS = os.environ.get("LIMIT_SIGN_PER_ADDRESS", "30 per minute;300 per hour")
    LIMIT_SIGN_PER_MAILBOX = os.environ.get("LIMIT_SIGN_PER_MAILBOX", "10 per hour;30 per day")
    LIMIT_SIGN_GLOBAL = os.environ.get("LIMIT_SIGN_GLOBAL", "6000 per minute")
    LIMIT_CONFIRM_PER_ADDRESS = os.environ.get("LIMIT_CONFIRM_PER_ADDRESS", "60 per minute")
    LIMIT_ERASE_PER_ADDRESS = os.environ.get("LIMIT_ERASE_PER_ADDRESS", "10 per hour")
    LIMIT_ERASE_PER_MAILBOX = os.environ.get("LIMIT_ERASE_PER_MAILBOX", "3 per hour")
    LIMIT_LOGIN_PER_ADDRESS = os.environ.get("LIMIT_LOGIN_PER_ADDRESS", "10 per minute;60 per hour")
    LIMIT_LOGIN_GLOBAL = os.environ.get("LIMIT_LOGIN_GLOBAL", "120 per minute")
    # Every other form a visitor can send (staff who are logged in are not limited).
    LIMIT_FORMS_PER_ADDRESS = os.environ.get("LIMIT_FORMS_PER_ADDRESS", "60 per minute")

    # Moderation heuristics: a confirmed signature is held for review when...
    HOLD_BURST_MINUTES = _int("HOLD_BURST_MINUTES", 10)
    # ...this many other signatures came from its network address in HOLD_BURST_MINUTES,
    HOLD_BURST_PER_ADDRESS = _int("HOLD_BURST_PER_ADDRESS", 20)
    # ...or this many near-identical names came from its address within 24 hours.
    HOLD_SIMILAR_NAMES = _int("HOLD_SIMILAR_NAMES", 3)
    # Trending: signing in the last hour at least this many times, and this many times
    # the hourly average of the week before.
    TRENDING_MIN_PER_HOUR = _int("TRENDING_MIN_PER_HOUR", 20)
    TRENDING_FACTOR = _int("TRENDING_FACTOR", 5)

    # Pace of campaign updates through the outbox.
    UPDATE_MAIL_PER_MINUTE = _int("UPDATE_MAIL_PER_MINUTE", 600)

    # The base of every absolute link (mails, packets, QR codes, share links). Links are
    # never built from the request's Host header. Development defaults to HOST and PORT.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "").rstrip("/")
    # Host names the app answers to (Flask's TRUSTED_HOSTS); other hosts get 400.
    # Production defaults to PUBLIC_URL's host; development accepts any.
    TRUSTED_HOSTS = _list("TRUSTED_HOSTS")
    # The site's onion service address (http://<56 characters>.onion), when there is one:
    # pages asked for there link there, and mails add the onion form of their link.
    ONION_URL = os.environ.get("ONION_URL", "").rstrip("/")
    # Send Tor Browser the Onion-Location header on every page of the public address.
    ONION_LOCATION = _bool("ONION_LOCATION", False)
    CONFIRM_MAX_AGE_DAYS = _int("CONFIRM_MAX_AGE_DAYS", 7)
    CONFIRM_MAIL_INTERVAL_SECONDS = _int("CONFIRM_MAIL_INTERVAL_SECONDS", 120)
    # How long the private link to a supporter's own page works (each mail brings a new one).
    MY_LINK_MAX_AGE_DAYS = max(1, _int("MY_LINK_MAX_AGE_DAYS", 365))
    # "1 supporter from Tibet" can identify a person: public breakdowns name a country only
    # from this many supporters, and sum the smaller ones as other countries.
    PUBLIC_COUNTRY_MIN = max(1, _int("PUBLIC_COUNTRY_MIN", 10))
    COUNT_CACHE_SECONDS = _int("COUNT_CACHE_SECONDS", 3)
    # /metrics answers only a request carrying "Authorization: Bearer <METRICS_TOKEN>";
    # without a token it answers 404 to everyone.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    # /readyz fails when no worker has finished a pass for this long.
    WORKER_STALE_SECONDS = _int("WORKER_STALE_SECONDS", 60)
    IP_HASH_RETENTION_DAYS = _int("IP_HASH_RETENTION_DAYS", 30)
    UNCONFIRMED_RETENTION_DAYS = _int("UNCONFIRMED_RETENTION_DAYS", 30)
    SENT_MAIL_RETENTION_DAYS = _int("SENT_MAIL_RETENTION_DAYS", 7)
    # Undelivered packet builds are deleted from disk after this many days (their record
    # and counts stay); delivered ones are kept as the record of what was handed over.
    PACKET_RETENTION_DAYS = _int("PACKET_RETENTION_DAYS", 30)
    # Lifetimes of the links in mails to supporters.
    UNSUBSCRIBE_MAX_AGE_DAYS = _int("UNSUBSCRIBE_MAX_AGE_DAYS", 365)
    ERASE_MAX_AGE_DAYS = _int("ERASE_MAX_AGE_DAYS", 2)
    # Strict-Transport-Security max-age in seconds; 0 sends no header.
    HSTS_SECONDS = _int("HSTS_SECONDS", 0)

    def __init__(self) -> None:
        if not self.SECRET_KEY:
            self.SECRET_KEY = _dev_secret_key()
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "").rstrip("/")
        self.TRUSTED_HOSTS = _list("TRUSTED_HOSTS")
        if not self.PUBLIC_URL and self.ENV_NAME == "development":
            host = os.environ.get("HOST") or "127.0.0.1"
            self.PUBLIC_URL = f"http://{host}:{os.environ.get('PORT') or 5000}"


class DevelopmentConfig(Config):
    """Local development: SQLite under ``instance/``, mail written to files."""


class TestingConfig(Config):
    """The test suite: a database given by ``TEST_DATABASE_URL`` or a temporary SQLite."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    COUNT_CACHE_SECONDS = 0
    RATELIMIT_STORAGE_URI = "campaign-memory://"
    # Exact counts, so a test that straddles a window's turn still sees every request.
    RATELIMIT_STRATEGY = "moving-window"
    # Tests sign many times from one address; the limit tests set their own figures.
    LIMIT_SIGN_PER_ADDRESS = LIMIT_SIGN_PER_MAILBOX = LIMIT_SIGN_GLOBAL = "10000 per minute"
    LIMIT_CONFIRM_PER_ADDRESS = LIMIT_FORMS_PER_ADDRESS = "10000 per minute"
    LIMIT_ERASE_PER_ADDRESS = LIMIT_ERASE_PER_MAILBOX = "10000 per minute"
    LIMIT_LOGIN_PER_ADDRESS = LIMIT_LOGIN_GLOBAL = "10000 per minute"

    def __init__(self) -> None:
        super().__init__()
        self.PUBLIC_URL = "http://localhost"


class ProductionConfig(Config):
    """Production: refuses to start without a strong secret or without ``PUBLIC_URL``."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    HSTS_SECONDS = _int("HSTS_SECONDS", 365 * 86400)

    # One JSON object per log line (request id, route, status, duration; no person).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    def __init__(self) -> None:
        key = os.environ.get("SECRET_KEY", "")
        if len(key) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to at least 32 random characters in production."
            )
        self.SECRET_KEY = key
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "").rstrip("/")
        self.TRUSTED_HOSTS = _list("TRUSTED_HOSTS")
        url = urlsplit(self.PUBLIC_URL)
        if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
            raise RuntimeError(
                "PUBLIC_URL must be set in production to the site's address, such as "
                "https://petition.example.org: every link in mails and packets is built on it."
            )
        if self.TRUSTED_HOSTS is None:
            self.TRUSTED_HOSTS = [url.hostname]
        onion = urlsplit(self.ONION_URL).hostname if self.ONION_URL else None
        if onion and onion not in self.TRUSTED_HOSTS:
            self.TRUSTED_HOSTS.append(onion)
        if os.environ.get("MAIL_BACKEND", self.MAIL_BACKEND) == "console":
            # It prints whole messages, links and addresses included, where logs go.
            raise RuntimeError("MAIL_BACKEND=console is for development; use smtp or file.")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    """Instantiate the configuration class named by ``name`` or ``APP_ENV``."""
    name = name or os.environ.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]()
