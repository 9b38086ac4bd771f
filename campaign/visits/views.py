"""``/staff/officials`` and ``/staff/visits``: who the packets go to, and for which visit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice

from campaign.accounts.access import allow, guard
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.i18n import NATIVE_NAMES
from campaign.packets.models import PacketBuild
from campaign.visits import services
from campaign.visits.forms import OfficialForm, VisitForm
from campaign.visits.models import LETTER_LOCALES, Official, Visit

bp = Blueprint("visits_admin", __name__, url_prefix="/staff", template_folder="templates")
guard(bp)
ORGANISERS = ("organiser", "admin")


def _messages() -> dict[str, str]:
    return {
        "bad_slug": _("Use 3 to 80 lower-case letters, digits and hyphens."),
        "slug_taken": _("Another visit uses this address."),
        "dates": _("The last day cannot be before the first day."),
        "no_campaign": _("Choose a campaign."),
        "no_officials": _("Choose at least one official."),
    }


# -- officials -----------------------------------------------------------------------------


@bp.get("/officials/")
@allow(*ORGANISERS)
def officials():
    """Every official, current ones first."""
    rows = db.session.scalars(select(Official).order_by(Official.archived, Official.name)).all()
    return render_template(
        "visits/officials.html", officials=rows, action=FlaskForm(), names=NATIVE_NAMES
    )


@bp.route("/officials/new", methods=["GET", "POST"])
@bp.route("/officials/<int:official_id>", methods=["GET", "POST"])
@allow(*ORGANISERS)
def official(official_id: int | None = None):
    """Add or edit an official."""
    obj = db.session.get(Official, official_id) if official_id else None
    if official_id and obj is None:
        abort(404)
    form = OfficialForm(obj=obj)
    if form.validate_on_submit():
        values = {
            name: (getattr(form, name).data or "").strip() for name in services.OFFICIAL_FIELDS
        }
        obj = services.save_official(obj, values, current_user)
        db.session.commit()
        flash(_("Saved."))
        return redirect(url_for("visits_admin.officials"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("visits/official_form.html", form=form, official=obj), status


@bp.post("/officials/<int:official_id>/archive")
@allow(*ORGANISERS)
def archive_official(official_id: int):
    """Archive an official (kept for past packets) or bring them back."""
    obj = db.session.get(Official, official_id) or abort(404)
    if FlaskForm().validate_on_submit():
        services.set_archived(obj, request.form.get("op") != "restore", current_user)
        db.session.commit()
        flash(_("Saved."))
    return redirect(url_for("visits_admin.officials"), code=303)


# -- visits --------------------------------------------------------------------------------


@bp.get("/visits/")
@allow(*ORGANISERS)
def visits():
    """Every visit, soonest deadline first; archived ones last."""
    rows = db.session.scalars(
        select(Visit).order_by(Visit.archived, Visit.deadline.desc(), Visit.id)
    ).all()
    return render_template("visits/visits.html", visits=rows, action=FlaskForm())


def _choices(form: VisitForm, visit: Visit | None) -> None:
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc())).all()
    form.campaign_id.choices = [SelectChoice(c.id, c.title) for c in campaigns]
    chosen = {o.id for o in visit.officials} if visit else set()
    officials = db.session.scalars(select(Official).order_by(Official.name)).all()
    form.official_ids.choices = [
        SelectChoice(o.id, f"{o.name}, {o.title} ({o.office})")
        for o in officials
        if not o.archived or o.id in chosen
    ]
    campaign = visit.campaign if visit else None
    form.demand_ids.choices = (
        [SelectChoice(d.id, f"{d.position}. {d.title}") for d in campaign.demands]
        if campaign
        else []
    )


def _fields(form: VisitForm) -> services.VisitFields:
    return services.VisitFields(
        slug=form.slug.data.strip(),
        campaign_id=form.campaign_id.data,
        title=form.title.data.strip(),
        place=form.place.data.strip(),
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        deadline=form.deadline.data,
        paper=form.paper.data,
        counts_only=form.counts_only.data,
        official_ids=form.official_ids.data or [],
        demand_ids=form.demand_ids.data or [],
        letters={loc: getattr(form, f"letter_{loc}").data or "" for loc in LETTER_LOCALES},
        subjects={loc: getattr(form, f"subject_{loc}").data or "" for loc in LETTER_LOCALES},
    )


@bp.route("/visits/new", methods=["GET", "POST"])
@bp.route("/visits/<int:visit_id>", methods=["GET", "POST"])
@allow(*ORGANISERS)
def visit(visit_id: int | None = None):
    """Prepare a visit: dates, officials, demands and the cover letters."""
    obj = db.session.get(Visit, visit_id) if visit_id else None
    if visit_id and obj is None:
        abort(404)
    form = VisitForm(obj=obj)
    _choices(form, obj)
    if request.method == "GET":
        if obj is not None:
            form.official_ids.data = [o.id for o in obj.officials]
            form.demand_ids.data = [d.id for d in obj.demands]
            for loc in LETTER_LOCALES:
                letter = next((x for x in obj.letters if x.locale == loc), None)
                getattr(form, f"letter_{loc}").data = letter.body if letter else ""
                getattr(form, f"subject_{loc}").data = letter.subject if letter else ""
        else:
            first = form.campaign_id.choices[0] if form.campaign_id.choices else None
            campaign = db.session.get(Campaign, first.value) if first else None
            org = campaign.organisation if campaign else ""
            for loc in LETTER_LOCALES:
                getattr(form, f"letter_{loc}").data = services.default_letter(loc, org)
    if form.validate_on_submit():
        try:
            obj = services.save_visit(obj, _fields(form), current_user)
        except services.VisitError as exc:
            target = form.slug if exc.code in ("bad_slug", "slug_taken") else form.official_ids
            target.errors = [_messages()[exc.code]]
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect(url_for("visits_admin.visit", visit_id=obj.id), code=303)
    status = 422 if request.method == "POST" else 200
    builds = []
    if obj is not None:
        builds = db.session.scalars(
            select(PacketBuild)
            .where(PacketBuild.visit_id == obj.id)
            .order_by(PacketBuild.created_at.desc(), PacketBuild.id.desc())
        ).all()
    return render_template(
        "visits/visit_form.html", form=form, visit=obj, builds=builds, action=FlaskForm()
    ), status


@bp.post("/visits/<int:visit_id>/archive")
@allow(*ORGANISERS)
def archive_visit(visit_id: int):
    """Archive a visit (its packets stay) or bring it back."""
    obj = db.session.get(Visit, visit_id) or abort(404)
    if FlaskForm().validate_on_submit():
        services.set_archived(obj, request.form.get("op") != "restore", current_user)
        db.session.commit()
        flash(_("Saved."))
    return redirect(url_for("visits_admin.visits"), code=303)
