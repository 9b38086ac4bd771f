"""The moderation queue, bulk invalidation, trending sources, switches and the audit trail."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from campaign.accounts.access import allow, guard
from campaign.campaigns.models import Campaign
from campaign.csvsafe import csv_lines
from campaign.extensions import db
from campaign.moderation import services
from campaign.moderation.forms import ActionForm, BulkForm
from campaign.moderation.heuristics import REASONS
from campaign.moderation.personal import mask_email, personal_data_kinds
from campaign.urls import safe_target
from campaign.validation import parse_id, parse_page

bp = Blueprint("moderation", __name__, url_prefix="/staff", template_folder="templates")
guard(bp)

KINDS = ("all", "comments", "held", "invalidated")


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name, ""))


def _campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.slug)))


@bp.get("/moderation")
@allow("moderator", "admin")
def queue():
    """Items awaiting a decision, oldest first, with what the moderator needs."""
    kind = request.args.get("kind", "all")
    f = services.QueueFilter(
        kind=kind if kind in KINDS else "all",
        campaign_id=_int_arg("campaign"),
        reason=request.args.get("reason", "") if request.args.get("reason") in REASONS else "",
        page=parse_page(request.args.get("page")),
    )
    pagination = services.queue_page(f)
    others = services.siblings(pagination.items)
    details = []
    for sig in pagination.items:
        count, sample = others[sig.id]
        details.append(
            {
                "sig": sig,
                "masked": mask_email(sig.email),
                "personal": personal_data_kinds(sig.comment) if sig.comment else [],
                "reasons": [r for r in sig.hold_reasons.split(",") if r],
                "sibling_count": count,
                "siblings": sample,
            }
        )
    return render_template(
        "moderation/queue.html",
        items=details,
        total=pagination.total,
        f=f,
        pagination=pagination,
        kinds=KINDS,
        reasons=REASONS,
        campaigns=_campaigns(),
        form=ActionForm(),
    )


@bp.post("/moderation/act")
@allow("moderator", "admin")
def act():
    """Apply an action to the ticked items, or to one item (``action:id``)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    action, ids = form.target()
    if action not in services.ACTIONS:
        abort(400)
    back = safe_target(form.back.data, url_for("moderation.queue"), prefix="/staff/")
    if not ids:
        flash(_("Tick at least one item first."))
        return redirect(back, code=303)
    try:
        changed = services.apply_to_selection(ids, action, current_user, form.reason.data or "")
    except services.ModerationError:
        flash(_("This action needs a reason."))
        return redirect(back, code=303)
    db.session.commit()
    flash(ngettext("%(num)d item changed.", "%(num)d items changed.", changed))
    return redirect(back, code=303)


def _criteria(form: BulkForm) -> services.Criteria:
    campaign_id = form.campaign.data
    return services.Criteria(
        campaign_id=parse_id(campaign_id),
        ip_hash=(form.ip_hash.data or "").strip(),
        email_domain=(form.email_domain.data or "").strip(),
        country=(form.country.data or "").strip(),
        since=form.since.data,
        until=form.until.data,
    )


@bp.route("/moderation/bulk", methods=["GET", "POST"])
@allow("moderator", "admin")
def bulk():
    """Preview (GET) and run (POST) an invalidation by criteria."""
    source = request.form if request.method == "POST" else request.args
    form = BulkForm(formdata=source)
    form.campaign.choices = [("", _("All campaigns"))] + [(str(c.id), c.slug) for c in _campaigns()]
    action_form = ActionForm()
    criteria = _criteria(form) if form.validate() else services.Criteria()
    if request.method == "POST":
        if not action_form.validate_on_submit() or criteria.is_empty():
            abort(400)
        try:
            n = services.bulk_invalidate(criteria, current_user, action_form.reason.data or "")
        except services.ModerationError:
            flash(_("This action needs a reason."))
            return redirect(url_for("moderation.bulk", **request.form.to_dict()), code=303)
        db.session.commit()
        flash(ngettext("%(num)d signature invalidated.", "%(num)d signatures invalidated.", n))
        return redirect(url_for("moderation.audit"), code=303)
    count, sample = (0, [])
    if not criteria.is_empty():
        count, sample = services.preview_bulk(criteria)
    return render_template(
        "moderation/bulk.html",
        form=form,
        action_form=action_form,
        count=count,
        sample=[(s, mask_email(s.email)) for s in sample],
        has_criteria=not criteria.is_empty(),
        query=request.args.to_dict(),
    )


@bp.get("/moderation/trending")
@allow("moderator", "admin")
def trending():
    """Sources signing far above their normal rate in the last hour."""
    return render_template("moderation/trending.html", trends=services.trending())


@bp.post("/switches")
@allow("admin")
def switches():
    """Pause or resume signing or counting."""
    form = ActionForm()
    name = request.form.get("switch", "")
    if not form.validate_on_submit() or name not in ("signing", "counting"):
        abort(400)
    services.set_switch(name, request.form.get("on") == "1", current_user, form.reason.data or "")
    db.session.commit()
    flash(_("Saved."))
    return redirect(url_for("staff.dashboard"), code=303)


def _audit_filter() -> services.AuditFilter:
    return services.AuditFilter(
        action=request.args.get("action", "")[:40],
        actor=request.args.get("actor", "")[:254],
        object_type=request.args.get("object_type", "")[:40],
        page=parse_page(request.args.get("page")),
    )


@bp.get("/audit")
@allow("moderator", "admin")
def audit():
    """Moderation and staff events, newest first; ``?format=csv`` downloads them."""
    f = _audit_filter()
    query = services.audit_query(f)
    if request.args.get("format") == "csv":

        def rows():
            for e in db.session.scalars(query.execution_options(yield_per=500)):
                yield (e.at.isoformat(), e.actor_label, e.object_type, e.object_id, e.action,
                       e.reason, e.details)  # fmt: skip

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 - a file name only
        return Response(
            stream_with_context(
                csv_lines(
                    ["at_utc", "actor", "object_type", "object_id", "action", "reason", "details"],
                    rows(),
                )  # fmt: skip
            ),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
        )
    pagination = services.audit_page(f)
    return render_template(
        "moderation/audit.html", events=pagination.items, f=f, pagination=pagination
    )
