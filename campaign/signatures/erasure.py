"""A supporter erases their own data: request by address, confirm by a mailed link."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from campaign.extensions import db
from campaign.i18n import URL_CODES
from campaign.mail import outbox
from campaign.mail.models import OutboxMessage
from campaign.security import make_token, read_token
from campaign.signatures.models import Signature

ERASE_MAX_AGE_DAYS = 2


def request_erasure(email: str, locale: str) -> bool:
    """Queue an erasure link when ``email`` (normalised) has signed anything; caller commits.

    The caller answers the same either way, so the form reveals nothing.
    """
    from campaign.signatures.services import external_url

    if not signatures_of(email):
        return False
    token = make_token("erase", email)
    with force_locale(locale):
        outbox.enqueue(
            recipient=email,
            subject=_("Erase your data"),
            template="mail/erase",
            kind="erase",
            link=external_url("signatures.erase", lang=URL_CODES[locale], token=token),
            days=ERASE_MAX_AGE_DAYS,
        )
    return True


def email_from_erase_token(token: str) -> str:
    """The address an erasure token was made for; raises ``TokenError``/``TokenExpired``."""
    return str(read_token("erase", token, ERASE_MAX_AGE_DAYS * 86400))


def signatures_of(email: str) -> int:
    """How many campaigns ``email`` has signed (confirmed or not)."""
    return db.session.scalar(select(func.count()).where(Signature.email == email)) or 0


def erase(email: str) -> int:
    """Delete every signature of ``email`` and its queued mail; returns signatures deleted."""
    deleted = db.session.execute(delete(Signature).where(Signature.email == email)).rowcount
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.recipient == email, OutboxMessage.state != "sending"
        )
    )
    current_app.logger.info("erased %s signatures on request", deleted)
    return deleted
