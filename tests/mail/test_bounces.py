"""Bounces and complaints: a refused address gets no more mail until its owner signs again.

The refusals come from a real SMTP server (aiosmtpd) on loopback that refuses one recipient.
"""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib
from datetime import timedelta

from sqlalchemy import select, update

from campaign.campaigns import updates
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.mail import bounces, outbox
from campaign.mail.models import MailSuppression, OutboxMessage
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow
from tests.conftest import confirm, confirm_link, deliver, mails, sign

GONE = "gone@example.org"


class RefusingServer:
    """Refuses the addresses in ``refused`` with a 550 at RCPT, accepts everyone else."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)
        self.tried: list[str] = []
        self.received: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        self.tried.append(address)
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 2.0.0 OK"


def _rows(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [
            (m.recipient, m.state, m.last_error)
            for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def _time_passes(app) -> None:
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "queued")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _bounced_at(app, address: str):
    with app.app_context():
        return db.session.scalar(select(Signature.bounced_at).where(Signature.email == address))


def test_a_refused_confirmation_is_marked_bounced_and_never_sent_again(
    app, client, seeded, smtp, caplog
):
    server = smtp(RefusingServer(GONE))
    sign(client, seeded, email=GONE)
    sign(client, seeded, email="fine@example.org")
    with caplog.at_level(logging.WARNING), app.app_context():
        report = outbox.deliver_due()
    assert (report.sent, report.bounced, report.failed) == (1, 1, 0)
    assert _rows(app) == [
        (GONE, "bounced", "550 5.1.1"),  # the code, not the server's text naming the address
        ("fine@example.org", "sent", ""),
    ]
    assert _bounced_at(app, GONE) is not None
    assert _bounced_at(app, "fine@example.org") is None
    with app.app_context():
        [row] = db.session.scalars(select(MailSuppression)).all()
        assert (row.reason, row.status) == ("bounce", "550 5.1.1")
        assert row.address_hash == bounces.address_hash(GONE)
        assert "gone" not in row.address_hash  # a keyed hash, never the address
        assert bounces.is_suppressed(GONE)
        assert not bounces.is_suppressed("fine@example.org")
    assert GONE not in caplog.text

    _time_passes(app)
    with app.app_context():
        assert outbox.deliver_due().bounced == 0
    assert server.tried.count(GONE) == 1  # not retried like a 4xx would be


def test_a_suppressed_address_gets_no_update_or_confirmation_but_erasure_mail_still_goes(
    app, client, seeded, smtp
):
    server = smtp(RefusingServer())
    with app.app_context():
        bounces.suppress(GONE, "complaint")
        db.session.commit()
        for kind in ("update", "confirm", "erase"):
            db.session.add(OutboxMessage(recipient=GONE, subject=kind, body_text=kind, kind=kind))
        db.session.commit()
        report = outbox.deliver_due()
    assert (report.suppressed, report.sent) == (2, 1)
    assert [state for _r, state, _e in _rows(app)] == ["suppressed", "suppressed", "sent"]
    assert [str(m["Subject"]) for m in server.received] == ["erase"]


def test_signing_again_and_confirming_lifts_the_suppression(app, client, seeded, smtp):
    server = smtp(RefusingServer(GONE))
    sign(client, seeded, email=GONE)
    deliver(app)
    assert _bounced_at(app, GONE) is not None

    server.refused.clear()  # the mailbox works again, and its owner signs once more
    sign(client, seeded, email=GONE)
    with app.app_context():
        # Typing the address lifts nothing: a stranger could have typed it.
        assert bounces.is_suppressed(GONE)
    assert _bounced_at(app, GONE) is not None
    _time_passes(app)  # the second confirmation waits out the mail interval
    deliver(app)
    assert server.tried.count(GONE) == 2  # a bounce lets a new confirmation through
    [message] = server.received
    page = confirm(client, confirm_link(message))
    assert page.status_code == 200
    deliver(app)
    with app.app_context():
        assert db.session.scalar(select(Signature.state).where(Signature.email == GONE)) == (
            "confirmed"
        )
        assert not bounces.is_suppressed(GONE)
    assert _bounced_at(app, GONE) is None


def test_a_stranger_signing_with_an_address_does_not_undo_its_complaint(app, client, seeded, smtp):
    server = smtp(RefusingServer())
    with app.app_context():
        bounces.suppress(GONE, "complaint")
        db.session.commit()
    sign(client, seeded, email=GONE)
    deliver(app)
    with app.app_context():
        assert bounces.is_suppressed(GONE)
    assert server.received == []  # no confirmation to someone who reported us as spam
    assert [state for _r, state, _e in _rows(app)] == ["suppressed"]


def test_updates_skip_bounced_supporters_and_staff_see_the_count(
    app, client, seeded, organiser, runner
):
    for address in (GONE, "fine@example.org"):
        sign(client, seeded, email=address, updates="y")
    deliver(app)
    for message in mails(app):
        confirm(client, confirm_link(message))
    deliver(app)
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert sum(updates.recipient_counts(campaign).values()) == 2
    result = runner.invoke(args=["outbox", "suppress", GONE.upper()])
    assert result.exit_code == 0, result.output
    assert GONE not in result.output
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert sum(updates.recipient_counts(campaign).values()) == 1
        assert updates.bounced_recipients(campaign) == 1
        cid = campaign.id

    page = client.get(f"/staff/campaigns/{cid}/updates").get_data(as_text=True)
    assert "1 supporter who asked for updates gets none" in page
    index = client.get("/staff/campaigns/").get_data(as_text=True)
    assert 'data-label="Addresses that bounced">1<' in index


def test_the_suppress_command_refuses_what_is_not_an_address(runner):
    result = runner.invoke(args=["outbox", "suppress", "not-an-address"])
    assert result.exit_code == 2
    assert "ADDRESS" in result.output


def test_only_permanent_refusals_of_the_recipient_count_as_bounces():
    refused = smtplib.SMTPRecipientsRefused({GONE: (550, b"5.1.1 <gone@example.org> unknown")})
    assert bounces.refusal(refused) == "550 5.1.1"
    assert bounces.refusal(smtplib.SMTPRecipientsRefused({GONE: (452, b"4.2.2 full")})) is None
    assert bounces.refusal(smtplib.SMTPDataError(554, b"5.7.1 rejected as spam")) == "554 5.7.1"
    assert bounces.refusal(smtplib.SMTPDataError(451, b"4.3.0 later")) is None
    # Our own sender refused is our configuration, not the supporter's address.
    assert bounces.refusal(smtplib.SMTPSenderRefused(550, b"5.7.1 no", "us@example.org")) is None
    assert bounces.refusal(ConnectionRefusedError()) is None
    assert bounces.refusal(smtplib.SMTPDataError(550, b"no enhanced code here")) == "550"


DSN = """\
From: MAILER-DAEMON@mx.example.net
To: campaign@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {address}
Action: {action}
Status: {status}

