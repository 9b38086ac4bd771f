"""A supporter's own page: what is stored about them, and changing their mind.

The page is reached by a private link, ``/<lang>/my/<token>``, with no login: every mail
to a signer carries one (made as the mail leaves, like every mailed link), and so does the
thank-you page. The thank-you page's link is derived from the confirmation link it is
shown at (an HMAC under the app's secret), and recorded when the button is pressed: the
page itself, a GET, changes nothing, and neither the database nor a copy of it holds a
working link.

Every change is the supporter's own act: recorded in the audit trail as done by
``supporter``, with no name, address or detail; counts, recent supporters and the next
packet built follow at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from campaign import audit, tokens
from campaign.campaigns.models import Campaign
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.partners import services as partners
from campaign.security import TokenError
from campaign.signatures import counts
from campaign.signatures.erasure import erase
from campaign.signatures.models import DISPLAY_CHOICES, Signature, Submission, join_ids
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken

PURPOSE = "my"


@dataclass(frozen=True)
class Supporter:
    """The stand-in actor for a supporter's own changes in the audit trail."""

    id: None = None
    email: str = "supporter"


SUPPORTER = Supporter()


def link_days() -> int:
    """How long a link to a supporter's own page works."""
    return current_app.config["MY_LINK_MAX_AGE_DAYS"]


def reserve_link(signature_id: int, now: datetime | None = None) -> LinkToken:
    """A token for a mail's link to the signer's page, made when the mail leaves."""
    return tokens.reserve(PURPOSE, link_days(), signature_id=signature_id, now=now)


