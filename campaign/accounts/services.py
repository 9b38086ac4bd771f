"""Staff account rules, shared by the staff pages and the ``flask users`` commands."""

from __future__ import annotations

import functools
import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from campaign import audit
from campaign.accounts.models import PARTNER_ROLE, STAFF_ROLES, LoginAttempt, StaffRole, StaffUser
from campaign.emails import normalise_email
from campaign.extensions import db
from campaign.timeutil import utcnow

MIN_PASSWORD_LENGTH = 12


# Hashed once so that an unknown address costs as much time as a wrong password.
@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown addresses against, so they take as long as known ones.

    Made at the first such login, not at import: scrypt takes 32 MB while it hashes, and
    every process (workers, exports, the CLI) would carry that peak for nothing.
    """
    return generate_password_hash("not-a-real-password", method="scrypt")


class AccountError(ValueError):
    """A refused account change, with a message for the person who asked."""


class WrongPassword(AccountError):
    """The current password given does not match."""


class Throttled(Exception):
    """Too many failed logins for this account or from this address."""


def hash_password(password: str) -> str:
    """scrypt (Werkzeug's default), salted."""
    return generate_password_hash(password, method="scrypt")


def check_new_password(password: str) -> None:
    """Refuse passwords that are too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


def _clean_roles(roles: list[str] | set[str]) -> set[str]:
    unknown = set(roles) - set(STAFF_ROLES)
    if unknown:
        raise AccountError(f"Unknown role(s): {', '.join(sorted(unknown))}")
    if not roles:
        raise AccountError("Give at least one role.")
    return set(roles)


def find_user(email: str) -> StaffUser | None:
    """The staff user with ``email`` (any spelling), or None."""
    try:
        key = normalise_email(email)
    except ValueError:
        return None
    return db.session.scalar(select(StaffUser).where(StaffUser.email == key))


def create_user(
    email: str,
    password: str,
    roles: list[str],
    actor: StaffUser | None = None,
    partner_id: int | None = None,
) -> StaffUser:
    """Create an active user; the caller commits.

    With ``partner_id``, a partner organisation's login: its one role is ``partner``, and it
    sees that partner's campaign alone (``roles`` is ignored).
    """
    try:
        key = normalise_email(email)
    except ValueError as exc:
        raise AccountError("That is not a valid e-mail address.") from exc
    if find_user(key):
        raise AccountError("A staff user with that address exists.")
    check_new_password(password)
    user = StaffUser(
        email=key, password_hash=hash_password(password), active=True, partner_id=partner_id
    )
    wanted = {PARTNER_ROLE} if partner_id is not None else _clean_roles(roles)
    user.role_rows = [StaffRole(role=r) for r in sorted(wanted)]
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "staff_user", user.id, "create", roles=sorted(user.roles),
                 partner=partner_id)  # fmt: skip
    return user


def set_roles(user: StaffUser, roles: list[str], actor: StaffUser | None = None) -> None:
    """Replace a user's roles; the caller commits. A partner's login keeps its one role."""
    if PARTNER_ROLE in user.roles:
        raise AccountError("A partner's login keeps its one role.")
    wanted = _clean_roles(roles)
    before = sorted(user.roles)
    user.role_rows = [r for r in user.role_rows if r.role in wanted]
    for role in sorted(wanted - user.roles):
        user.role_rows.append(StaffRole(role=role))
    db.session.flush()
    audit.record(actor, "staff_user", user.id, "set_roles", before=before, after=sorted(wanted))


def end_sessions(user: StaffUser) -> None:
    """End every session of ``user`` on the server (logout); the caller commits.

    Sessions carry the user's session version; a cookie with an older one is refused.
    """
    user.session_version += 1


def set_active(user: StaffUser, active: bool, actor: StaffUser | None = None) -> None:
    """Deactivate (ends their sessions) or reactivate a user; the caller commits.

    Nobody deactivates themselves: the last admin could lock everyone out.
    """
    if not active and actor is not None and actor.id == user.id:
        raise AccountError("You cannot deactivate yourself.")
    user.active = active
    end_sessions(user)
    audit.record(actor, "staff_user", user.id, "activate" if active else "deactivate")


def change_own_password(user: StaffUser, current: str, new: str) -> None:
    """A user changes their password, proving they know the current one; caller commits."""
    if not check_password_hash(user.password_hash, current):
        raise WrongPassword("That is not your current password.")
    set_password(user, new, actor=user)


def set_password(user: StaffUser, password: str, actor: StaffUser | None = None) -> None:
    """Change a password and end every other session of that user; the caller commits."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    audit.record(actor, "staff_user", user.id, "set_password")


def _account_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(
        secret, b"login:" + email.strip().casefold().encode(), hashlib.sha256
    ).hexdigest()


def _recent_failures(*conditions) -> int:  # noqa: ANN002 - column comparisons
    window = timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    return (
        db.session.scalar(
            select(func.count()).where(
                *conditions,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > utcnow() - window,
            )
        )
        or 0
    )


def authenticate(email: str, password: str, ip_hash: str | None) -> StaffUser | None:
    """Check a login; None for any failure. Raises ``Throttled``. The caller commits.

    An account is locked only for the address that failed at it: after
    ``LOGIN_MAX_FAILURES_PER_ACCOUNT`` failures from one address, that address waits
    ``LOGIN_WINDOW_MINUTES``, while the owner logs in from anywhere else. An address that
    fails at many accounts waits too (``LOGIN_MAX_FAILURES_PER_ADDRESS``); guessing from
    many addresses at once meets the rate limits. Failures are counted whether or not the
    account exists, so throttling reveals nothing either; every lock is audited.
    """
    cfg = current_app.config
    key = _account_key(email)
    pair = (LoginAttempt.account_key == key, LoginAttempt.ip_hash == ip_hash)
    if _recent_failures(*pair) >= cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]:
        raise Throttled()
    if ip_hash and (
        _recent_failures(LoginAttempt.ip_hash == ip_hash) >= cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        raise Throttled()
    user = find_user(email)
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    ok = ok and user is not None and user.active
    db.session.add(LoginAttempt(account_key=key, ip_hash=ip_hash, success=bool(ok)))
    if not ok:
        db.session.flush()
        if _recent_failures(*pair) == cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]:
            # The failure that locks: the account (or the typed address, when there is
            # no such account) and the address's hash, never the address itself.
            audit.record(
                None,
                "staff_user",
                user.id if user else "unknown",
                "login_locked",
                address=(ip_hash or "")[:12],
                minutes=cfg["LOGIN_WINDOW_MINUTES"],
            )
        return None
    user.last_login_at = utcnow()
    return user


def purge_login_attempts() -> int:
    """Delete attempts older than a day; they only serve throttling."""

    cutoff = utcnow() - timedelta(days=1)
    return db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
