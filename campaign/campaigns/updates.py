"""Updates to supporters: write per language, count recipients, test, send in batches.

Recipients are confirmed supporters who opted in (held, invalidated and erased ones are
not confirmed rows, so they are never included). Each gets the update in their own
language when it was written in it, else in the first language written, with a one-click
unsubscribe link and ``List-Unsubscribe`` headers (RFC 8058). Sending asks the worker to
queue the messages (``fan_out``), with staggered send times, so delivery keeps to
``UPDATE_MAIL_PER_MINUTE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from campaign import audit, jobs, tokens
from campaign.campaigns.models import Campaign, CampaignUpdate, UpdateText
from campaign.campaigns.services import localise
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.i18n import LOCALE_IDS, URL_CODES
from campaign.mail.models import OutboxMessage
from campaign.mail.render import render_mail
from campaign.markup import render_markdown
from campaign.signatures.counts import counted_signatures
from campaign.signatures.mine import reserve_link as reserve_page_link
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow
from campaign.urls import external_url
from campaign.validation import text_problem

UPDATE_LOCALES = LOCALE_IDS
FAN_OUT_JOB = "updates.fan_out"
# The limits the update form shows too (campaigns/staff_forms.py).
SUBJECT_MAX = 200
BODY_MAX = 20_000


class UpdateError(RefusedError):
    """A refused update action."""


def _recipients(campaign: Campaign) -> tuple:
    """Confirmed supporters of ``campaign`` who asked for updates, whose address works."""
    return (
        *counted_signatures(campaign.id),
        Signature.updates.is_(True),
        Signature.bounced_at.is_(None),
    )


def recipient_counts(campaign: Campaign) -> dict[str, int]:
    """How many recipients per locale."""
    rows = db.session.execute(
        select(Signature.locale, func.count())
        .where(*_recipients(campaign))
        .group_by(Signature.locale)
    ).all()
    return {locale: n for locale, n in rows}


def bounced_recipients(campaign: Campaign) -> int:
    """Confirmed supporters who asked for updates but get none: their address bounced."""
    return (
        db.session.scalar(
            select(func.count()).where(
                *counted_signatures(campaign.id),
                Signature.updates.is_(True),
                Signature.bounced_at.is_not(None),
            )
        )
        or 0
    )


def save_update(
    campaign: Campaign,
    texts: dict[str, tuple[str, str]],
    actor: object,
    draft: CampaignUpdate | None = None,
) -> CampaignUpdate:
    """Create or change a draft; ``texts`` maps locale to (subject, body)."""
    if draft is not None and draft.state != "draft":
        raise UpdateError("already_sent")
    for subject, body in texts.values():
        # A line break in a subject would break every message's headers.
        if (
            len(subject) > SUBJECT_MAX
            or len(body) > BODY_MAX
            or text_problem(subject)
            or text_problem(body, multiline=True)
        ):
            raise UpdateError("bad_text")
    written = {k: (s.strip(), b.strip()) for k, (s, b) in texts.items() if s.strip() and b.strip()}
    if not written:
        raise UpdateError("empty")
    item = draft or CampaignUpdate(campaign_id=campaign.id, created_by=getattr(actor, "id", None))
    item.texts = [UpdateText(locale=k, subject=s, body=b) for k, (s, b) in written.items()]
    item.locales = ",".join(sorted(written))
    if draft is None:
        db.session.add(item)
    db.session.flush()
    return item


def _unsubscribe_link(sig: Signature) -> tokens.LinkToken:
    """The token of a one-purpose link that stops updates to ``sig``, still to be made."""
    days = current_app.config["UNSUBSCRIBE_MAX_AGE_DAYS"]
    return tokens.reserve("unsubscribe", days, signature_id=sig.id)


def _my_url(locale: str) -> str:
    """The link to the signer's own page in ``locale``'s mails, with the token's placeholder."""
    return external_url("signatures.mine", lang=URL_CODES[locale], token=tokens.PAGE_PLACEHOLDER)


def _unsubscribe_url(locale: str) -> str:
    """The unsubscribe link of ``locale``'s mails, with the token's placeholder."""
    return external_url("signatures.unsubscribe", lang=URL_CODES[locale], token=tokens.PLACEHOLDER)


def _render(
    campaign: Campaign, item: CampaignUpdate, locale: str, link: str, my_link: str = ""
) -> tuple[str, str, str]:
    text = item.text_for(locale)
    with force_locale(locale):
        view = localise(campaign, locale)
        context = {
            "campaign": view,
            "subject": text.subject,
            "body_html": render_markdown(text.body),
            "body_text": text.body,
            "link": link,
            "my_link": my_link,
        }
        return (text.subject, *render_mail("mail/update", **context))


def _message(sig_or_email, subject, text, html, link, item, at) -> OutboxMessage:  # noqa: ANN001
    return OutboxMessage(
        recipient=sig_or_email,
        subject=subject,
        body_text=text,
        body_html=html,
        kind="update",
        headers=f"List-Unsubscribe: <{link}>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click",
        state="queued",
        attempts=0,
        next_attempt_at=at,
        update_id=item.id,
    )


