"""Retention: what is purged, and when (``flask privacy purge``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, delete, or_, update

from campaign import tokens
from campaign.accounts.services import purge_login_attempts
from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.packets.builder import purge_old_files
from campaign.signatures.erasure import after_erasure
from campaign.signatures.models import Signature, Submission
from campaign.timeutil import utcnow


@dataclass
class PurgeReport:
    """How many rows (or packet builds) each rule touched."""

    ip_hashes_cleared: int
    unconfirmed_deleted: int
    mail_deleted: int
    login_attempts_deleted: int = 0
    submissions_deleted: int = 0
    links_deleted: int = 0
    packet_builds_removed: int = 0


def purge() -> PurgeReport:
    """Apply every retention rule (see README, "Security and privacy"); commits."""

    cfg = current_app.config
    now = utcnow()
    ip_cutoff = now - timedelta(days=cfg["IP_HASH_RETENTION_DAYS"])
    unconfirmed_cutoff = now - timedelta(days=cfg["UNCONFIRMED_RETENTION_DAYS"])
    mail_cutoff = now - timedelta(days=cfg["SENT_MAIL_RETENTION_DAYS"])
    link_cutoff = now - timedelta(days=cfg["CONFIRM_MAX_AGE_DAYS"])
    deleted = db.session.execute(
        delete(Signature).where(
            Signature.state == "unconfirmed", Signature.updated_at < unconfirmed_cutoff
        )
    ).rowcount
    # A used or folded submission is a copy of what the signature holds; a pending one
    # is unconfirmed data. Their links go with them. Received and pressed ones wait for
    # the worker: deleting them would lose a signature or a confirmation.
    done = ("applied", "merged")
    submissions = db.session.execute(
        delete(Submission).where(
            or_(
                and_(Submission.state.in_(done), Submission.created_at < link_cutoff),
                and_(
                    Submission.state.in_(("pending", *done)),
                    Submission.created_at < unconfirmed_cutoff,
                ),
            )
        )
    ).rowcount
    cleared = db.session.execute(
        update(Signature)
        .where(Signature.ip_hash.is_not(None), Signature.created_at < ip_cutoff)
        # Keep updated_at: clearing a hash is not an edit by the signer.
        .values(ip_hash=None, updated_at=Signature.updated_at)
    ).rowcount
    db.session.execute(
        update(Submission)
        .where(Submission.ip_hash.is_not(None), Submission.created_at < ip_cutoff)
        .values(ip_hash=None)
    )
    # Sent, failed and refused mail alike: a message that never left still holds an address.
    mail = db.session.execute(
        delete(OutboxMessage).where(
            or_(
                and_(OutboxMessage.state == "sent", OutboxMessage.sent_at < mail_cutoff),
                and_(
                    OutboxMessage.state.in_(("failed", "bounced", "suppressed")),
                    OutboxMessage.created_at < mail_cutoff,
                ),
            )
        )
    ).rowcount
    expired_links = tokens.purge_expired()
    attempts = purge_login_attempts()
    builds = purge_old_files(cfg["PACKET_RETENTION_DAYS"])
    db.session.commit()
    # A checkpoint an erasure could not complete (a long read was open) completes now.
    after_erasure()
    return PurgeReport(cleared, deleted, mail, attempts, submissions, expired_links, builds)
