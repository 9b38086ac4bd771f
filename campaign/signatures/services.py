"""Signing and confirming: the rules the views and the CLI share.

Every submission is answered the same way, whether or not the address had signed before:
the difference only shows in the e-mail, which reaches the owner of the address alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from campaign.campaigns.models import Campaign
from campaign.campaigns.services import localise
from campaign.extensions import db
from campaign.i18n import URL_CODES
from campaign.mail import outbox
from campaign.moderation.heuristics import canonical_mailbox, hold_reasons
from campaign.names import sort_key
from campaign.security import TokenError, make_token, read_token
from campaign.signatures.models import Signature, SignatureDemand
from campaign.timeutil import utcnow


@dataclass
class SignatureInput:
    """A validated submission of the signing form."""

    name: str
    email: str  # already normalised
    country: str
    region: str
    affiliation: str
    comment: str
    display: str
    name_in_letters: bool
    updates: bool
    demand_ids: list[int]
    locale: str


def _apply_details(sig: Signature, data: SignatureInput) -> None:
    sig.name = data.name
    sig.sort_name = sort_key(data.name)
    sig.country = data.country
    sig.region = data.region
    sig.affiliation = data.affiliation
    sig.comment = data.comment
    sig.comment_state = "pending" if data.comment else "none"
    sig.display = data.display
    sig.name_in_letters = data.name_in_letters
    sig.updates = data.updates
    sig.locale = data.locale


def _add_demands(sig: Signature, demand_ids: list[int]) -> None:
    have = {link.demand_id for link in sig.demands}
    for demand_id in sorted(set(demand_ids) - have):
        sig.demands.append(SignatureDemand(demand_id=demand_id))


def _record(campaign: Campaign, data: SignatureInput, ip_hash: str | None) -> Signature:
    """Insert or extend the signature for ``data.email`` (no commit)."""
    sig = db.session.scalar(
        select(Signature).where(Signature.campaign_id == campaign.id, Signature.email == data.email)
    )
    if sig is None:
        sig = Signature(
            campaign_id=campaign.id,
            email=data.email,
            email_domain=data.email.rpartition("@")[2],
            mailbox_key=canonical_mailbox(data.email),
            ip_hash=ip_hash,
        )
        _apply_details(sig, data)
        _add_demands(sig, data.demand_ids)
        db.session.add(sig)
    elif sig.state == "unconfirmed":
        # Nobody confirmed anything yet: the latest submission's details win.
        _apply_details(sig, data)
        sig.ip_hash = ip_hash
        _add_demands(sig, data.demand_ids)
    else:
        # Confirmed (or held, or invalidated): only new demands are added, pending a click.
        _add_demands(sig, data.demand_ids)
    db.session.flush()
    return sig


def submit_signature(
    campaign: Campaign, data: SignatureInput, ip_hash: str | None
) -> Signature | None:
    """Record a submission and queue its confirmation mail; the caller commits.

    Returns the signature, or None when a mail to that address went out moments ago
    (so the form cannot be used to flood someone's mailbox).
    """
    try:
        with db.session.begin_nested():
            sig = _record(campaign, data, ip_hash)
    except IntegrityError:
        # Another request inserted the same address concurrently: extend that one.
        sig = _record(campaign, data, ip_hash)
    interval = timedelta(seconds=current_app.config["CONFIRM_MAIL_INTERVAL_SECONDS"])
    now = utcnow()
    if sig.mailed_at and now - sig.mailed_at < interval:
        return None
    sig.mailed_at = now
    _queue_confirmation(campaign, sig, data.demand_ids)
    return sig


def _queue_confirmation(campaign: Campaign, sig: Signature, demand_ids: list[int]) -> None:
    token = make_token("confirm", [sig.id, sorted(set(demand_ids))])
    with force_locale(sig.locale):
        view = localise(campaign, sig.locale)
        wanted = set(demand_ids)
        already = {link.demand_id for link in sig.demands if link.confirmed_at is not None}
        link = external_url("signatures.confirm", lang=URL_CODES[sig.locale], token=token)
        outbox.enqueue(
            recipient=sig.email,
            subject=_("Please confirm your signature: %(title)s", title=view.title),
            template="mail/confirm",
            kind="confirm",
            campaign=view,
            signature=sig,
            demands=[d for d in view.demands if d.id in wanted],
            nothing_new=wanted <= already,
            link=link,
            days=current_app.config["CONFIRM_MAX_AGE_DAYS"],
        )


def external_url(endpoint: str, **values: object) -> str:
    """An absolute URL, on ``PUBLIC_URL`` when set (behind a proxy), else the request host."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


@dataclass
class Confirmation:
    """The outcome of opening a confirmation link."""

    signature: Signature
    campaign: Campaign
    newly_confirmed: int


def confirm_signature(token: str) -> Confirmation:
    """Confirm the signature and demands a token names. Idempotent.

    Raises ``TokenExpired`` or ``TokenError`` (also when the signature was erased).
    """
    max_age = current_app.config["CONFIRM_MAX_AGE_DAYS"] * 86400
    payload = read_token("confirm", token, max_age)
    try:
        signature_id, demand_ids = int(payload[0]), [int(d) for d in payload[1]]
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise TokenError("malformed payload") from exc
    sig = db.session.get(Signature, signature_id)
    if sig is None:
        raise TokenError("no such signature")
    now = utcnow()
    if sig.state == "unconfirmed":
        reasons = hold_reasons(sig)
        # A suspicious signature is kept and held for a moderator, never dropped.
        sig.state = "held" if reasons else "confirmed"
        sig.hold_reasons = ",".join(reasons)
        sig.confirmed_at = now
    result = db.session.execute(
        update(SignatureDemand)
        .where(
            SignatureDemand.signature_id == sig.id,
            SignatureDemand.demand_id.in_(demand_ids),
            SignatureDemand.confirmed_at.is_(None),
        )
        .values(confirmed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    campaign = db.session.get(Campaign, sig.campaign_id)
    return Confirmation(signature=sig, campaign=campaign, newly_confirmed=result.rowcount)
