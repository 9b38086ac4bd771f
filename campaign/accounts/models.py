"""Staff users, their roles, and login attempts (for throttling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.timeutil import utcnow

# The organisation's own staff.
STAFF_ROLES = ("admin", "organiser", "moderator")
# A partner organisation's login: one campaign's counts and its own supporters' export.
PARTNER_ROLE = "partner"
ROLES = (*STAFF_ROLES, PARTNER_ROLE)


class StaffUser(db.Model):
    """A member of staff. Never deleted: deactivated, so the audit trail keeps its author."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # normalised
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped when the password changes: sessions carrying an older value end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # For a partner's login: the partner (and so the one campaign) it may see.
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )

    role_rows: Mapped[list[StaffRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[str]:
        """The user's roles."""
        return {r.role for r in self.role_rows}

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        """Always true for a loaded user."""
        return True

    @property
    def is_active(self) -> bool:
        """Deactivated users cannot log in or stay logged in."""
        return self.active

    @property
    def is_anonymous(self) -> bool:
        """Never anonymous."""
        return False

    def get_id(self) -> str:
        """The session key: id and session version, so a password change logs out others."""
        return f"{self.id}:{self.session_version}"


class StaffRole(db.Model):
    """One role held by one user."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'organiser', 'moderator', 'partner')", name="role_valid"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class LoginAttempt(db.Model):
    """A failed or successful login, kept briefly to throttle guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account", "account_key", "at"),
        Index("ix_login_attempts_address", "ip_hash", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    account_key: Mapped[str] = mapped_column(String(64))  # HMAC of the address typed
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(default=False)
