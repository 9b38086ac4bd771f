"""The audit trail: who did what to which object, when and why.

Every package that changes something a person must be able to account for records an
event here, in the same transaction as the change.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.timeutil import utcnow


class ModerationEvent(db.Model):
    """One staff action. Written in the same transaction as the change it records."""

    __tablename__ = "moderation_events"
    __table_args__ = (Index("ix_moderation_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Null for actions taken from the command line.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_label: Mapped[str] = mapped_column(String(254))  # e-mail or "cli"
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")  # JSON


def record(
    actor: object | None,
    object_type: str,
    object_id: object,
    action: str,
    reason: str = "",
    **details: object,
) -> ModerationEvent:
    """Add an event to the session (the caller's commit writes it with the change)."""
    event = ModerationEvent(
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or "cli",
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        reason=reason,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
        if details
        else "",
    )
    db.session.add(event)
    return event
