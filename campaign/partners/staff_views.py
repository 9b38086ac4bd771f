"""Partner organisations in the staff area.

``/staff/campaigns/<id>/partners/``: organisers add, change and remove a campaign's partners
and give them logins. ``/staff/partner/``: what a partner's login sees, which is that
campaign's public counts and the supporters who chose that partner, and nothing else.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from campaign.accounts.access import allow, guard
from campaign.accounts.models import StaffUser
from campaign.accounts.services import AccountError
from campaign.campaigns.models import Campaign
from campaign.campaigns.services import localise
from campaign.countries import country_name
from campaign.csvsafe import csv_lines
from campaign.extensions import csrf, db
from campaign.files import MAX_PIXELS
from campaign.partners import services
from campaign.partners.models import Partner
from campaign.partners.staff_forms import LoginForm, PartnerForm
from campaign.signatures.counts import counts_for
from campaign.uploads import allow_upload, send_upload, upload_limit

bp = Blueprint(
    "partners_admin",
    __name__,
    url_prefix="/staff/campaigns/<int:campaign_id>/partners",
    template_folder="templates",
)
guard(bp)
portal = Blueprint("partner_portal", __name__, url_prefix="/staff/partner")
guard(portal)
ORGANISERS = ("organiser", "admin")


def problem_text(code: str) -> str:
    """A refused partner change in the organiser's words."""
    return {
        "name": _("Give the partner's name (at most 200 characters, no invisible controls)."),
        "url": _("The web site must be an address starting with https:// or http://."),
        "file_type": _("The logo must be a PNG or JPEG image."),
        "file_unreadable": _("The logo could not be read as an image."),
        "file_too_large": _(
            "The image is too large (more than %(mp)s megapixels): please scale it down.",
            mp=MAX_PIXELS // 1_000_000,
        ),
        "file_size": _(
            "The logo is larger than %(mb)s MB.", mb=current_app.config["UPLOAD_MAX_MB"]
        ),
    }.get(code, _("This is not right."))


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


def _partner(campaign: Campaign, partner_id: int) -> Partner:
    return services.partner_of(campaign, partner_id) or abort(404)


def _details(form: PartnerForm) -> services.PartnerDetails:
    return services.PartnerDetails(
        name=form.name.data or "",
        url=form.url.data or "",
        named_in_letters=bool(form.named_in_letters.data),
    )


def _logo(form: PartnerForm) -> bytes | None:
    upload = form.logo.data
    return upload.read(upload_limit() + 1) or None if upload else None


def _read_form() -> PartnerForm | None:
    """The posted partner form, or None when its file is over the limit."""
    try:
        if not allow_upload():
            raise RequestEntityTooLarge()
        return PartnerForm()
    except RequestEntityTooLarge:
        return None


def _list(campaign: Campaign, form: PartnerForm, problem: str = "", status: int = 200):
    return render_template(
        "partners/list.html",
        campaign=campaign,
        partners=services.partners_of(campaign.id),
        chose=services.consent_counts(campaign.id),
        form=form,
        problem=problem,
        max_mb=current_app.config["UPLOAD_MAX_MB"],
    ), status


@bp.route("/", methods=["GET", "POST"])
@csrf.exempt  # the form checks its token, once allow_upload has raised the limit
@allow(*ORGANISERS)
def index(campaign_id: int):
    """The campaign's partners, and a form to add one."""
    campaign = _campaign(campaign_id)
    if request.method == "GET":
        return _list(campaign, PartnerForm(formdata=None))
    form = _read_form()
    if form is None:
        return _list(campaign, PartnerForm(formdata=None), problem_text("file_size"), 422)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _list(campaign, form, status=422)
    try:
        partner = services.add_partner(campaign, _details(form), _logo(form), current_user)
    except services.PartnerError as exc:
        db.session.rollback()
        return _list(campaign, form, problem_text(exc.code), 422)
    db.session.commit()
    flash(_("%(name)s was added. It shows on the campaign page and on the signing form.",
            name=partner.name))  # fmt: skip
    return redirect(url_for("partners_admin.index", campaign_id=campaign.id), code=303)


def _edit(campaign: Campaign, partner: Partner, form: PartnerForm, login_form: LoginForm,
          problem: str = "", status: int = 200):  # fmt: skip
    return render_template(
        "partners/edit.html",
        campaign=campaign,
        partner=partner,
        form=form,
        login_form=login_form,
        logins=services.partner_logins(partner.id),
        chose=services.consent_counts(campaign.id).get(partner.id, 0),
        problem=problem,
        max_mb=current_app.config["UPLOAD_MAX_MB"],
    ), status


