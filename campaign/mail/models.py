"""The outbox table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.timeutil import utcnow


class OutboxMessage(db.Model):
    """One e-mail waiting for, or done with, delivery."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'suppressed')",
            name="state_valid",
        ),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(40))  # confirm, erase, update, ...
    # The campaign update this message carries, for progress; null for other mail.
    update_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_updates.id", ondelete="SET NULL"), index=True
    )
    # Extra headers as "Name: value" lines (List-Unsubscribe and the like).
    headers: Mapped[str] = mapped_column(Text, default="")
    # The link token whose placeholder the body and headers carry; the clear token is
    # made as the message is sent and never stored. A message dies with its token.
    link_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("link_tokens.id", ondelete="CASCADE"), index=True
    )
    # bounced: the recipient's server refused it for good (5xx); suppressed: not sent,
    # because the address is on the suppression list.
    # The token of the link to the signer's own page (``tokens.PAGE_PLACEHOLDER``), made
    # the same way; null for mail to someone who has not signed.
    page_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("link_tokens.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


SUPPRESSION_REASONS = ("bounce", "complaint")


class MailSuppression(db.Model):
    """An address no mail goes to until its owner signs again from the form.

    Keyed by a keyed hash of the address, never the address itself: the list outlives an
    erasure (a dead mailbox stays dead) without keeping anyone's address.
    """

    __tablename__ = "mail_suppressions"
    __table_args__ = (CheckConstraint("reason IN ('bounce', 'complaint')", name="reason_valid"),)

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(10))
    # The SMTP reply code and enhanced status ("550 5.1.1"), never the server's free text,
    # which often repeats the address.
    status: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
