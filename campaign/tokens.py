"""Mailed links: opaque random tokens that prove the reader holds the mailbox.

A token is 256 random bits; only its SHA-256 digest is stored. A mail's token is made at
the moment the mail is handed to the mail server (``activate``): until then the message
row holds a placeholder, so neither the outbox nor a copy of the database ever holds a
working link. Each token has one purpose, one record it is bound to (a submission, a
signature, or for erasure an address), and an expiry, and dies with its record.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ScalarSelect,
    String,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.security import TokenError, TokenExpired
from campaign.timeutil import utcnow

# Longest token we look up; anything longer is refused before touching the database.
TOKEN_MAX_LENGTH = 64
# Stands for the token in a queued message; URL-safe, so url_for leaves it as it is.
PLACEHOLDER = "__link_token__"
# Stands for the token of the link to the signer's own page, which every mail to a signer
# carries beside its own link.
PAGE_PLACEHOLDER = "__page_token__"


TOKEN_PURPOSES = ("confirm", "erase", "unsubscribe", "my")


class LinkToken(db.Model):
    """An opaque token mailed in a link, stored only as its SHA-256 digest."""

    __tablename__ = "link_tokens"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('confirm', 'erase', 'unsubscribe', 'my')", name="purpose_valid"
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    # Erasure links name an address (normalised), not one signature.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def reserve(
    purpose: str,
    days: int,
    *,
    signature_id: int | None = None,
    submission_id: int | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> LinkToken:
    """A token row for ``purpose`` bound to one record, not usable until ``activate``.

    Its digest is that of a random value nobody keeps, so the row opens nothing yet.
    The caller adds it to a message and flushes.
    """
    if purpose not in TOKEN_PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if not (signature_id or submission_id or email):
        raise ValueError("a token must be bound to a record")
    now = now or utcnow()
    row = LinkToken(
        purpose=purpose,
        digest=digest(secrets.token_urlsafe(32)),
        signature_id=signature_id,
        submission_id=submission_id,
        email=email,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(row)
    return row


def activate(token_id: int) -> str | None:
    """Give a reserved row a fresh token and return it (None if the row is gone).

    Called as the mail leaves; a retried mail gets a new token, and the earlier one
    stops working, so at most the last mail handed over holds a live link.
    """
    token = secrets.token_urlsafe(32)
    result = db.session.execute(
        update(LinkToken).where(LinkToken.id == token_id).values(digest=digest(token))
    )
    return token if result.rowcount == 1 else None


def resolve(purpose: str, token: str) -> LinkToken:
    """The live token row for ``token`` and ``purpose``.

    Raises ``TokenExpired`` for a genuine token past its time and ``TokenError`` for
    anything else (unknown, another purpose, or its record erased).
    """
    row = db.session.scalar(select(LinkToken).where(LinkToken.digest == _digest_of(token)))
    _check(row, purpose)
    return row


def bound_submission(purpose: str, token: str) -> int | None:
    """The submission id a live token for ``purpose`` is bound to, without loading rows.

    The same checks as ``resolve``, for the one request that must be cheap (the button of
    a confirmation link).
    """
    row = db.session.execute(
        select(LinkToken.purpose, LinkToken.expires_at, LinkToken.submission_id).where(
            LinkToken.digest == _digest_of(token)
        )
    ).first()
    _check(row, purpose)
    return row.submission_id


def well_formed(token: str) -> bool:
    """Whether ``token`` is worth looking up at all."""
    return bool(token) and len(token) <= TOKEN_MAX_LENGTH


def live_submission() -> ScalarSelect:
    """A subquery: the submission id of a live token (NULL when there is none).

    Its parameters are ``digest`` (of the token), ``purpose`` and ``now``. For a statement
    built once that acts on the submission at once; ``bound_submission`` then tells why
    nothing matched.
    """
    return (
        select(LinkToken.submission_id)
        .where(
            LinkToken.digest == bindparam("digest"),
            LinkToken.purpose == bindparam("purpose"),
            LinkToken.expires_at > bindparam("now"),
        )
        .scalar_subquery()
    )


def _digest_of(token: str) -> str:
    if not well_formed(token):
        raise TokenError("malformed token")
    return digest(token)


def _check(row: object, purpose: str) -> None:
    if row is None or row.purpose != purpose:
        raise TokenError("unknown token")
    if row.expires_at <= utcnow():
        raise TokenExpired("token expired")


def revoke_for_email(email: str) -> int:
    """Delete every erasure token for ``email`` (after erasure, nothing points to it)."""
    return db.session.execute(delete(LinkToken).where(LinkToken.email == email)).rowcount


def purge_expired() -> int:
    """Delete tokens past their expiry; returns how many."""
    return db.session.execute(delete(LinkToken).where(LinkToken.expires_at <= utcnow())).rowcount
