"""Enqueue and deliver e-mail.

A message is a row before it is anything else: the request that creates it commits it with
the rest of its work, and delivery happens afterwards, in the one worker (``flask worker``,
which ``make run`` starts too) or by ``flask outbox send``. A failed attempt stays queued with an
exponential back-off; after ``OUTBOX_MAX_ATTEMPTS`` it is marked failed, still kept, and
``flask outbox send --retry-failed`` puts it back in the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from campaign import jobs, tokens
from campaign.extensions import db
from campaign.mail import bounces
from campaign.mail.backends import Backend, build_message, get_backend
from campaign.mail.models import OutboxMessage
from campaign.mail.render import render_mail
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken

log = logging.getLogger(__name__)

# A message claimed by a worker that died is due again after this long.
CLAIM_TIMEOUT = timedelta(minutes=10)


def enqueue(
    recipient: str,
    subject: str,
    template: str,
    kind: str,
    headers: dict[str, str] | None = None,
    send_at: datetime | None = None,
    link_token: LinkToken | None = None,
    page_token: LinkToken | None = None,
    **context: object,
) -> OutboxMessage:
    """Render ``template``.txt and .html and add the message to the session (no commit).

    ``send_at`` defers delivery (a confirmation within the mail interval). With
    ``link_token``, the texts carry ``tokens.PLACEHOLDER`` where its token goes; the token
    is made when the message is sent. ``page_token`` is the same for
    ``tokens.PAGE_PLACEHOLDER``, the link to the signer's own page.
    """
    body_text, body_html = render_mail(template, **context)
    row = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        kind=kind,
        headers="\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
        state="queued",
        attempts=0,
        next_attempt_at=send_at or utcnow(),
    )
    if link_token is not None:
        row.link_token_id = _token_id(link_token)
    if page_token is not None:
        row.page_token_id = _token_id(page_token)
    db.session.add(row)
    return row


def _token_id(link_token: LinkToken) -> int:
    if link_token.id is None:
        db.session.flush()
    return link_token.id


def _with_token(row: OutboxMessage) -> bool:
    """Put fresh tokens in place of the placeholders; False when a token is gone."""
    for token_id, placeholder in (
        (row.link_token_id, tokens.PLACEHOLDER),
        (row.page_token_id, tokens.PAGE_PLACEHOLDER),
    ):
        if token_id is None:
            continue
        token = tokens.activate(token_id)
        if token is None:
            return False
        row.body_text = row.body_text.replace(placeholder, token)
        row.body_html = row.body_html.replace(placeholder, token)
        row.headers = row.headers.replace(placeholder, token)
    return True


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt: 30 s, 1 min, 2 min, ... capped at 6 hours."""
    return jobs.backoff(attempts, cap=timedelta(hours=6))


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    bounced: int = 0  # refused for good by the recipient's server
    suppressed: int = 0  # not sent: the address is on the suppression list


def _claim(row_id: int) -> bool:
    """Mark one due row as being sent; False when another worker got it first."""
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .where(OutboxMessage.next_attempt_at <= now)
        .where(OutboxMessage.state.in_(("queued", "sending")))
        .values(state="sending", next_attempt_at=now + CLAIM_TIMEOUT)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_due(limit: int = 200, backend: Backend | None = None) -> DeliveryReport:
    """Send up to ``limit`` due messages, each in its own transaction."""
    backend = backend or get_backend()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    report = DeliveryReport()
    due_ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            or_(OutboxMessage.state == "queued", OutboxMessage.state == "sending"),
            OutboxMessage.next_attempt_at <= utcnow(),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    for row_id in due_ids:
        if not _claim(row_id):
            continue
        row = db.session.get(OutboxMessage, row_id)
        if row is None:
            db.session.commit()
            continue  # erased between the claim and now
        # Detached: its texts will hold the clear token, and must never be flushed.
        db.session.expunge(row)
        if bounces.stops(row.recipient, row.kind):
            # Before its token is made: a message that never leaves needs no link.
            _finish(row_id, {"state": "suppressed", "last_error": ""})
            report.suppressed += 1
            continue
        if not _with_token(row):
            # Its link's record is gone (erased, expired): the message has no purpose.
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.id == row_id))
            db.session.commit()
            continue
        attempts, recipient = row.attempts + 1, row.recipient
        try:
            message = build_message(row, sender, readable=getattr(backend, "readable", False))
        except Exception:  # a row that cannot be built must not stop the pass
            db.session.rollback()
            log.exception("mail %s cannot be built", row_id)
            _finish(row_id, {"state": "failed", "attempts": attempts})
            report.gave_up += 1
            continue
        # End the transaction before talking to the mail server: on SQLite it holds the
        # write lock, and signing must not wait for an SMTP round trip. The token is
        # committed now, the texts with it never are.
        db.session.commit()
        try:
            backend.send(message)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the message queued
            error = f"{type(exc).__name__}: {exc}"[:2000]
            refused = bounces.refusal(exc)
            if refused is not None:
                # Sending it again would only be refused again, and mark us as a spammer.
                values = {"state": "bounced", "attempts": attempts, "last_error": refused}
                report.bounced += 1
                if _finish(row_id, values):
                    bounces.suppress(recipient, "bounce", refused)
                    db.session.commit()
                log.warning("mail %s bounced: %s", row_id, refused)
                continue
            if attempts >= max_attempts:
                values = {"state": "failed"}
                report.gave_up += 1
            else:
                values = {"state": "queued", "next_attempt_at": utcnow() + backoff(attempts)}
                report.failed += 1
            values.update(attempts=attempts, last_error=error)
            log.warning("mail %s to outbox failed (attempt %s): %s", row_id, attempts, exc)
        else:
            values = {"state": "sent", "sent_at": utcnow(), "last_error": "", "attempts": attempts}
            report.sent += 1
        if not _finish(row_id, values):
            # The supporter erased their data while the message was being sent.
            forget = getattr(backend, "forget", None)
            if forget is not None:
                forget(recipient)
    return report


def _finish(row_id: int, values: dict) -> bool:
    """Record an attempt's outcome by a statement; False when the row is gone (erased)."""
    done = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id).values(values)
    ).rowcount
    db.session.commit()
    return done == 1


def retry_failed() -> int:
    """Put every failed message back in the queue; returns how many."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == "failed")
        .values(state="queued", attempts=0, next_attempt_at=utcnow())
    )
    db.session.commit()
    return result.rowcount
