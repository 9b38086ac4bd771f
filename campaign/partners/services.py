"""Partner organisations: the rules the staff pages, the signing form and the letters share.

A partner is named on the campaign page with its link and its logo (served from our server).
Each supporter chooses, partner by partner, whether that partner may write to them: the
form never ticks it for them, and their own page takes it back. A partner's login sees the
campaign's public counts and downloads the supporters who chose it, and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from campaign import audit, files
from campaign.accounts import services as accounts
from campaign.accounts.models import StaffUser
from campaign.campaigns.models import Campaign
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.files import EXTENSIONS, IMAGE_TYPES
from campaign.partners.models import Partner, PartnerConsent
from campaign.signatures.models import Signature, join_ids, split_ids
from campaign.uploads import upload_limit
from campaign.validation import text_problem

NAME_MAX = 200
URL_MAX = 500
# Logos are shown small: a larger upload is scaled down, which also keeps pages light.
LOGO_MAX_SIDE = 480


class PartnerError(RefusedError):
    """A partner change that is refused; ``code`` says why."""


@dataclass(frozen=True)
class PartnerDetails:
    """What an organiser types about a partner."""

    name: str
    url: str = ""
    named_in_letters: bool = False


def partners_of(campaign_id: int) -> list[Partner]:
    """The campaign's partners in the order organisers gave them."""
    return list(
        db.session.scalars(
            select(Partner)
            .where(Partner.campaign_id == campaign_id)
            .order_by(Partner.position, Partner.id)
        )
    )


def partner_of(campaign: Campaign, partner_id: int) -> Partner | None:
    """The partner ``partner_id`` if it belongs to ``campaign``."""
    partner = db.session.get(Partner, partner_id)
    return partner if partner is not None and partner.campaign_id == campaign.id else None


def logo_path(partner: Partner) -> Path:
    """Where a partner's logo is kept: named by its content too, so that a new logo never
    overwrites the one the rows name until the change commits."""
    ext = EXTENSIONS[partner.logo_type]
    name = f"{partner.id}-{partner.logo_sha256[:16]}.{ext}"
    return Path(current_app.config["UPLOAD_DIR"]) / "partners" / name


def public_logo(partner_id: int) -> Partner | None:
    """A partner whose logo the public may see (its campaign is not a draft), or None."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or not partner.logo_type:
        return None
    campaign = db.session.get(Campaign, partner.campaign_id)
    return partner if campaign is not None and campaign.state != "draft" else None


def _checked(details: PartnerDetails) -> PartnerDetails:
    name = (details.name or "").strip()
    # Shown on the page and printed in letters: the rules of signers' names apply.
    if not name or len(name) > NAME_MAX or text_problem(name, signer=True):
        raise PartnerError("name")
    url = (details.url or "").strip()
    if text_problem(url):
        raise PartnerError("url")
    if url:
        parts = urlsplit(url)
        # A link people follow: to a web site, never a script or a local file.
        if len(url) > URL_MAX or parts.scheme not in ("http", "https") or not parts.netloc:
            raise PartnerError("url")
    return PartnerDetails(name=name, url=url, named_in_letters=bool(details.named_in_letters))


def clean_logo(data: bytes) -> tuple[str, bytes]:
    """A logo's type and its pixels alone (PNG or JPEG, scaled down); ``PartnerError``."""
    if len(data) > upload_limit():
        raise PartnerError("file_size")
    try:
        mime = files.sniff(data, IMAGE_TYPES)
        return mime, files.strip(data, mime, max_side=LOGO_MAX_SIDE)
    except files.FileRefused as exc:
        raise PartnerError(exc.code) from exc


def _store_logo(partner: Partner, logo: tuple[str, bytes] | None) -> None:
    """Write (or, with None, remove) the partner's logo file; the row has its id.

    The old file goes once the change commits; the new one goes if it rolls back.
    """
    if partner.logo_type:
        files.remove_after_commit(logo_path(partner))
    if logo is None:
        partner.logo_type, partner.logo_sha256 = "", ""
        return
    partner.logo_type = logo[0]
    partner.logo_sha256 = hashlib.sha256(logo[1]).hexdigest()
    files.write_for_commit(logo_path(partner), logo[1])


def add_partner(
    campaign: Campaign, details: PartnerDetails, logo: bytes | None, actor: object
) -> Partner:
    """Add a partner to the campaign, last in order; the caller commits.

    The logo is checked before anything is stored; its file is written once the row has
    its id, and removed again should the transaction roll back.
    """
    details = _checked(details)
    cleaned = clean_logo(logo) if logo else None
    last = db.session.scalar(
        select(func.max(Partner.position)).where(Partner.campaign_id == campaign.id)
    )
    partner = Partner(
        campaign_id=campaign.id,
        name=details.name,
        url=details.url,
        named_in_letters=details.named_in_letters,
        position=(last or 0) + 1,
    )
    db.session.add(partner)
    db.session.flush()
    _store_logo(partner, cleaned)
    audit.record(actor, "campaign", campaign.id, "partner_added", partner_id=partner.id,
                 name=partner.name, logo=bool(cleaned))  # fmt: skip
    return partner


