"""Fixtures: one migrated database per session (SQLite, or TEST_DATABASE_URL), emptied
after every test; an app, a client, and helpers that act as a supporter would."""

from __future__ import annotations

import email
import os
import re
import socket
from email.message import Message
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from campaign import create_app
from campaign.config import TestingConfig
from campaign.extensions import db
from campaign.limits import limiter
from campaign.signatures.counts import clear_cache

SEED_SLUG = "us-china-human-rights-2011"


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL (emptied first) or a fresh SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if url.startswith("postgresql"):
            _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The application, on a database migrated to head by the real migrations."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.MAIL_BACKEND = "file"
    config.MAIL_FILE_DIR = str(tmp_path_factory.mktemp("mail"))
    config.PACKET_DIR = str(tmp_path_factory.mktemp("packets"))
    config.UPLOAD_DIR = str(tmp_path_factory.mktemp("uploads"))
    config.PUBLIC_URL = "https://petition.example.org"
    app = create_app(config)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client that keeps no context between requests (pytest-flask's one does,
    so a second client in the same test would share its ``g`` and CSRF token)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for ``flask`` commands."""
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's per-test request context: it leaks locale and session."""
    return


@pytest.fixture(autouse=True)
def _clean(app):
    """Empty every table and the mail folder after each test."""
    yield
    with app.app_context():
        limiter.reset()
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()
    for path in Path(app.config["MAIL_FILE_DIR"]).glob("*"):
        path.unlink()
    with app.app_context():
        clear_cache()


@pytest.fixture
def seeded(app):
    """The seed campaign, loaded by the same code as ``flask campaign seed``."""
    from campaign.campaigns.seed import load_campaign_file

    with app.app_context():
        campaign, _ = load_campaign_file()
        db.session.commit()
        ids = [d.id for d in campaign.demands]
    return {"slug": SEED_SLUG, "demand_ids": ids}


def csrf_token(client, url: str) -> str:
    """Read the CSRF token from a page, as a browser would submit it."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "no CSRF token on " + url
    return match.group(1)


def form_data(demand_ids, **overrides) -> dict:
    """A valid signing form; keyword arguments replace fields."""
    data = {
        "name": "Jane Doe",
        "email": "jane@example.org",
        "country": "US",
        "region": "",
        "affiliation": "",
        "comment": "",
        "demands": [str(d) for d in demand_ids],
        "display": "full",
        "name_in_letters": "y",
        "updates": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def sign(client, seeded, lang: str = "en", headers: dict | None = None, take=True, **fields):
    """Submit the signing form on the seed campaign's page, as its own page would.

    The form carries no token: a browser says where it was sent from (``crossorigin``).
    With ``take``, the worker's first step follows at once (the signature is found or
    created and its mail queued), as it does a moment later in production.
    """
    data = form_data(seeded["demand_ids"], **fields)
    sent = {"Sec-Fetch-Site": "same-origin", **(headers or {})}
    response = client.post(f"/{lang}/c/{seeded['slug']}/sign", data=data, headers=sent)
    if take and response.status_code == 303:
        from campaign.signatures.services import take_received

        with client.application.app_context():
            take_received()
    return response


def deliver(app) -> None:
    """Take submissions, run due jobs, deliver due mail: a pass of ``flask worker``.

    (Without the fold, purge and recount: counts are exact before a fold.)
    """
    from campaign import jobs
    from campaign.mail.outbox import deliver_due
    from campaign.signatures.services import take_received
    from campaign.worker import load_handlers

    load_handlers()
    from campaign.signatures.services import apply_pressed

    with app.app_context():
        take_received()
        apply_pressed()
        jobs.run_due()
        deliver_due()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app, monkeypatch):
    """The app's mail goes to a port on loopback; ``smtp(handler)`` starts a real server there.

    ``handler`` is an aiosmtpd handler (``handle_RCPT``, ``handle_DATA``); a test that
    never starts one has nothing listening on the port.
    """
    from aiosmtpd.controller import Controller

    port = free_port()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    started = []

    def start(handler: object) -> object:
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return handler

    yield start
    for controller in started:
        controller.stop()


def redis_up() -> bool:
    """Whether this machine's Redis answers on 127.0.0.1:6379 (CI's does)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


