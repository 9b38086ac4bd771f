"""A supporter erases their own data: request by address, confirm by a mailed link.

Erasure leaves nothing behind: the rows (signatures, their submissions and links, queued
and sent mail), the undelivered letter packets that named them, and on SQLite the freed
pages and the write-ahead log, which would otherwise keep the bytes until a checkpoint.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from campaign import jobs, tokens
from campaign.emails import canonical_mailbox
from campaign.extensions import db
from campaign.i18n import URL_CODES
from campaign.mail import outbox
from campaign.mail.backends import get_backend
from campaign.mail.models import OutboxMessage
from campaign.packets.builder import remove_undelivered_files
from campaign.signatures import counts
from campaign.signatures.models import Signature, Submission
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken
from campaign.urls import external_url, onion_url


def ask_for_erasure(email: str, locale: str) -> None:
    """Queue the look-up for an erasure request; the caller commits and answers at once.

    Whether the address signed decides whether a mail goes out, and both the look-up and
    the mail take time: done in the worker, the answer costs the same for every address.
    """
    jobs.enqueue("erasure_request", email=email, locale=locale)


@jobs.handler("erasure_request", personal=True)
def _erasure_request_job(email: str, locale: str) -> None:
    request_erasure(email, locale)


def request_erasure(email: str, locale: str) -> bool:
    """Queue an erasure link when ``email`` (normalised) has signed anything; caller commits.

    The caller answers the same either way, so the form reveals nothing.
    """
    if not signatures_of(email) and not _received_from(email):
        return False
    if _erasure_mailed_recently(email):
        return True  # the link already mailed works for days: one mail per interval
    days = current_app.config["ERASE_MAX_AGE_DAYS"]
    link_token = tokens.reserve("erase", days, email=email)
    with force_locale(locale):
        outbox.enqueue(
            recipient=email,
            subject=_("Erase your data"),
            template="mail/erase",
            kind="erase",
            link_token=link_token,
            link=external_url("signatures.erase", lang=URL_CODES[locale], token=tokens.PLACEHOLDER),
            onion_link=onion_url(
                "signatures.erase", lang=URL_CODES[locale], token=tokens.PLACEHOLDER
            ),
            days=days,
        )
    return True


def email_from_erase_token(token: str) -> str:
    """The address an erasure link was made for; raises ``TokenError``/``TokenExpired``."""
    row = tokens.resolve("erase", token)
    return str(row.email)


def _erasure_mailed_recently(email: str) -> bool:
    """Whether an erasure link went to this mailbox (+tag and dot variants included)
    within ``CONFIRM_MAIL_INTERVAL_SECONDS``: the form must not flood a mailbox either."""
    since = utcnow() - timedelta(seconds=current_app.config["CONFIRM_MAIL_INTERVAL_SECONDS"])
    mailbox = canonical_mailbox(email)
    recent = db.session.scalars(
        select(LinkToken.email).where(LinkToken.purpose == "erase", LinkToken.created_at >= since)
    )
    return any(canonical_mailbox(other) == mailbox for other in recent if other)


def _received_from(email: str) -> bool:
    """Whether a submission from ``email`` waits for the worker (signed seconds ago)."""
    return (
        db.session.scalar(select(Submission.id).where(Submission.email == email).limit(1))
        is not None
    )


def signatures_of(email: str) -> int:
    """How many campaigns ``email`` has signed (confirmed or not)."""
    return db.session.scalar(select(func.count()).where(Signature.email == email)) or 0


def erase(email: str) -> int:
    """Delete everything stored for ``email``; returns signatures deleted. Caller commits.

    Submissions and links go with their signature (foreign keys cascade); mail in every
    state, erasure links, and undelivered packets that named them go here.
    """

    # Every campaign they signed: they may have been named in a build before they
    # withdrew their consent, and builds still running may be naming them now.
    signed = set(db.session.scalars(select(Signature.campaign_id).where(Signature.email == email)))
    ids = db.session.scalars(select(Signature.id).where(Signature.email == email)).all()
    counts.record_removed(counts.contributions(ids, counts.until_of_all()))
    deleted = db.session.execute(delete(Signature).where(Signature.email == email)).rowcount
    # Submissions the worker has not taken yet hold the address themselves.
    db.session.execute(delete(Submission).where(Submission.email == email))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == email))
    tokens.revoke_for_email(email)
    if signed:
        remove_undelivered_files(signed, reason="erasure")
    forget = getattr(get_backend(), "forget", None)
    if forget is not None:
        forget(email)
    current_app.logger.info("erased %s signatures on request", deleted)
    return deleted


def after_erasure(attempts: int = 3) -> bool:
    """Once the erasure is committed: on SQLite, push it out of the write-ahead log.

    ``secure_delete`` (set on every connection) zeroes freed pages; the checkpoint copies
    them into the database file and truncates the log, where the old bytes would stay.
    A long read (an export, a packet build) can keep it from completing: it is retried
    here, and ``privacy purge`` runs it again. Returns whether it completed.
    """
    if db.engine.dialect.name != "sqlite":
        return True
    for attempt in range(attempts):
        # A raw connection: outside any transaction, which a checkpoint needs.
        raw = db.engine.raw_connection()
        driver = raw.driver_connection
        try:
            # Wait briefly for readers, not the 10 s a writer would: this is a request.
            driver.execute("PRAGMA busy_timeout=300")
            busy, _log, _done = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            driver.execute("PRAGMA busy_timeout=10000")
            raw.close()
        if not busy:
            return True
        time.sleep(0.1 * (attempt + 1))
    current_app.logger.warning("write-ahead log not checkpointed yet; privacy purge retries")
    return False
