"""Bounces and complaints: the suppression list.

A recipient's server that refuses a message for good (an SMTP 5xx reply, at once or in a
delivery report that comes back later) or a provider's spam complaint puts the address on
the suppression list. No update goes to it again until its owner signs again from the form
and presses the link mailed for it, which is the one act that says the address works and
is theirs. A bounced address still gets the confirmation of a new submission (the form
limits those per mailbox), since without it the owner could never come back; typing the
address into the form lifts nothing, or a stranger could undo a block. After a complaint
no confirmation goes either: the person, not a server, said no. Erasure mail is never
suppressed: asking to be forgotten is always answered.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses

from email_validator import EmailNotValidError
from sqlalchemy import delete, func, select, update

from campaign.emails import normalise_email
from campaign.extensions import db
from campaign.mail.models import MailSuppression
from campaign.security import keyed_digest
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow

# Mail that the suppression list stops; every other kind (erasure) always goes.
SUPPRESSIBLE = frozenset({"confirm", "update"})
# Of those, what a bounce (rather than a complaint) lets through: the confirmation a new
# submission asked for.
AFTER_BOUNCE = frozenset({"confirm"})

_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def _normal(email: str) -> str:
    """The address as signatures keep it; a report's odd address is only trimmed."""
    try:
        return normalise_email(email)
    except EmailNotValidError:
        return email.strip().casefold()


def address_hash(email: str) -> str:
    """The keyed hash the suppression list is kept by."""
    return keyed_digest(b"suppression", _normal(email))


def refusal(exc: BaseException) -> str | None:
    """The status of a permanent refusal ("550 5.1.1"), or None for anything else.

    A 5xx reply to the recipient or to the message's data is the server saying no for
    good; 4xx replies, refused senders and broken connections are retried.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        permanent = [(code, text) for code, text in replies if 500 <= code < 600]
        return _status(*permanent[0]) if permanent and len(permanent) == len(replies) else None
    if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
        return _status(exc.smtp_code, exc.smtp_error)
    return None


def _status(code: int, text: bytes | str) -> str:
    """The reply code and enhanced status code only: the free text may name the address."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = _ENHANCED.search(text or "")
    return f"{code} {found.group(1)}" if found else str(code)


def suppress(email: str, reason: str, status: str = "") -> None:
    """Put ``email`` on the suppression list and mark its signatures; the caller commits."""
    key = address_hash(email)
    row = db.session.get(MailSuppression, key)
    if row is None:
        db.session.add(MailSuppression(address_hash=key, reason=reason, status=status[:20]))
    else:
        # A complaint outweighs a bounce: the person, not a server, said no.
        if reason == "complaint":
            row.reason = reason
        row.status, row.created_at = status[:20], utcnow()
    db.session.execute(
        update(Signature)
        .where(Signature.email == _normal(email))
        # Keep updated_at: a refused mail is not an edit by the signer.
        .values(bounced_at=utcnow(), updated_at=Signature.updated_at)
    )


def is_suppressed(email: str) -> bool:
    """Whether ``email`` is on the suppression list."""
    return db.session.get(MailSuppression, address_hash(email)) is not None


def stops(email: str, kind: str) -> bool:
    """Whether the suppression list stops a message of ``kind`` to ``email``."""
    if kind not in SUPPRESSIBLE:
        return False
    row = db.session.get(MailSuppression, address_hash(email))
    if row is None:
        return False
    return row.reason == "complaint" or kind not in AFTER_BOUNCE


def lift(email: str) -> bool:
    """The owner signed again and pressed the mailed link: mail may go to ``email`` again;
    the caller commits.

    Returns whether it was suppressed.
    """
    removed = db.session.execute(
        delete(MailSuppression).where(MailSuppression.address_hash == address_hash(email))
    ).rowcount
    if removed:
        db.session.execute(
            update(Signature)
            .where(Signature.email == _normal(email), Signature.bounced_at.is_not(None))
            .values(bounced_at=None, updated_at=Signature.updated_at)
        )
    return bool(removed)


def bounced_counts() -> dict[int, int]:
    """Signatures whose address bounced or complained, per campaign id."""
    rows = db.session.execute(
        select(Signature.campaign_id, func.count())
        .where(Signature.bounced_at.is_not(None))
        .group_by(Signature.campaign_id)
    ).all()
    return {campaign_id: n for campaign_id, n in rows}


@dataclass
class ReportResult:
    """What reading delivery reports found (counts only: no addresses are printed)."""

    bounces: int = 0
    complaints: int = 0
    ignored: int = 0
    unreadable: int = 0


def read_report(message: EmailMessage | Message) -> tuple[str, list[tuple[str, str]]]:
    """The kind of a returned message and the addresses it reports, with their status.

    ``("bounce", [(address, "5.1.1"), ...])`` for a delivery status notification (RFC 3464)
    whose recipients failed permanently; ``("complaint", [(address, "")])`` for a spam
    report (RFC 5965); ``("", [])`` for anything else, delayed or relayed reports included.
    """
    if message.get_content_type() != "multipart/report":
        return "", []
    report_type = (message.get_param("report-type") or "").lower()
    parts = list(message.walk())
    if report_type == "delivery-status":
        found = []
        for part in parts:
            if part.get_content_type() != "message/delivery-status":
                continue
            # The first block is about the message, each further one about a recipient.
            for block in part.get_payload()[1:]:
                action = str(block.get("Action", "")).strip().lower()
                status = str(block.get("Status", "")).strip()
                address = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
                if action == "failed" and status.startswith("5.") and address:
                    found.append((address, status[:20]))
        return ("bounce", found) if found else ("", [])
    if report_type == "feedback-report":
        for part in parts:
            if part.get_content_type() != "message/feedback-report":
                continue
            fields = part.get_payload()[0]
            if str(fields.get("Feedback-Type", "")).strip().lower() != "abuse":
                return "", []
            address = _address(fields.get("Original-Rcpt-To"))
            if not address:
                # Providers often omit it; the returned message's own To then names it.
                for inner in parts:
                    if inner.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
                        address = _first_to(inner)
                        break
            return ("complaint", [(address, "")]) if address else ("", [])
    return "", []


def _address(value: object) -> str:
    """The address of an RFC 3464 recipient field ("rfc822; someone@example.org")."""
    text = str(value or "").strip()
    kind, _, address = text.partition(";")
    if not address:
        address, kind = kind, "rfc822"
    address = address.strip().strip("<>")
    return address if kind.strip().lower() == "rfc822" and "@" in address else ""


def _first_to(part: Message) -> str:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else part
    to = inner.get("To", "") if hasattr(inner, "get") else ""
    addresses = [a for _n, a in getaddresses([str(to)]) if "@" in a]
    return addresses[0] if addresses else ""


def record_reports(messages: list[EmailMessage | Message | None]) -> ReportResult:
    """Suppress every address the returned messages report; commits. ``None``: unreadable."""
    result = ReportResult()
    for message in messages:
        if message is None:
            result.unreadable += 1
            continue
        kind, found = read_report(message)
        if not found:
            result.ignored += 1
            continue
        for address, status in found:
            suppress(address, kind, status)
            if kind == "bounce":
                result.bounces += 1
            else:
                result.complaints += 1
    db.session.commit()
    return result
