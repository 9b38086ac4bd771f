"""A supporter erases their own data: request by address, confirm by a mailed link.

Erasure leaves nothing behind: the rows (signatures, their submissions and links, queued
and sent mail), the undelivered letter packets that named them, and on SQLite the freed
pages and the write-ahead log, which would otherwise keep the bytes until a checkpoint.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from campaign.extensions import db
from campaign.i18n import URL_CODES
from campaign.mail import outbox
from campaign.mail.backends import get_backend
from campaign.mail.models import OutboxMessage
from campaign.signatures import links
from campaign.signatures.models import Signature
from campaign.urls import external_url


def request_erasure(email: str, locale: str) -> bool:
    """Queue an erasure link when ``email`` (normalised) has signed anything; caller commits.

    The caller answers the same either way, so the form reveals nothing.
    """
    if not signatures_of(email):
        return False
    days = current_app.config["ERASE_MAX_AGE_DAYS"]
    token = links.issue("erase", days, email=email)
    with force_locale(locale):
        outbox.enqueue(
            recipient=email,
            subject=_("Erase your data"),
            template="mail/erase",
            kind="erase",
            link=external_url("signatures.erase", lang=URL_CODES[locale], token=token),
            days=days,
        )
    return True


def email_from_erase_token(token: str) -> str:
    """The address an erasure link was made for; raises ``TokenError``/``TokenExpired``."""
    row = links.resolve("erase", token)
    return str(row.email)


def signatures_of(email: str) -> int:
    """How many campaigns ``email`` has signed (confirmed or not)."""
    return db.session.scalar(select(func.count()).where(Signature.email == email)) or 0


def erase(email: str) -> int:
    """Delete everything stored for ``email``; returns signatures deleted. Caller commits.

    Submissions and links go with their signature (foreign keys cascade); mail in every
    state, erasure links, and undelivered packets that named them go here.
    """
    from campaign.packets.builder import remove_undelivered_files

    named_in = set(
        db.session.scalars(
            select(Signature.campaign_id).where(
                Signature.email == email, Signature.name_in_letters.is_(True)
            )
        )
    )
    deleted = db.session.execute(delete(Signature).where(Signature.email == email)).rowcount
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == email))
    links.revoke_for_email(email)
    if named_in:
        remove_undelivered_files(named_in, reason="erasure")
    forget = getattr(get_backend(), "forget", None)
    if forget is not None:
        forget(email)
    current_app.logger.info("erased %s signatures on request", deleted)
    return deleted


def after_erasure() -> None:
    """Once the erasure is committed: on SQLite, push it out of the write-ahead log.

    ``secure_delete`` (set on every connection) zeroes freed pages; the checkpoint copies
    them into the database file and truncates the log, where the old bytes would stay.
    """
    if db.engine.dialect.name != "sqlite":
        return
    # A raw connection: outside any transaction, which a checkpoint needs.
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
