"""The outbox: mail is a row first; a failed delivery stays queued and is retried."""

from datetime import timedelta

import pytest

from campaign.extensions import db
from campaign.mail import outbox
from campaign.mail.models import OutboxMessage
from campaign.timeutil import utcnow
from tests.conftest import deliver, mails, sign


class Failing:
    """A mail server that is down."""

    def send(self, message):
        raise ConnectionRefusedError("mail server down")


class Recording:
    """A mail server that accepts everything."""

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def _queue_one(client, seeded):
    assert sign(client, seeded).status_code == 303


def test_mail_is_queued_with_the_signature_and_written_as_eml(client, app, seeded):
    _queue_one(client, seeded)
    with app.app_context():
        row = db.session.scalar(db.select(OutboxMessage))
        assert row.state == "queued"
        assert row.kind == "confirm"
        assert row.attempts == 0
    deliver(app)
    [message] = mails(app)
    assert message.is_multipart()
    with app.app_context():
        row = db.session.scalar(db.select(OutboxMessage))
        assert row.state == "sent"
        assert row.sent_at is not None


def test_failed_delivery_stays_queued_and_is_retried_with_backoff(client, app, seeded):
    _queue_one(client, seeded)
    with app.app_context():
        report = outbox.deliver_due(backend=Failing())
        assert report.failed == 1
        assert report.sent == 0
        row = db.session.scalar(db.select(OutboxMessage))
        assert row.state == "queued"
        assert row.attempts == 1
        assert "mail server down" in row.last_error
        assert row.next_attempt_at > utcnow()
        # Not due yet: a second pass does not hammer the server.
        recorder = Recording()
        assert outbox.deliver_due(backend=recorder).sent == 0
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert outbox.deliver_due(backend=recorder).sent == 1
        assert recorder.sent[0]["To"] == "jane@example.org"
        row = db.session.scalar(db.select(OutboxMessage))
        assert row.state == "sent"
        assert row.attempts == 2
        assert row.last_error == ""


def test_after_max_attempts_a_message_is_kept_as_failed_and_can_be_requeued(
    client, app, seeded, runner, monkeypatch
):
    _queue_one(client, seeded)
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 2)
    with app.app_context():
        for _ in range(2):
            db.session.execute(
                db.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(1))
            )
            db.session.commit()
            outbox.deliver_due(backend=Failing())
        row = db.session.scalar(db.select(OutboxMessage))
        assert row.state == "failed"
        assert row.attempts == 2
    result = runner.invoke(args=["outbox", "send", "--retry-failed"])
    assert "Requeued 1" in result.output
    assert "Sent 1" in result.output
    assert len(mails(app)) == 1


def test_a_message_claimed_by_a_crashed_worker_is_sent_later(client, app, seeded):
    _queue_one(client, seeded)
    with app.app_context():
        row = db.session.scalar(db.select(OutboxMessage))
        row.state = "sending"
        row.next_attempt_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    deliver(app)
    assert len(mails(app)) == 1


def test_backoff_grows_and_is_capped():
    delays = [outbox.backoff(n) for n in range(1, 15)]
    assert delays == sorted(delays)
    assert delays[0] == timedelta(seconds=30)
    assert delays[-1] == timedelta(hours=6)


@pytest.mark.parametrize("backend", ["console", "smtp"])
def test_other_backends_are_selectable(app, backend, monkeypatch):
    from campaign.mail.backends import ConsoleBackend, SmtpBackend, get_backend

    monkeypatch.setitem(app.config, "MAIL_BACKEND", backend)
    with app.app_context():
        chosen = get_backend()
    assert isinstance(chosen, ConsoleBackend if backend == "console" else SmtpBackend)


def test_smtp_backend_failure_keeps_the_message(client, app, seeded, monkeypatch):
    _queue_one(client, seeded)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 9)
    with app.app_context():
        report = outbox.deliver_due()
    assert report.failed == 1
    with app.app_context():
        assert db.session.scalar(db.select(OutboxMessage.state)) == "queued"


def test_requests_start_no_thread_and_the_worker_delivers(client, app, seeded, runner):
    import threading

    before = threading.active_count()
    _queue_one(client, seeded)
    assert threading.active_count() == before  # nothing runs in the web process
    assert mails(app) == []
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "mail: sent 1" in result.output
    assert len(mails(app)) == 1


class ErasedWhileSending:
    """A mail server during whose delivery the supporter erases their data."""

    def __init__(self, app):
        self.app = app
        self.sent = []

    def send(self, message):
        from sqlalchemy import delete

        with db.engine.begin() as conn:  # another transaction, as the erasing request's
            conn.execute(delete(OutboxMessage))
        self.sent.append(message)


def test_a_message_erased_while_being_sent_ends_the_pass_cleanly(client, app, seeded):
    """The erasure can write during the send (no lock is held) and the pass ends well."""
    _queue_one(client, seeded)
    with app.app_context():
        backend = ErasedWhileSending(app)
        report = outbox.deliver_due(backend=backend)
        assert report.sent == 1
        assert len(backend.sent) == 1
        assert db.session.scalar(db.select(OutboxMessage)) is None