def send_test(campaign: Campaign, item: CampaignUpdate, email: str, locale: str) -> None:
    """Queue the update to a staff member, as a supporter in ``locale`` would get it."""
    subject, text, html = _render(campaign, item, locale, "#")
    message = _message(email, "[TEST] " + subject, text, html, "#", item, utcnow())
    message.update_id = None  # tests do not count toward the update's progress
    db.session.add(message)


def send_update(campaign: Campaign, item: CampaignUpdate, actor: object) -> int:
    """Mark the update as sending and ask the worker to queue its messages; caller commits.

    Returns the number of recipients now; the worker queues one message for each, in
    batches, paced by ``UPDATE_MAIL_PER_MINUTE`` (a request never writes them all).
    """
    if item.state != "draft":
        raise UpdateError("already_sent")
    count = db.session.scalar(select(func.count()).where(*_recipients(campaign))) or 0
    item.state = "sending"
    item.sent_at = utcnow()
    item.sent_by = getattr(actor, "id", None)
    item.recipients = count
    item.fanned_out_to = 0
    jobs.enqueue(FAN_OUT_JOB, update_id=item.id)
    audit.record(actor, "update", item.id, "send", recipients=count, locales=item.locales)
    return count


FAN_OUT_BATCH = 1000


@jobs.handler(FAN_OUT_JOB)
def fan_out(update_id: int) -> None:
    """Queue the update's messages, a batch per transaction, carrying on where it stopped.

    Each message's send time keeps the pace from the moment the update was sent, and its
    unsubscribe token is made only as it leaves.
    """
    item = db.session.get(CampaignUpdate, update_id)
    if item is None or item.state != "sending":
        return
    campaign = db.session.get(Campaign, item.campaign_id)
    rate = max(current_app.config["UPDATE_MAIL_PER_MINUTE"], 1)
    step = timedelta(seconds=60 / rate)
    # Rendered once per language: every recipient's mail differs only by its token.
    links = {loc: _unsubscribe_url(loc) for loc in UPDATE_LOCALES}
    rendered = {
        loc: (*_render(campaign, item, loc, links[loc], _my_url(loc)), links[loc]) for loc in links
    }
    queued = db.session.scalar(select(func.count()).where(OutboxMessage.update_id == item.id)) or 0
    while True:
        batch = db.session.scalars(
            select(Signature)
            .where(*_recipients(campaign), Signature.id > item.fanned_out_to)
            .order_by(Signature.id)
            .limit(FAN_OUT_BATCH)
        ).all()
        pairs = []
        for sig in batch:
            subject, text, html, url = rendered.get(sig.locale) or rendered["en"]
            link_token, page_token = _unsubscribe_link(sig), reserve_page_link(sig.id)
            at = item.sent_at + step * (queued + len(pairs))
            message = _message(sig.email, subject, text, html, url, item, at)
            pairs.append((link_token, page_token, message))
        db.session.flush()  # the tokens, for their ids
        for link_token, page_token, message in pairs:
            message.link_token_id, message.page_token_id = link_token.id, page_token.id
        db.session.add_all([message for _link, _page, message in pairs])
        queued += len(pairs)
        if batch:
            item.fanned_out_to = batch[-1].id
        if len(batch) < FAN_OUT_BATCH:
            item.state = "sent"
            item.recipients = queued
        db.session.commit()  # a batch at a time: a worker killed meanwhile redoes only this one
        if item.state == "sent":
            return


@dataclass
class Progress:
    """Delivery of one update so far."""

    total: int
    sent: int
    queued: int
    failed: int
    bounced: int = 0  # refused for good, or stopped by the suppression list
    preparing: bool = False  # the worker is still queueing the messages

    @property
    def done(self) -> bool:
        """Nothing is left to send."""
        return not self.preparing and self.queued == 0

    @property
    def percent(self) -> int:
        """Share delivered, 0 to 100."""
        return 100 if not self.total else round(100 * self.sent / self.total)


def progress(item: CampaignUpdate) -> Progress:
    """Counts of the update's outbox messages by state."""
    rows = dict(
        db.session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.update_id == item.id)
            .group_by(OutboxMessage.state)
        ).all()
    )
    queued = rows.get("queued", 0) + rows.get("sending", 0)
    return Progress(
        item.recipients,
        rows.get("sent", 0),
        queued,
        rows.get("failed", 0),
        bounced=rows.get("bounced", 0) + rows.get("suppressed", 0),
        preparing=item.state == "sending",
    )


def all_updates(campaign: Campaign, sent_only: bool = False) -> list[CampaignUpdate]:
    """The campaign's updates, newest first (only the sent ones with ``sent_only``)."""
    query = select(CampaignUpdate).where(CampaignUpdate.campaign_id == campaign.id)
    if sent_only:  # sending counts: the organiser sent it, the worker is on its way
        query = query.where(CampaignUpdate.state != "draft")
    order = CampaignUpdate.sent_at if sent_only else CampaignUpdate.created_at
    return list(db.session.scalars(query.order_by(order.desc())))


def published_updates(campaign: Campaign) -> list[CampaignUpdate]:
    """Sent updates, newest first, for the campaign page's news."""
    return all_updates(campaign, sent_only=True)