def change_partner(
    partner: Partner,
    details: PartnerDetails,
    logo: bytes | None,
    remove_logo: bool,
    actor: object,
) -> list[str]:
    """Change a partner's name, link, letters setting or logo; returns what changed."""
    details = _checked(details)
    cleaned = clean_logo(logo) if logo else None
    changed = [
        name
        for name in ("name", "url", "named_in_letters")
        if getattr(partner, name) != getattr(details, name)
    ]
    for name in changed:
        setattr(partner, name, getattr(details, name))
    if cleaned is not None:
        _store_logo(partner, cleaned)
        changed.append("logo")
    elif remove_logo and partner.logo_type:
        _store_logo(partner, None)
        changed.append("logo_removed")
    if changed:
        audit.record(actor, "campaign", partner.campaign_id, "partner_changed",
                     partner_id=partner.id, changed=changed)  # fmt: skip
    return changed


def remove_partner(partner: Partner, actor: object) -> None:
    """Remove a partner: its logo, the consents given to it, and its logins (deactivated,
    never deleted, so the audit trail keeps who they were). The caller commits."""
    for user in partner_logins(partner.id):
        if user.active:
            accounts.set_active(user, False, actor=actor)
    if partner.logo_type:
        files.remove_after_commit(logo_path(partner))
    audit.record(actor, "campaign", partner.campaign_id, "partner_removed",
                 partner_id=partner.id, name=partner.name)  # fmt: skip
    db.session.delete(partner)


def partner_logins(partner_id: int) -> list[StaffUser]:
    """The logins given to a partner, active first."""
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.partner_id == partner_id)
            .order_by(StaffUser.active.desc(), StaffUser.email)
        )
    )


def give_login(partner: Partner, email: str, password: str, actor: object) -> StaffUser:
    """A login for someone at the partner; ``AccountError`` as for any staff user."""
    user = accounts.create_user(email, password, [], actor=actor, partner_id=partner.id)
    audit.record(actor, "campaign", partner.campaign_id, "partner_login_given",
                 partner_id=partner.id, user_id=user.id)  # fmt: skip
    return user


def end_login(partner: Partner, user: StaffUser, actor: object) -> None:
    """Deactivate one of the partner's logins (its sessions end at once)."""
    if user.partner_id != partner.id:
        raise PartnerError("not_this_partner")
    accounts.set_active(user, False, actor=actor)


def keep_known(campaign_id: int, partner_ids: str) -> str:
    """``partner_ids`` without partners that are not (or no longer) the campaign's."""
    wanted = split_ids(partner_ids)
    if not wanted:
        return ""
    known = db.session.scalars(
        select(Partner.id).where(Partner.campaign_id == campaign_id, Partner.id.in_(wanted))
    )
    return join_ids(known)


def named_in_letters(campaign_id: int) -> list[str]:
    """The names of the partners a letter to officials names, in the campaign's order."""
    return [p.name for p in partners_of(campaign_id) if p.named_in_letters]


def consent_counts(campaign_id: int) -> dict[int, int]:
    """How many confirmed supporters chose each partner of the campaign."""
    rows = db.session.execute(
        select(PartnerConsent.partner_id, func.count())
        .join(Signature, Signature.id == PartnerConsent.signature_id)
        .join(Partner, Partner.id == PartnerConsent.partner_id)
        .where(Partner.campaign_id == campaign_id, Signature.state == "confirmed")
        .group_by(PartnerConsent.partner_id)
    )
    return dict(rows.all())


EXPORT_HEADER = ["name", "email", "country", "region", "language", "confirmed_at", "chose_at"]


def supporters_for(partner: Partner) -> Iterator[list[object]]:
    """The confirmed supporters who chose ``partner``, as export rows, oldest first.

    Only what a partner needs to write to them: not their comment, affiliation, demands,
    or how they are shown on the site. Read in chunks, so a large export stays small.
    """
    query = (
        select(
            Signature.name,
            Signature.email,
            Signature.country,
            Signature.region,
            Signature.locale,
            Signature.confirmed_at,
            PartnerConsent.created_at,
        )
        .join(PartnerConsent, PartnerConsent.signature_id == Signature.id)
        .where(
            PartnerConsent.partner_id == partner.id,
            Signature.campaign_id == partner.campaign_id,
            Signature.state == "confirmed",
        )
        .order_by(Signature.id)
        .execution_options(yield_per=1000)
    )
    for row in db.session.execute(query):
        yield [
            row.name,
            row.email,
            row.country,
            row.region,
            row.locale,
            _iso(row.confirmed_at),
            _iso(row.created_at),
        ]


def record_export(partner: Partner, actor: object) -> None:
    """The audit trail's line for a partner's download (who, when; never what it held)."""
    audit.record(actor, "campaign", partner.campaign_id, "partner_export", partner_id=partner.id)


def _iso(moment) -> str:  # noqa: ANN001 - a datetime or None
    return moment.isoformat(timespec="seconds") + "Z" if moment else ""
