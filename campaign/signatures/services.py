"""Signing and confirming: the rules the views and the CLI share.

Every submission is answered the same way, whether or not the address had signed before:
the difference only shows in the e-mail, which reaches the owner of the address alone.

A submission is kept as its own row until the link mailed for it is opened; the link
applies exactly that submission's details and demands. Until then nothing submitted for
an address changes what is stored or counted for it, so a stranger who types someone
else's address can neither confirm for them nor rewrite what they confirm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from campaign import tokens
from campaign.campaigns.models import Campaign
from campaign.campaigns.services import localise
from campaign.emails import canonical_mailbox
from campaign.extensions import db
from campaign.i18n import URL_CODES
from campaign.mail import bounces, outbox
from campaign.mail.models import OutboxMessage
from campaign.moderation.heuristics import hold_reasons
from campaign.names import sort_key
from campaign.partners import services as partners
from campaign.security import TokenError
from campaign.signatures import counts
from campaign.signatures.mine import reserve_link as reserve_page_link
from campaign.signatures.models import Signature, SignatureDemand, Submission
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken
from campaign.urls import external_url, onion_url

log = logging.getLogger(__name__)


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
    # The partners the signer ticked (``join_ids``): each may write to them once confirmed.
    partner_ids: str = ""


_DETAILS = (
    "name",
    "country",
    "region",
    "affiliation",
    "comment",
    "display",
    "name_in_letters",
    "updates",
    "locale",
    "partner_ids",
)


def _apply_details(
    sig: Signature, source: SignatureInput | Submission, consents: bool = True
) -> None:
    """Copy a submission's details onto the signature (the comment waits for review).

    ``consents``: also the partners it may be written to by; not on a new, unconfirmed
    row, so that no consent exists before the owner of the address gives it.
    """
    if source.comment != sig.comment or not sig.comment_state:
        sig.comment_state = "pending" if source.comment else "none"
    for field in _DETAILS:
        if field != "partner_ids":
            setattr(sig, field, getattr(source, field))
    if consents and source.partner_ids != sig.partner_ids:
        # A partner removed since the form was sent takes no consent.
        sig.partner_ids = partners.keep_known(sig.campaign_id, source.partner_ids)
    sig.sort_name = sort_key(source.name)


def _find_or_create(campaign: Campaign, email: str, source: Submission) -> Signature:
    """The signature row for ``email`` on ``campaign``, created unconfirmed if new.

    A new row takes the first submission's details, but it is neither counted nor shown
    until a link is opened; an existing row is not touched.
    """
    query = select(Signature).where(Signature.campaign_id == campaign.id, Signature.email == email)
    sig = db.session.scalar(query)
    if sig is not None:
        return sig
    try:
        with db.session.begin_nested():
            sig = Signature(
                campaign_id=campaign.id,
                email=email,
                email_domain=email.rpartition("@")[2],
                mailbox_key=canonical_mailbox(email),
                ip_hash=source.ip_hash,
            )
            _apply_details(sig, source, consents=False)
            db.session.add(sig)
            db.session.flush()
    except IntegrityError:
        # Another request inserted the same address concurrently: use that row.
        sig = db.session.scalar(query)
    return sig


def _same_details(a: Signature | Submission, b: Signature | Submission) -> bool:
    return all(getattr(a, field) == getattr(b, field) for field in _DETAILS)


def _fold_deferred(sig: Signature, into: Submission, now: datetime) -> bool:
    """Fold submissions with the same details whose mail has not gone out into ``into``.

    Their links were never sent, so nobody holds them; their demands join the newer
    submission, so nothing asked for within the mail interval is lost. A submission with
    other details keeps its own mail and link (someone else may have typed them), so no
    submission ever hides another. Returns whether anything was folded.
    """
    waiting = db.session.execute(
        select(Submission, OutboxMessage.id)
        .join(LinkToken, LinkToken.submission_id == Submission.id)
        .join(OutboxMessage, OutboxMessage.link_token_id == LinkToken.id)
        .where(
            Submission.signature_id == sig.id,
            Submission.state == "pending",
            Submission.id != into.id,
            OutboxMessage.state == "queued",
            OutboxMessage.attempts == 0,
            OutboxMessage.next_attempt_at > now,
        )
    ).all()
    demands, folded = set(into.demand_list), False
    for old, message_id in waiting:
        if not _same_details(old, into):
            continue
        taken = db.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.id == message_id, OutboxMessage.state == "queued"
            )
        ).rowcount
        if not taken:
            continue  # a worker is sending it right now: it stays as it is
        demands |= set(old.demand_list)
        old.state = "merged"
        folded = True
        db.session.execute(delete(LinkToken).where(LinkToken.submission_id == old.id))
    into.demand_ids = ",".join(str(d) for d in sorted(demands))
    return folded


def _send_time(sig: Signature, submission: Submission, now: datetime) -> datetime:
    """When this submission's mail may go: at once, or once the mail interval has passed.

    The interval is per mailbox, not per address: ``jane+1@`` and ``jane+2@`` (and, where
    the provider ignores dots, ``j.ane@``) reach one person, who gets one mail per interval.
    """
    interval = timedelta(seconds=current_app.config["CONFIRM_MAIL_INTERVAL_SECONDS"])
    own = sig.mailed_at
    aliases = db.session.scalar(
        select(func.max(Signature.mailed_at)).where(
            Signature.campaign_id == sig.campaign_id,
            Signature.mailbox_key == sig.mailbox_key,
            Signature.id != sig.id,
        )
    )
    last = max((t for t in (own, aliases) if t is not None), default=None)
    if last is None or now >= last + interval:
        return now
    if own is not None and own > now and _fold_deferred(sig, submission, now):
        return own  # it replaces a waiting mail with the same details, at the same time
    # One mail per interval: after the last one sent or waiting to this mailbox.
    return last + interval


# Built once: the statement is the same for every submission, only its values change.
_RECEIVE = insert(Submission.__table__)


def receive_signature(campaign_id: int, data: SignatureInput, ip_hash: str | None) -> int:
    """Store a submission of the signing form, as received; the caller commits.

    This is all the signing request does: one row, whose commit is the promise that the
    signature will be mailed for. Looking the address up and mailing happen afterwards in
    the worker (``take_received``), so the answer neither waits for them nor depends on
    who signed before.
    """
    row = {
        "campaign_id": campaign_id,
        "email": data.email,
        "demand_ids": ",".join(str(d) for d in sorted(set(data.demand_ids))),
        "ip_hash": ip_hash,
        "state": "received",
        "created_at": utcnow(),
        **{field: getattr(data, field) for field in _DETAILS},
    }
    # On the session's connection, past the ORM's statement handling: a plain row insert.
    return db.session.connection().execute(_RECEIVE, row).inserted_primary_key[0]


def _take(campaign: Campaign, submission: Submission, views: dict | None = None) -> None:
    """Attach a received submission to its signature and queue the mail that confirms it.

    At most one confirmation mail per address goes out per ``CONFIRM_MAIL_INTERVAL_SECONDS``;
    a submission within the interval is mailed when it ends, together with the demands of
    any other submission that arrived meanwhile.
    """
    sig = _find_or_create(campaign, submission.email, submission)
    submission.signature_id = sig.id
    submission.email = ""
    submission.state = "pending"
    db.session.flush()
    now = utcnow()
    send_at = _send_time(sig, submission, now)
    sig.mailed_at = send_at
    _queue_confirmation(campaign, sig, submission, send_at, views)
    db.session.flush()


TAKE_BATCH = 50


def _work_through(
    state: str,
    limit: int,
    handle: Callable[[Submission, dict], None],
    prepare: Callable[[list[Submission]], None] | None = None,
) -> int:
    """Run ``handle`` on submissions in ``state``, in order, up to ``limit``; how many.

    A batch at a time, each in one transaction (on PostgreSQL, workers skip rows another
    is working on), each submission in its own savepoint: one that fails is logged, stays
    in its state and is tried again in the next pass, and the others go on. ``handle``
    gets a dict it may keep things in for the rest of the batch.
    """
    done, failed = 0, []
    while done < limit:
        batch = db.session.scalars(
            select(Submission)
            .where(Submission.state == state, Submission.id.not_in(failed))
            .order_by(Submission.id)
            .limit(min(TAKE_BATCH, limit - done))
            .with_for_update(skip_locked=True)
        ).all()
        if not batch:
            break
        if prepare is not None:
            prepare(batch)
        kept: dict = {}
        for submission in batch:
            submission_id = submission.id
            try:
                with db.session.begin_nested():
                    handle(submission, kept)
                done += 1
            except Exception:  # one bad row must not stop the queue
                failed.append(submission_id)
                log.exception("submission %s (%s) failed", submission_id, state)
        db.session.commit()
    return done


def take_received(limit: int = 500) -> int:
    """The worker's part of signing: take received submissions; returns how many."""

    def take(submission: Submission, views: dict) -> None:
        # ``views``: the campaign in each language, rendered once per batch.
        _take(db.session.get(Campaign, submission.campaign_id), submission, views)

    return _work_through("received", limit, take)


