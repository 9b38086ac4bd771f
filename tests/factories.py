"""Rows the tests need, built in one place (the app's own code builds them in the others)."""

from __future__ import annotations

from datetime import datetime, timedelta

from campaign.campaigns.models import Campaign
from campaign.emails import canonical_mailbox
from campaign.extensions import db
from campaign.names import sort_key
from campaign.signatures import counts
from campaign.signatures.models import Signature, SignatureDemand
from campaign.timeutil import utcnow


def make_signature(
    campaign_id: int,
    name: str = "Jane Doe",
    *,
    email: str | None = None,
    country: str = "US",
    region: str = "",
    affiliation: str = "",
    state: str = "confirmed",
    demand_ids: tuple[int, ...] | list[int] = (),
    named: bool = True,
    updates: bool = False,
    locale: str = "en",
    ip_hash: str | None = None,
    when: datetime | None = None,
) -> Signature:
    """A signature as if signed and (unless unconfirmed) confirmed at ``when``; not committed."""
    when = when or utcnow()
    email = email or f"{sort_key(name).replace(' ', '.')[:40] or 'x'}.{len(name)}@example.org"
    confirmed = when if state != "unconfirmed" else None
    sig = Signature(
        campaign_id=campaign_id,
        email=email,
        email_domain=email.rpartition("@")[2],
        mailbox_key=canonical_mailbox(email),
        name=name,
        sort_name=sort_key(name),
        country=country,
        region=region,
        affiliation=affiliation,
        name_in_letters=named,
        updates=updates,
        locale=locale,
        state=state,
        ip_hash=ip_hash,
        confirmed_at=confirmed,
        created_at=when - timedelta(minutes=5),
    )
    sig.demands = [SignatureDemand(demand_id=d, confirmed_at=confirmed) for d in demand_ids]
    db.session.add(sig)
    until = counts.counting_until(db.session.get(Campaign, campaign_id))
    counts.record(campaign_id, None, counts.contribution(sig, until))
    return sig