@bp.route("/<int:partner_id>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its token (see ``index``)
@allow(*ORGANISERS)
def edit(campaign_id: int, partner_id: int):
    """Change a partner; its logins; remove it."""
    campaign = _campaign(campaign_id)
    partner = _partner(campaign, partner_id)
    logins = LoginForm(formdata=None)
    if request.method == "GET":
        return _edit(campaign, partner, PartnerForm(formdata=None, obj=partner), logins)
    form = _read_form()
    if form is None:
        return _edit(campaign, partner, PartnerForm(formdata=None, obj=partner), logins,
                     problem_text("file_size"), 422)  # fmt: skip
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _edit(campaign, partner, form, logins, status=422)
    try:
        services.change_partner(partner, _details(form), _logo(form),
                                bool(form.remove_logo.data), current_user)  # fmt: skip
    except services.PartnerError as exc:
        db.session.rollback()
        return _edit(campaign, partner, form, logins, problem_text(exc.code), 422)
    db.session.commit()
    flash(_("Saved."))
    return redirect(url_for("partners_admin.edit", campaign_id=campaign.id,
                            partner_id=partner.id), code=303)  # fmt: skip


@bp.get("/<int:partner_id>/logo")
@allow(*ORGANISERS)
def logo(campaign_id: int, partner_id: int):
    """The partner's logo for staff pages and previews, also while the campaign is a draft."""
    partner = _partner(_campaign(campaign_id), partner_id)
    if not partner.logo_type:
        abort(404)
    return send_upload(services.logo_path(partner), partner.logo_type)


@bp.post("/<int:partner_id>/remove")
@allow(*ORGANISERS)
def remove(campaign_id: int, partner_id: int):
    """Remove a partner, the consents given to it, and its logins."""
    campaign = _campaign(campaign_id)
    partner = _partner(campaign, partner_id)
    name = partner.name
    services.remove_partner(partner, current_user)
    db.session.commit()
    flash(_("%(name)s was removed, with the consents given to it; its logins were ended.",
            name=name))  # fmt: skip
    return redirect(url_for("partners_admin.index", campaign_id=campaign.id), code=303)


@bp.post("/<int:partner_id>/logins")
@allow(*ORGANISERS)
def give_login(campaign_id: int, partner_id: int):
    """Give someone at the partner a login limited to the partner's page."""
    campaign = _campaign(campaign_id)
    partner = _partner(campaign, partner_id)
    form = LoginForm()
    if form.validate_on_submit():
        try:
            services.give_login(partner, form.email.data, form.password.data, current_user)
        except AccountError:
            db.session.rollback()
            form.email.errors = [_("A staff user with that address exists, or it is not valid.")]
        else:
            db.session.commit()
            flash(_("The login was created. Give them their password in person."))
            return redirect(url_for("partners_admin.edit", campaign_id=campaign.id,
                                    partner_id=partner.id), code=303)  # fmt: skip
    return _edit(campaign, partner, PartnerForm(formdata=None, obj=partner), form, status=422)


@bp.post("/<int:partner_id>/logins/<int:user_id>/end")
@allow(*ORGANISERS)
def end_login(campaign_id: int, partner_id: int, user_id: int):
    """End one of the partner's logins."""
    campaign = _campaign(campaign_id)
    partner = _partner(campaign, partner_id)
    user = db.session.get(StaffUser, user_id)
    if user is None or user.partner_id != partner.id:
        abort(404)
    services.end_login(partner, user, current_user)
    db.session.commit()
    flash(_("The login was ended."))
    return redirect(url_for("partners_admin.edit", campaign_id=campaign.id,
                            partner_id=partner.id), code=303)  # fmt: skip


def _own_partner() -> Partner:
    """The partner of the logged-in partner's login; 403 for anyone without one."""
    partner = db.session.get(Partner, current_user.partner_id) if current_user.partner_id else None
    if partner is None:
        abort(403)
    return partner


@portal.get("/")
@allow("partner")
def home():
    """A partner's page: the campaign's public counts, and its supporters' download."""
    partner = _own_partner()
    campaign = db.session.get(Campaign, partner.campaign_id)
    locale = str(get_locale())
    counts = counts_for(campaign)
    countries, other = counts.public_countries(current_app.config["PUBLIC_COUNTRY_MIN"])
    return render_template(
        "partners/portal.html",
        partner=partner,
        campaign=campaign,
        view=localise(campaign, locale),
        counts=counts,
        countries=sorted(countries.items(), key=lambda item: (-item[1], item[0])),
        other=other,
        chose=services.consent_counts(campaign.id).get(partner.id, 0),
        country_name=lambda code: country_name(code, locale),
    )


@portal.post("/supporters.csv")
@allow("partner")
def supporters():
    """The confirmed supporters who chose this partner, as CSV: a POST, since each download
    is recorded in the audit trail."""
    partner = _own_partner()
    services.record_export(partner, current_user)
    db.session.commit()
    response = Response(
        stream_with_context(csv_lines(services.EXPORT_HEADER, services.supporters_for(partner))),
        mimetype="text/csv",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="supporters-partner-{partner.id}.csv"'
    )
    return response