def submit_signature(campaign: Campaign, data: SignatureInput, ip_hash: str | None) -> Submission:
    """Receive a submission and take it at once (the CLI and tests); the caller commits."""
    submission = db.session.get(Submission, receive_signature(campaign.id, data, ip_hash))
    _take(campaign, submission)
    return submission


def _queue_confirmation(
    campaign: Campaign,
    sig: Signature,
    submission: Submission,
    send_at: datetime,
    views: dict | None = None,
) -> None:
    days = current_app.config["CONFIRM_MAX_AGE_DAYS"]
    link_token = tokens.reserve("confirm", days, submission_id=submission.id, now=send_at)
    locale = submission.locale
    wanted = set(submission.demand_list)
    already = {link.demand_id for link in sig.demands if link.confirmed_at is not None}
    # Known details are those of a signer who confirmed before; a new row holds only the
    # first submission's, which nobody has confirmed.
    known = sig.state != "unconfirmed" and _same_details(sig, submission)
    with force_locale(locale):
        views = {} if views is None else views
        if (campaign.id, locale) not in views:
            views[(campaign.id, locale)] = localise(campaign, locale)
        view = views[(campaign.id, locale)]
        outbox.enqueue(
            recipient=sig.email,
            subject=_("Please confirm your signature: %(title)s", title=view.title),
            template="mail/confirm",
            kind="confirm",
            send_at=send_at,
            link_token=link_token,
            page_token=reserve_page_link(sig.id, now=send_at),
            campaign=view,
            submission=submission,
            demands=[d for d in view.demands if d.id in wanted],
            nothing_new=wanted <= already and known,
            details_only=wanted <= already and not known and sig.state != "unconfirmed",
            link=external_url(
                "signatures.confirm", lang=URL_CODES[locale], token=tokens.PLACEHOLDER
            ),
            onion_link=onion_url(
                "signatures.confirm", lang=URL_CODES[locale], token=tokens.PLACEHOLDER
            ),
            days=days,
            my_link=external_url(
                "signatures.mine", lang=URL_CODES[locale], token=tokens.PAGE_PLACEHOLDER
            ),
        )