--B--
"""

ARF = """\
From: fbl@provider.example
To: campaign@example.org
Subject: Complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is a spam complaint.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: provider-fbl/1.0
Version: 1

--F
Content-Type: message/rfc822

From: campaign@example.org
To: Someone <complains@example.org>
Subject: News

An update.
--F--
"""


def test_returned_reports_put_failed_and_complaining_addresses_on_the_list(
    app, client, seeded, runner, tmp_path
):
    sign(client, seeded, email=GONE)
    sign(client, seeded, email="complains@example.org")
    sign(client, seeded, email="later@example.org")
    (tmp_path / "1.eml").write_text(DSN.format(address=GONE, action="failed", status="5.1.1"))
    (tmp_path / "2.eml").write_text(ARF)
    (tmp_path / "3.eml").write_text(
        DSN.format(address="later@example.org", action="delayed", status="4.4.1")
    )
    (tmp_path / "4.eml").write_text("From: a@example.org\nSubject: hello\n\nNot a report.\n")
    result = runner.invoke(args=["outbox", "reports", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Read 4 messages: 1 bounced addresses and 1 complaints" in result.output
    assert "2 were not reports of either" in result.output
    assert "@" not in result.output  # counts only, never an address
    with app.app_context():
        assert bounces.is_suppressed(GONE)
        assert bounces.is_suppressed("complains@example.org")
        assert not bounces.is_suppressed("later@example.org")  # delayed is not refused
        reasons = {row.reason for row in db.session.scalars(select(MailSuppression))}
        assert reasons == {"bounce", "complaint"}
    assert _bounced_at(app, "complains@example.org") is not None
    assert _bounced_at(app, "later@example.org") is None


def test_refused_mail_is_purged_like_failed_mail(app, runner):
    old = utcnow() - timedelta(days=app.config["SENT_MAIL_RETENTION_DAYS"] + 1)
    with app.app_context():
        for state, created in (("bounced", old), ("suppressed", old), ("bounced", utcnow())):
            db.session.add(
                OutboxMessage(
                    recipient=GONE,
                    subject="s",
                    body_text="b",
                    kind="confirm",
                    state=state,
                    created_at=created,
                )  # fmt: skip
            )
        db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert "2 sent or failed mails" in result.output
    assert [state for _r, state, _e in _rows(app)] == ["bounced"]
