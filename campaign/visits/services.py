"""Officials and visits: the rules the staff pages, the seed and the CLI share."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from campaign import audit
from campaign.campaigns.editor import SLUG_PATTERN
from campaign.campaigns.models import Campaign, Demand
from campaign.errors import RefusedError
from campaign.extensions import db
from campaign.timeutil import utcnow
from campaign.visits.models import LETTER_LOCALES, Official, Visit, VisitLetter

SEED_FILE = Path(__file__).parent / "data" / "hu-jintao-state-visit-2011.toml"
OFFICIAL_FIELDS = ("name", "title", "office", "government", "address", "email", "salutation",
                   "language")  # fmt: skip


class VisitError(RefusedError):
    """A visit that cannot be saved."""


@dataclass
class VisitFields:
    """A visit as an organiser submits it."""

    slug: str
    campaign_id: int
    title: str
    place: str
    starts_on: date
    ends_on: date
    deadline: date
    paper: str
    counts_only: bool
    official_ids: list[int] = field(default_factory=list)
    demand_ids: list[int] = field(default_factory=list)
    letters: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)


def default_letter(locale: str, organisation: str, visit_title: str | None = None) -> str:
    """The cover-letter template a new visit starts from, in ``locale`` (Markdown).

    Without a title the letter says "this visit", in the letter's language.
    """
    with force_locale(locale):
        visit_title = visit_title or _("this visit")
        return _(
            "We write on behalf of %(organisation)s and the supporters named in this packet "
            "ahead of %(visit)s.\n\n"
            "We ask you to raise the recommendations that follow, publicly and in private "
            "meetings, and to press for the release of those detained for peaceful "
            "activism.\n\n"
            "Each recommendation is followed by the number of people who support it and the "
            "names of those who agreed to be named. The packet can be checked at the address "
            "printed at the foot of every page.",
            organisation=organisation,
            visit=visit_title,
        )


def save_official(official: Official | None, values: dict, actor) -> Official:  # noqa: ANN001
    """Create or update an official from validated form values."""
    created = official is None
    official = official or Official()
    for name in OFFICIAL_FIELDS:
        setattr(official, name, values[name])
    db.session.add(official)
    db.session.flush()
    audit.record(actor, "official", official.id, "create" if created else "edit", "")
    return official


def set_archived(obj: Official | Visit, archived: bool, actor) -> None:  # noqa: ANN001
    """Archive (hide from new visits and the dashboard) or restore."""
    obj.archived = archived
    kind = "official" if isinstance(obj, Official) else "visit"
    audit.record(actor, kind, obj.id, "archive" if archived else "restore", "")


def save_visit(visit: Visit | None, data: VisitFields, actor) -> Visit:  # noqa: ANN001
    """Create or update a visit; raises ``VisitError`` for a rule the form cannot check."""
    if not re.match(SLUG_PATTERN, data.slug):
        raise VisitError("bad_slug")
    clash = db.session.scalar(select(Visit.id).where(Visit.slug == data.slug))
    if clash is not None and (visit is None or clash != visit.id):
        raise VisitError("slug_taken")
    if data.ends_on < data.starts_on:
        raise VisitError("dates")
    campaign = db.session.get(Campaign, data.campaign_id)
    if campaign is None:
        raise VisitError("no_campaign")
    officials = list(db.session.scalars(select(Official).where(Official.id.in_(data.official_ids))))
    if not officials:
        raise VisitError("no_officials")
    demands = [d for d in campaign.demands if d.id in set(data.demand_ids)] or list(
        campaign.demands
    )
    created = visit is None
    visit = visit or Visit()
    visit.slug = data.slug
    visit.campaign = campaign
    visit.title = data.title
    visit.place = data.place
    visit.starts_on, visit.ends_on, visit.deadline = data.starts_on, data.ends_on, data.deadline
    visit.paper = data.paper
    visit.counts_only = data.counts_only
    visit.officials = officials
    visit.demands = demands
    current = {letter.locale: letter for letter in visit.letters}
    for locale in LETTER_LOCALES:
        body = data.letters.get(locale, "").strip()
        subject = data.subjects.get(locale, "").strip()
        if locale in current:
            current[locale].body, current[locale].subject = body, subject
        elif body or subject:
            visit.letters.append(VisitLetter(locale=locale, body=body, subject=subject))
    db.session.add(visit)
    db.session.flush()
    audit.record(actor, "visit", visit.id, "create" if created else "edit", "",
                 officials=len(officials), demands=len(demands))  # fmt: skip
    return visit


def upcoming_visits(today: date | None = None) -> list[Visit]:
    """Visits not archived whose deadline or end has not passed, soonest first."""
    today = today or utcnow().date()
    return list(
        db.session.scalars(
            select(Visit)
            .where(Visit.archived.is_(False), Visit.ends_on >= today)
            .order_by(Visit.deadline, Visit.id)
        )
    )


def load_seed_visit(campaign: Campaign, path: Path = SEED_FILE) -> tuple[Visit, bool]:
    """Load the sample visit for the seed campaign unless a visit with its slug exists."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    existing = db.session.scalar(select(Visit).where(Visit.slug == data["slug"]))
    if existing is not None:
        return existing, False
    officials = []
    for entry in data["officials"]:
        official = db.session.scalar(
            select(Official).where(
                Official.name == entry["name"], Official.office == entry["office"]
            )
        )
        if official is None:
            official = Official(**{k: entry.get(k, "") for k in OFFICIAL_FIELDS})
            db.session.add(official)
        officials.append(official)
    visit = Visit(
        slug=data["slug"],
        campaign=campaign,
        title=data["title"],
        place=data["place"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        deadline=data["deadline"],
        paper=data.get("paper", "Letter"),
        counts_only=data.get("counts_only", False),
        officials=officials,
        demands=list(db.session.scalars(select(Demand).where(Demand.campaign_id == campaign.id))),
    )
    subjects = data.get("subjects", {})
    for locale, body in data.get("letters", {}).items():
        visit.letters.append(
            VisitLetter(locale=locale, body=body.strip(), subject=subjects.get(locale, ""))
        )
    db.session.add(visit)
    db.session.flush()
    return visit, True