@dataclass
class PendingConfirmation:
    """What a confirmation link would apply, shown before the supporter presses the button."""

    submission: Submission
    signature: Signature
    campaign: Campaign

    @property
    def applied(self) -> bool:
        """The link was used already: opening it again only says thank you."""
        return self.submission.state in PRESSED


def open_confirmation(token: str, for_update: bool = False) -> PendingConfirmation:
    """The submission a confirmation link names; changes nothing.

    ``for_update`` locks the submission (PostgreSQL), so that two presses of the button
    at once apply it once. Raises ``TokenExpired`` or ``TokenError`` (also when the
    signature was erased).
    """
    row = tokens.resolve("confirm", token)
    submission = (
        db.session.get(Submission, row.submission_id, with_for_update=for_update)
        if row.submission_id
        else None
    )
    if submission is None:
        raise TokenError("no such submission")
    sig = db.session.get(Signature, submission.signature_id)
    campaign = db.session.get(Campaign, sig.campaign_id)
    return PendingConfirmation(submission=submission, signature=sig, campaign=campaign)


@dataclass
class Confirmation:
    """The outcome of confirming by a link."""

    signature: Signature
    campaign: Campaign
    newly_confirmed: int


# The button was pressed: waiting for the worker, or applied.
PRESSED = ("pressed", "applied")


# Built once (a statement built per request costs more than running it).
_PRESS = (
    update(Submission.__table__)
    .where(
        Submission.__table__.c.state == "pending",
        Submission.__table__.c.id == tokens.live_submission(),
    )
    .values(state="pressed", applied_at=bindparam("now"))
)


