"""``/staff/campaigns/<slug>/export``: signatures as CSV or JSON Lines, streamed."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from campaign.accounts.access import allow, guard
from campaign.campaigns.models import Campaign
from campaign.countries import country_choices
from campaign.exports import services
from campaign.extensions import db
from campaign.validation import DateInRange, parse_id

bp = Blueprint("exports", __name__, url_prefix="/staff/campaigns", template_folder="templates")
guard(bp)


class ExportForm(FlaskForm):
    """Which signatures to export, and how."""

    fmt = SelectField(
        _l("Format"),
        choices=[SelectChoice("csv", "CSV"), SelectChoice("jsonl", "JSON Lines")],
        default="csv",
    )
    demand = SelectField(_l("Demand"), default="")
    state = SelectField(_l("State"), default="confirmed")
    country = SelectField(_l("Country"), default="")
    signed_from = DateField(_l("Signed on or after"), validators=[Optional(), DateInRange()])
    signed_until = DateField(_l("Signed on or before"), validators=[Optional(), DateInRange()])
    include_email = BooleanField(_l("Include e-mail addresses"))

    def validate_signed_until(self, field) -> None:  # noqa: ANN001
        """The range must not be reversed."""
        if field.data and self.signed_from.data and field.data < self.signed_from.data:
            raise ValidationError(_l("The end of the range is before its start."))


def _form(campaign: Campaign, locale: str) -> ExportForm:
    form = ExportForm()
    form.demand.choices = [SelectChoice("", _l("All demands"))] + [
        SelectChoice(str(d.id), f"{d.position}. {d.title}") for d in campaign.demands
    ]
    labels = {
        "confirmed": _l("Confirmed"),
        "unconfirmed": _l("Unconfirmed"),
        "held": _l("Held for review"),
        "invalidated": _l("Invalidated"),
    }
    form.state.choices = [SelectChoice(s, labels[s]) for s in services.STATES] + [
        SelectChoice("any", _l("Any state"))
    ]
    form.country.choices = [SelectChoice("", _l("All countries"))] + [
        SelectChoice(code, name) for code, name in country_choices(locale)
    ]
    return form


@bp.route("/<slug>/export", methods=["GET", "POST"])
@allow("organiser", "admin")
def export(slug: str):
    """Choose filters (GET); download the matching signatures (POST), audited."""

    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug)) or abort(404)
    form = _form(campaign, str(get_locale()))
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("exports/export.html", form=form, campaign=campaign), status
    flt = services.make_filter(
        campaign,
        demand_id=parse_id(form.demand.data),
        state=form.state.data,
        country=form.country.data or None,
        signed_from=form.signed_from.data,
        signed_until=form.signed_until.data,
        include_email=form.include_email.data,
    )  # the form offers only valid choices, so this refuses nothing the form accepted
    fmt = form.fmt.data
    export_id, _rows = services.start_export(campaign, flt, fmt, current_user)
    db.session.commit()
    body = services.render(
        services.export_batches(campaign, flt, export_id), fmt, services.columns(flt)
    )
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    name = services.file_name(campaign, export_id, fmt)
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Export-Id": export_id,
        },
    )
