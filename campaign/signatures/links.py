"""Mailed links: opaque random tokens that prove the reader holds the mailbox.

A token is 256 random bits; only its SHA-256 digest is stored, so a copy of the database
cannot be turned into working links. Each token has one purpose, one record it is bound
to, and an expiry. Nothing personal is ever put in a URL.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from campaign.extensions import db
from campaign.security import TokenError, TokenExpired
from campaign.signatures.models import TOKEN_PURPOSES, LinkToken
from campaign.timeutil import utcnow

# Longest token we look up; anything longer is refused before touching the database.
TOKEN_MAX_LENGTH = 64


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue(
    purpose: str,
    days: int,
    *,
    signature_id: int | None = None,
    submission_id: int | None = None,
    email: str | None = None,
) -> str:
    """Create a token for ``purpose`` bound to one record; returns the clear token."""
    if purpose not in TOKEN_PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if not (signature_id or submission_id or email):
        raise ValueError("a token must be bound to a record")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        LinkToken(
            purpose=purpose,
            digest=digest(token),
            signature_id=signature_id,
            submission_id=submission_id,
            email=email,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return token


def resolve(purpose: str, token: str) -> LinkToken:
    """The live token row for ``token`` and ``purpose``.

    Raises ``TokenExpired`` for a genuine token past its time and ``TokenError`` for
    anything else (unknown, another purpose, or its record erased).
    """
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise TokenError("malformed token")
    row = db.session.scalar(select(LinkToken).where(LinkToken.digest == digest(token)))
    if row is None or row.purpose != purpose:
        raise TokenError("unknown token")
    if row.expires_at <= utcnow():
        raise TokenExpired("token expired")
    return row


def revoke_for_email(email: str) -> int:
    """Delete every erasure token for ``email`` (after erasure, nothing points to it)."""
    return db.session.execute(delete(LinkToken).where(LinkToken.email == email)).rowcount


def purge_expired() -> int:
    """Delete tokens past their expiry; returns how many."""
    return db.session.execute(delete(LinkToken).where(LinkToken.expires_at <= utcnow())).rowcount