def press_confirmation(token: str) -> None:
    """The button of a mailed link: record that the owner of the address confirmed.

    All the request does (one row updated); the worker applies the submission a moment
    later (``apply_pressed``), with the time of the press as its confirmation time.
    Idempotent. Raises ``TokenExpired`` or ``TokenError`` (also when it was erased).
    """
    # One statement for the usual case, so that on SQLite the write lock is held for that
    # statement alone: pressing twice, or at once in two tabs, presses once.
    if tokens.well_formed(token):
        values = {"digest": tokens.digest(token), "purpose": "confirm", "now": utcnow()}
        if db.session.connection().execute(_PRESS, values).rowcount:
            return
    # Pressed before, or a link that does not work: which one, and why.
    submission_id = tokens.bound_submission("confirm", token)
    if submission_id is None or db.session.get(Submission, submission_id) is None:
        raise TokenError("no such submission")


def confirm_signature(token: str) -> Confirmation:
    """Press the link's button and apply it at once (the CLI and tests). Idempotent."""
    press_confirmation(token)
    db.session.expire_all()  # the press was one statement: reload what it changed
    pending = open_confirmation(token, for_update=True)
    campaign = pending.campaign
    return _apply(pending.submission, pending.signature, campaign, counts.counting_until(campaign))


def apply_pressed(limit: int = 500) -> int:
    """The worker's part of confirming: apply pressed submissions; returns how many."""

    def load(batch: list[Submission]) -> None:
        # The batch's signatures, their demand links and consents in three queries, not per row.
        db.session.scalars(
            select(Signature)
            .where(Signature.id.in_({s.signature_id for s in batch}))
            .options(selectinload(Signature.demands), selectinload(Signature.partner_consents))
        ).all()

    def apply(submission: Submission, untils: dict) -> None:
        sig = db.session.get(Signature, submission.signature_id)
        campaign = db.session.get(Campaign, sig.campaign_id)
        if campaign.id not in untils:  # read once per batch (a setting and the campaign)
            untils[campaign.id] = counts.counting_until(campaign)
        _apply(submission, sig, campaign, untils[campaign.id])

    return _work_through("pressed", limit, apply, load)


def _apply(
    submission: Submission, sig: Signature, campaign: Campaign, until: datetime | None
) -> Confirmation:
    """Apply a pressed submission: its details and its demands, held if suspicious.

    ``until``: ``counts.counting_until(campaign)``, which the caller reads once per batch.
    """
    if submission.state != "pressed":
        return Confirmation(signature=sig, campaign=campaign, newly_confirmed=0)
    now = submission.applied_at or utcnow()
    counted_before = counts.contribution(sig, until)
    shown_before = (sig.name, sig.affiliation)
    _apply_details(sig, submission)
    sig.ip_hash = submission.ip_hash
    if sig.source == "paper":
        # The owner of the address confirmed online: no longer the batch's to correct or
        # invalidate, and counted once, as an online signature.
        sig.source, sig.batch_id = "online", None
    if sig.state == "unconfirmed":
        reasons = hold_reasons(sig)
        # A suspicious signature is kept and held for a moderator, never dropped.
        sig.state = "held" if reasons else "confirmed"
        sig.hold_reasons = ",".join(reasons)
        sig.confirmed_at = now
    elif sig.state == "confirmed" and (sig.name, sig.affiliation) != shown_before:
        # What is shown publicly and in letters changed: the same checks as at first.
        reasons = hold_reasons(sig)
        if reasons:
            sig.state = "held"
            sig.hold_reasons = ",".join(reasons)
    signable = {d.id for d in campaign.demands}
    have = {link.demand_id: link for link in sig.demands}
    newly = 0
    for demand_id in submission.demand_list:
        if demand_id not in signable:
            continue  # deleted since the submission
        link = have.get(demand_id)
        if link is None:
            sig.demands.append(SignatureDemand(demand_id=demand_id, confirmed_at=now))
            newly += 1
        elif link.confirmed_at is None:
            link.confirmed_at = now
            newly += 1
    submission.state = "applied"
    # The owner pressed a link mailed to the address: it works, and they want mail again.
    if sig.source == "online":
        bounces.lift(sig.email)
    counts.record(sig.campaign_id, counted_before, counts.contribution(sig, until))
    db.session.flush()
    return Confirmation(signature=sig, campaign=campaign, newly_confirmed=newly)


def stop_updates(signature_id: int) -> bool:
    """Stop updates to a supporter (idempotent); the signature itself stays."""
    result = db.session.execute(
        update(Signature).where(Signature.id == signature_id).values(updates=False)
    )
    return result.rowcount == 1
