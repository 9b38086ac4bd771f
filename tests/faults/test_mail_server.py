"""The mail server is down, then refuses, then accepts: every message arrives, once.

A real SMTP server (aiosmtpd) on loopback; the outbox retries with growing back-off.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

from sqlalchemy import select, update

from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.mail.outbox import deliver_due
from campaign.timeutil import utcnow
from tests.conftest import confirm, confirm_link, sign


class FlakyServer:
    """An SMTP handler that refuses the first ``refuse`` messages with a 451, then accepts."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.refused = 0
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 2.0.0 OK"


def _queue(app) -> list[tuple[str, int, float]]:
    """Each message's state, attempts, and seconds until its next attempt."""
    with app.app_context():
        now = utcnow()
        return [
            (row.state, row.attempts, (row.next_attempt_at - now).total_seconds())
            for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def _time_passes(app) -> None:
    """The back-off has run out: every queued message is due."""
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "queued")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _deliver(app):
    with app.app_context():
        return deliver_due()


def test_mail_waits_out_a_server_that_is_down_then_refusing(app, client, seeded, smtp):
    for n in range(3):
        sign(client, seeded, email=f"person{n}@example.org")

    report = _deliver(app)  # nothing listens on the port
    assert (report.sent, report.failed) == (0, 3)
    first = _queue(app)
    assert [(s, a) for s, a, _ in first] == [("queued", 1)] * 3
    assert all(25 <= wait <= 30 for _, _, wait in first)  # back-off: 30 s

    server = smtp(FlakyServer(refuse=3))  # up, but refusing the next three messages
    _time_passes(app)
    report = _deliver(app)
    assert (report.sent, report.failed) == (0, 3)
    second = _queue(app)
    assert [(s, a) for s, a, _ in second] == [("queued", 2)] * 3
    assert all(55 <= wait <= 60 for _, _, wait in second)  # and growing: 60 s

    assert _deliver(app).sent == 0  # not due yet: nothing is sent early
    _time_passes(app)
    report = _deliver(app)
    assert (report.sent, report.failed) == (3, 0)
    assert [s for s, _, _ in _queue(app)] == ["sent"] * 3

    _time_passes(app)
    assert _deliver(app).sent == 0  # delivered ones are never sent again
    recipients = sorted(str(m["To"]) for m in server.received)
    assert recipients == [f"person{n}@example.org" for n in range(3)]
    # What arrived works: its link confirms.
    page = confirm(client, confirm_link(server.received[0]))
    assert page.status_code == 200


def test_a_message_that_keeps_failing_is_kept_as_failed_not_lost(app, client, seeded, smtp,
                                                                 monkeypatch):  # fmt: skip
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 2)
    sign(client, seeded)
    server = smtp(FlakyServer(refuse=10))
    _deliver(app)
    _time_passes(app)
    report = _deliver(app)
    assert report.gave_up == 1
    [(state, attempts, _)] = _queue(app)
    assert (state, attempts) == ("failed", 2)
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert "451" in row.last_error
    assert server.received == []
