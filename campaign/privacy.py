"""Retention: what is purged, and when (``flask privacy purge``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update

from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow


@dataclass
class PurgeReport:
    """How many rows each rule touched."""

    ip_hashes_cleared: int
    unconfirmed_deleted: int
    mail_deleted: int
    login_attempts_deleted: int = 0


def purge() -> PurgeReport:
    """Clear old address hashes, delete stale unconfirmed signatures and sent mail."""
    cfg = current_app.config
    now = utcnow()
    ip_cutoff = now - timedelta(days=cfg["IP_HASH_RETENTION_DAYS"])
    unconfirmed_cutoff = now - timedelta(days=cfg["UNCONFIRMED_RETENTION_DAYS"])
    mail_cutoff = now - timedelta(days=cfg["SENT_MAIL_RETENTION_DAYS"])
    deleted = db.session.execute(
        delete(Signature).where(
            Signature.state == "unconfirmed", Signature.updated_at < unconfirmed_cutoff
        )
    ).rowcount
    cleared = db.session.execute(
        update(Signature)
        .where(Signature.ip_hash.is_not(None), Signature.created_at < ip_cutoff)
        # Keep updated_at: clearing a hash is not an edit by the signer.
        .values(ip_hash=None, updated_at=Signature.updated_at)
    ).rowcount
    mail = db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.state == "sent", OutboxMessage.sent_at < mail_cutoff
        )
    ).rowcount
    from campaign.accounts.services import purge_login_attempts

    attempts = purge_login_attempts()
    db.session.commit()
    return PurgeReport(cleared, deleted, mail, attempts)
