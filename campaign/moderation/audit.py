"""Recording audit events."""

from __future__ import annotations

import json

from campaign.extensions import db
from campaign.moderation.models import ModerationEvent


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