def derived_token(confirm_token: str) -> str:
    """The token of the page link shown at a confirmation link's thank-you page.

    Derived, not stored: 256 bits of HMAC under a key of its own, URL-safe like the rest.
    """
    key = hashlib.sha256(b"my-page:" + current_app.config["SECRET_KEY"].encode()).digest()
    mac = hmac.new(key, confirm_token.encode("utf-8", "replace"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def record_thanks_link(confirm_token: str) -> None:
    """When the button of a confirmation link is pressed: make its thank-you page's link work.

    Idempotent; the caller has checked the confirmation token and commits.
    """
    digest = tokens.digest(derived_token(confirm_token))
    if db.session.scalar(select(LinkToken.id).where(LinkToken.digest == digest)):
        return
    submission_id = tokens.bound_submission("confirm", confirm_token)
    signature_id = db.session.scalar(
        select(Submission.signature_id).where(Submission.id == submission_id)
    )
    if signature_id is None:
        return
    now = utcnow()
    db.session.add(
        LinkToken(
            purpose=PURPOSE,
            digest=digest,
            signature_id=signature_id,
            created_at=now,
            expires_at=now + timedelta(days=link_days()),
        )
    )


def thanks_link_token(confirm_token: str) -> str | None:
    """The page token to show at a thank-you page, if pressing its button recorded one."""
    token = derived_token(confirm_token)
    try:
        tokens.resolve(PURPOSE, token)
    except TokenError:
        return None
    return token


@dataclass
class Mine:
    """What a supporter's link opens: their signature, its campaign, the demands signed."""

    signature: Signature
    campaign: Campaign
    demand_ids: list[int]  # signed, in the campaign's order
    confirmed_ids: set[int]  # of those, the ones confirmed


def open_mine(token: str) -> Mine:
    """The signature a page link names; changes nothing.

    Raises ``TokenExpired`` or ``TokenError``, the same for an unknown token and for one
    whose signature was erased (its links went with it).
    """
    row = tokens.resolve(PURPOSE, token)
    sig = db.session.get(Signature, row.signature_id) if row.signature_id else None
    if sig is None:
        raise TokenError("no such signature")
    campaign = db.session.get(Campaign, sig.campaign_id)
    order = {d.id: d.position for d in campaign.demands}
    links = sorted(sig.demands, key=lambda link: order.get(link.demand_id, 0))
    return Mine(
        signature=sig,
        campaign=campaign,
        demand_ids=[link.demand_id for link in links],
        confirmed_ids={link.demand_id for link in links if link.confirmed_at is not None},
    )


class MineError(RefusedError):
    """A change the page refuses; ``code`` names why."""


def _counted_change(mine: Mine, change) -> None:  # noqa: ANN001 - a callable on the row
    """Apply ``change`` to the signature and record how its counts moved."""
    sig = mine.signature
    until = counts.counting_until(mine.campaign)
    before = counts.contribution(sig, until)
    change(sig)
    db.session.flush()
    counts.record(sig.campaign_id, before, counts.contribution(sig, until))


def withdraw_demand(mine: Mine, demand_id: int) -> None:
    """Withdraw the signature from one demand; the caller commits.

    The last demand cannot be withdrawn alone: a signature of no demand would still count
    in the campaign's total. Erasing is the way to withdraw it.
    """
    if demand_id not in mine.demand_ids:
        raise MineError("not_signed")
    if len(mine.demand_ids) == 1:
        raise MineError("last_demand")

    def drop(sig: Signature) -> None:
        # Through the relationship (delete-orphan), so that the counts read after see it.
        sig.demands = [link for link in sig.demands if link.demand_id != demand_id]

    _counted_change(mine, drop)
    audit.record(SUPPORTER, "signature", mine.signature.id, "supporter_withdrew_demand",
                 demand_id=demand_id)  # fmt: skip
    mine.demand_ids.remove(demand_id)
    mine.confirmed_ids.discard(demand_id)


def change_choices(
    mine: Mine,
    display: str,
    name_in_letters: bool,
    updates: bool,
    partner_ids: list[int] | None = None,
) -> list[str]:
    """Change how the supporter is shown, whether they are named in letters, updates, and
    (``partner_ids``, when given) which partners may write to them.

    Returns the names of what changed (recorded in the audit trail, without values other
    than the choices themselves); the caller commits.
    """
    if display not in DISPLAY_CHOICES:
        raise MineError("bad_display")
    sig = mine.signature
    wanted = {"display": display, "name_in_letters": name_in_letters, "updates": updates}
    if partner_ids is not None:
        wanted["partner_ids"] = partners.keep_known(sig.campaign_id, join_ids(partner_ids))
    changed = [name for name, value in wanted.items() if getattr(sig, name) != value]
    for name in changed:
        setattr(sig, name, wanted[name])
    if changed:
        audit.record(SUPPORTER, "signature", sig.id, "supporter_changed_choices",
                     **{name: wanted[name] for name in changed})  # fmt: skip
    return changed


def stored_data(mine: Mine) -> dict:
    """Everything stored about the supporter for this campaign, for the JSON download."""
    sig = mine.signature
    links = {link.demand_id: link for link in sig.demands}
    positions = {d.id: d.position for d in mine.campaign.demands}
    return {
        "campaign": {"slug": mine.campaign.slug, "title": mine.campaign.title},
        "signature": {
            "name": sig.name,
            "email": sig.email,
            "country": sig.country,
            "region": sig.region,
            "affiliation": sig.affiliation,
            "comment": sig.comment,
            "comment_state": sig.comment_state,
            "display": sig.display,
            "name_in_letters": sig.name_in_letters,
            "updates": sig.updates,
            "language": sig.locale,
            "state": sig.state,
            "signed_at": _iso(sig.created_at),
            "confirmed_at": _iso(sig.confirmed_at),
            "network_address_hash_kept": sig.ip_hash is not None,
            "mail_refused_at": _iso(sig.bounced_at),
            "partners_who_may_write": [
                partner.name
                for partner in partners.partners_of(sig.campaign_id)
                if str(partner.id) in sig.partner_ids.split(",")
            ],
        },
        "demands": [
            {
                "position": positions.get(demand_id),
                "signed_at": _iso(links[demand_id].created_at),
                "confirmed_at": _iso(links[demand_id].confirmed_at),
            }
            for demand_id in mine.demand_ids
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def erase_mine(mine: Mine) -> int:
    """Erase everything stored for the supporter's address (every campaign); the caller
    commits, then runs ``erasure.after_erasure``."""
    signature_id = mine.signature.id
    deleted = erase(mine.signature.email)
    audit.record(SUPPORTER, "signature", signature_id, "supporter_erased", signatures=deleted)
    return deleted
