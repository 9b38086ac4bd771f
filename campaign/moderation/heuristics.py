"""Signals that hold a confirmed signature for review instead of counting it.

A held signature is never refused or lost: a moderator releases or invalidates it.
Every threshold is configuration (see README, "Moderation").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import timedelta
from difflib import SequenceMatcher

from disposable_email_domains import blocklist
from flask import current_app
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow

URL_PATTERN = re.compile(r"https?://|www\.|\.(?:com|net|org|ru|cn|xyz)\b", re.I)

# How many of an address's latest signatures the similar-names check compares with.
SIMILAR_NAMES_READ = 200

REASONS = ("disposable_email", "address_burst", "similar_names", "mailbox_alias", "link_in_name")


@functools.lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """A name reduced to its letters, for comparing near-identical names."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch).startswith("L"))


def _similar(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    # The cheap upper bounds first: most names are nowhere near each other.
    matcher = SequenceMatcher(None, a, b)
    return (
        matcher.real_quick_ratio() >= 0.85
        and matcher.quick_ratio() >= 0.85
        and matcher.ratio() >= 0.85
    )


def _at_least(count: int, items: Iterable[bool]) -> bool:
    """Whether ``count`` of ``items`` are true, reading no further than needed."""
    if count <= 0:
        return True
    seen = 0
    for item in items:
        seen += item
        if seen >= count:
            return True
    return False


def hold_reasons(sig: Signature) -> list[str]:
    """The reasons to hold ``sig`` for review (empty: count it)."""
    # The checks read other signatures only: flushing ``sig``'s own pending changes before
    # each of them would be three writes for nothing.
    with db.session.no_autoflush:
        return _hold_reasons(sig)


def _hold_reasons(sig: Signature) -> list[str]:
    cfg = current_app.config
    reasons = []
    if sig.email_domain in blocklist:
        reasons.append("disposable_email")
    if sig.ip_hash:
        since = utcnow() - timedelta(minutes=cfg["HOLD_BURST_MINUTES"])
        # Counted only up to the threshold: behind one busy address (a campus, a shared
        # network) a full count would read every signature it ever sent, at each confirmation.
        recent = (
            select(Signature.id)
            .where(
                Signature.ip_hash == sig.ip_hash,
                Signature.created_at >= since,
                Signature.id != sig.id,
            )
            .limit(cfg["HOLD_BURST_PER_ADDRESS"])
            .subquery()
        )
        burst = db.session.scalar(select(func.count()).select_from(recent))
        if (burst or 0) >= cfg["HOLD_BURST_PER_ADDRESS"]:
            reasons.append("address_burst")
        day = utcnow() - timedelta(hours=24)
        names = db.session.scalars(
            select(Signature.name)
            .where(
                Signature.ip_hash == sig.ip_hash,
                Signature.created_at >= day,
                Signature.id != sig.id,
            )
            .order_by(Signature.id.desc())
            .limit(SIMILAR_NAMES_READ)
        ).all()
        key = name_key(sig.name)
        if _at_least(cfg["HOLD_SIMILAR_NAMES"], (_similar(key, name_key(n)) for n in names)):
            reasons.append("similar_names")
    alias = db.session.scalar(
        select(func.count()).where(
            Signature.campaign_id == sig.campaign_id,
            Signature.mailbox_key == sig.mailbox_key,
            Signature.email != sig.email,
            Signature.state.in_(("confirmed", "held")),
        )
    )
    if alias:
        reasons.append("mailbox_alias")
    if URL_PATTERN.search(sig.name) or URL_PATTERN.search(sig.affiliation or ""):
        reasons.append("link_in_name")
    return reasons