def run_jobs(app) -> int:
    """Run the due background jobs, as the worker does a moment after a request."""
    from campaign import jobs
    from campaign.worker import load_handlers

    load_handlers()
    with app.app_context():
        return jobs.run_due()


def mails(app) -> list[Message]:
    """Every .eml written by the file backend, oldest first."""
    folder = Path(app.config["MAIL_FILE_DIR"])
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]


def confirm_link(message: Message) -> str:
    """The path of the confirmation link in a mail's plain-text part."""
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/\S*/confirm/\S+)", body)
    assert match, body
    return match.group(1)


def confirm(client, link: str):
    """Open a confirmation link and press its button, as a person would; the final page."""
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    if 'method="post"' not in html:
        return page  # already confirmed: the link shows the thank-you page
    done = client.post(link)
    assert done.status_code == 303, done.status_code
    from campaign.signatures.services import apply_pressed

    with client.application.app_context():
        apply_pressed()  # the worker's part, a moment later in production
    return client.get(done.headers["Location"])


def erase_by_link(client, app, address: str) -> str:
    """Ask for the erasure link on the privacy page, open it and press the button.

    Returns the link's token (to search logs and files for it).
    """
    client.post("/en/privacy/erase", data={"email": address})
    deliver(app)
    bodies = [m.get_body(("plain",)).get_content() for m in mails(app)]
    [link] = [re.search(r"https?://[^/\s]+(/\S*/erase/\S+)", b).group(1) for b in bodies
              if "/erase/" in b]  # fmt: skip
    assert 'method="post"' in client.get(link).get_data(as_text=True)
    done = client.post(link)
    assert "has been erased" in done.get_data(as_text=True)
    return link.rsplit("/", 1)[1]


def outbox_count(app) -> int:
    """How many messages the outbox holds."""
    from campaign.mail.models import OutboxMessage

    with app.app_context():
        return db.session.query(OutboxMessage).count()


def signature_count(app) -> int:
    """How many signature rows exist."""
    from campaign.signatures.models import Signature

    with app.app_context():
        return db.session.query(Signature).count()


# -- staff ---------------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def make_user(app, email="admin@example.org", roles=("admin",), password=PASSWORD):
    from campaign.accounts import services

    with app.app_context():
        services.create_user(email, password, list(roles))
        db.session.commit()


def token_from(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def login(client, email="admin@example.org", password=PASSWORD):
    token = token_from(client, "/staff/login")
    return client.post(
        "/staff/login", data={"email": email, "password": password, "csrf_token": token}
    )


@pytest.fixture
def organiser(app, client, seeded) -> str:
    """``client`` logged in as an organiser; the value is a CSRF token for its forms."""
    make_user(app, "org@example.org", roles=("organiser",))
    login(client, "org@example.org")
    return token_from(client, "/staff/")


def confirmed_supporters(client, app, seeded, country: str, n: int) -> None:
    """``n`` supporters from ``country`` sign every demand and confirm, as people would."""
    for i in range(n):
        sign(client, seeded, country=country, email=f"{country.lower()}{i}@example.org",
             name=f"Supporter {country} {i}")  # fmt: skip
    deliver(app)
    for message in mails(app):
        if re.fullmatch(rf"{country.lower()}\d+", str(message["To"]).split("@")[0]):
            confirm(client, confirm_link(message))
    deliver(app)


def post_multipart(client, url: str, data: dict):
    """POST ``data`` as a form with files (values ``(BytesIO, name)`` are files).

    The request is built here to close the body's temporary file, which the test client
    leaves open for large bodies.
    """
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=url, method="POST", data=data, content_type="multipart/form-data")
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
