"""``/staff/campaigns``: organisers write, translate, preview, open, close and archive."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from campaign.accounts.access import allow, guard
from campaign.campaigns import editor
from campaign.campaigns import updates as service
from campaign.campaigns.models import Campaign, CampaignUpdate, Demand
from campaign.campaigns.pages import render_campaign_page
from campaign.campaigns.staff_forms import (
    BODY_MAX,
    DEMAND_TEXTS,
    LOCALE_NAMES,
    SUBJECT_MAX,
    TRANSLATED_TEXTS,
    CampaignForm,
    DemandForm,
    demand_field_name,
    translation_form,
    update_form,
)
from campaign.extensions import db
from campaign.i18n import LOCALES
from campaign.mail import bounces
from campaign.markup import render_markdown
from campaign.signatures.counts import counts_for

bp = Blueprint(
    "campaign_admin", __name__, url_prefix="/staff/campaigns", template_folder="templates"
)
guard(bp)
ORGANISERS = ("organiser", "admin")


def _messages() -> dict[str, str]:
    return {
        "bad_slug": _("Use 3 to 80 lower-case letters, digits and hyphens."),
        "slug_taken": _("Another campaign uses this address."),
        "bad_transition": _("A campaign cannot move to that state from its current one."),
        "no_demands": _("Add at least one demand before opening the campaign."),
        "feature_not_open": _("Only an open campaign can be featured."),
        "demand_signed": _("People signed this demand: it can be retired, not deleted."),
        "bad_locale": _("Choose another language than the original."),
    }


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


def _fields(form: CampaignForm) -> editor.CampaignFields:
    return editor.CampaignFields(
        slug=form.slug.data.strip(),
        title=form.title.data.strip(),
        organisation=form.organisation.data.strip(),
        published_on=form.published_on.data,
        body=form.body.data.strip(),
        footnotes=(form.footnotes.data or "").strip(),
        media_contacts=(form.media_contacts.data or "").strip(),
        outcome=(form.outcome.data or "").strip(),
        goal=form.goal.data or 0,
        source_locale=form.source_locale.data,
        packet_small_countries=bool(form.packet_small_countries.data),
    )


@bp.get("/")
@allow(*ORGANISERS)
def index():
    """Every campaign, drafts included."""
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc())).all()
    bounced = bounces.bounced_counts()
    return render_template(
        "campaign_admin/index.html",
        campaigns=[(c, counts_for(c).total, bounced.get(c.id, 0)) for c in campaigns],
    )


@bp.route("/new", methods=["GET", "POST"])
@allow(*ORGANISERS)
def new():
    """Write a new campaign; it starts as a draft."""
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            campaign = editor.create_campaign(_fields(form), current_user)
        except editor.EditorError as exc:
            form.slug.errors = [_messages()[exc.code]]
        else:
            db.session.commit()
            flash(_("Draft saved. Add its demands, then preview and open it."))
            return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("campaign_admin/form.html", form=form, campaign=None), status


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
@allow(*ORGANISERS)
def edit(campaign_id: int):
    """Edit the original text, demands, state and translations of one campaign."""
    campaign = _campaign(campaign_id)
    form = CampaignForm(obj=campaign)
    if form.validate_on_submit():
        try:
            editor.edit_campaign(campaign, _fields(form), current_user)
        except editor.EditorError as exc:
            form.slug.errors = [_messages()[exc.code]]
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "campaign_admin/form.html",
        form=form,
        campaign=campaign,
        demand_form=DemandForm(formdata=None),
        action=FlaskForm(),
        transitions=editor.TRANSITIONS[campaign.state],
        signed={d.id: editor.signature_count(d) for d in campaign.demands},
        locales=[loc for loc in LOCALE_NAMES if loc != campaign.source_locale],
        locale_names=LOCALE_NAMES,
    ), status


def _back(campaign: Campaign):
    return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id) + "#demands", code=303)


def _checked() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def _apply_change(campaign: Campaign, change, done: str):  # noqa: ANN001
    """Run an editor change from a CSRF-checked POST, commit, and say how it went."""
    _checked()
    try:
        change()
    except editor.EditorError as exc:
        flash(_messages()[exc.code])
    else:
        db.session.commit()
        flash(done)
    return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id), code=303)


@bp.post("/<int:campaign_id>/state")
@allow(*ORGANISERS)
def state(campaign_id: int):
    """Open, close, reopen, archive (audited)."""
    campaign = _campaign(campaign_id)
    return _apply_change(
        campaign,
        lambda: editor.set_state(campaign, request.form.get("state", ""), current_user),
        _("Saved."),
    )


@bp.post("/<int:campaign_id>/feature")
@allow(*ORGANISERS)
def feature(campaign_id: int):
    """Show this campaign on the home page."""
    campaign = _campaign(campaign_id)
    return _apply_change(
        campaign,
        lambda: editor.feature(campaign, current_user),
        _("This campaign is now on the home page."),
    )


@bp.post("/<int:campaign_id>/demands")
@allow(*ORGANISERS)
def add_demand(campaign_id: int):
    """Append a demand."""
    campaign = _campaign(campaign_id)
    form = DemandForm()
    if not form.validate_on_submit():
        flash(_("A demand needs a short title and its full text."))
        return _back(campaign)
    editor.add_demand(campaign, form.title.data, form.text.data, current_user)
    db.session.commit()
    return _back(campaign)


def _demand(campaign: Campaign, demand_id: int) -> Demand:
    demand = db.session.get(Demand, demand_id)
    if demand is None or demand.campaign_id != campaign.id:
        abort(404)
    return demand


@bp.post("/<int:campaign_id>/demands/<int:demand_id>")
@allow(*ORGANISERS)
def change_demand(campaign_id: int, demand_id: int):
    """Edit, move, retire, unretire or delete a demand (``op`` says which)."""
    campaign = _campaign(campaign_id)
    demand = _demand(campaign, demand_id)
    op = request.form.get("op", "")
    if op == "edit":
        form = DemandForm()
        if not form.validate_on_submit():
            flash(_("A demand needs a short title and its full text."))
            return _back(campaign)
        editor.edit_demand(demand, form.title.data, form.text.data, current_user)
    else:
        _checked()
        try:
            if op in ("up", "down"):
                editor.move_demand(demand, -1 if op == "up" else 1, current_user)
            elif op in ("retire", "unretire"):
                editor.retire_demand(demand, op == "retire", current_user)
            elif op == "delete":
                editor.delete_demand(demand, current_user)
            else:
                abort(400)
        except editor.EditorError as exc:
            flash(_messages()[exc.code])
            return _back(campaign)
    db.session.commit()
    return _back(campaign)


@bp.route("/<int:campaign_id>/translate/<locale>", methods=["GET", "POST"])
@allow(*ORGANISERS)
def translate(campaign_id: int, locale: str):
    """The translation of every text beside its original."""
    campaign = _campaign(campaign_id)
    if locale not in LOCALE_NAMES or locale == campaign.source_locale:
        abort(404)
    tr = next((t for t in campaign.translations if t.locale == locale), None)
    current = {name: getattr(tr, name) if tr else "" for name, _n, _s in TRANSLATED_TEXTS}
    for d in campaign.demands:
        dtr = next((t for t in d.translations if t.locale == locale), None)
        for name, _n, _s in DEMAND_TEXTS:
            current[demand_field_name(d.id, name)] = getattr(dtr, name) if dtr else ""
    form = translation_form(campaign, data=current)
    if form.validate_on_submit():
        fields = {name: form[name].data for name, _n, _s in TRANSLATED_TEXTS}
        demand_fields = {
            d.id: {name: form[demand_field_name(d.id, name)].data for name, _n, _s in DEMAND_TEXTS}
            for d in campaign.demands
        }
        editor.save_translation(campaign, locale, fields, demand_fields, current_user)
        db.session.commit()
        flash(_("Translation saved. Empty fields show the original with a note."))
        return redirect(url_for("campaign_admin.translate", campaign_id=campaign.id,
                                locale=locale), code=303)  # fmt: skip
    return render_template(
        "campaign_admin/translate.html",
        campaign=campaign,
        locale=locale,
        locale_name=LOCALE_NAMES[locale],
        form=form,
        demand_field_name=demand_field_name,
    ), (422 if form.errors else 200)


@bp.get("/<int:campaign_id>/preview/<lang>")
@allow(*ORGANISERS)
def preview(campaign_id: int, lang: str):
    """The public page as it will look in ``lang``, drafts included."""
    campaign = _campaign(campaign_id)
    if lang not in LOCALES:
        abort(404)
    g.locale, g.lang = LOCALES[lang], lang
    g.preview = True
    with force_locale(LOCALES[lang]):
        body, status = render_campaign_page(campaign)
    return body, status


def _update(campaign: Campaign, update_id: int):  # noqa: ANN202

    item = db.session.get(CampaignUpdate, update_id)
    if item is None or item.campaign_id != campaign.id:
        abort(404)
    return item


def _update_error(code: str) -> str:
    return {
        "bad_text": _(
            "Keep each subject on one line, under %(subject)d characters, and each text under"
            " %(body)d characters, without special characters.",
            subject=SUBJECT_MAX,
            body=BODY_MAX,
        ),
        "already_sent": _("This update was already sent."),
    }.get(code, _("Write a subject and a text in at least one language."))


@bp.route("/<int:campaign_id>/updates", methods=["GET", "POST"])
@allow(*ORGANISERS)
def updates(campaign_id: int):
    """Updates written for this campaign, and a form for a new one."""

    campaign = _campaign(campaign_id)
    error = None
    form = update_form()
    if form.validate_on_submit():
        texts = {
            loc: (form[f"subject-{loc}"].data or "", form[f"body-{loc}"].data or "")
            for loc in LOCALE_NAMES
        }
        try:
            item = service.save_update(campaign, texts, current_user)
        except service.UpdateError as exc:
            error = _update_error(exc.code)
        else:
            db.session.commit()
            return redirect(url_for("campaign_admin.update_detail", campaign_id=campaign.id,
                                    update_id=item.id), code=303)  # fmt: skip
    elif request.method == "POST":
        if "csrf_token" in form.errors:
            abort(400)
        error = _update_error("bad_text")
    items = [(u, service.progress(u)) for u in service.all_updates(campaign)]
    return render_template(
        "campaign_admin/updates.html",
        campaign=campaign,
        items=items,
        counts=service.recipient_counts(campaign),
        bounced=service.bounced_recipients(campaign),
        locale_names=LOCALE_NAMES,
        action=FlaskForm(),
        error=error,
        form=form,
    ), (422 if error else 200)


@bp.get("/<int:campaign_id>/updates/<int:update_id>")
@allow(*ORGANISERS)
def update_detail(campaign_id: int, update_id: int):
    """Preview per language, recipients, test, send, and delivery progress."""

    campaign = _campaign(campaign_id)
    item = _update(campaign, update_id)
    previews = [(LOCALE_NAMES[t.locale], t.subject, render_markdown(t.body)) for t in item.texts]
    counts = service.recipient_counts(campaign)
    return render_template(
        "campaign_admin/update.html",
        campaign=campaign,
        item=item,
        previews=previews,
        counts=counts,
        total=sum(counts.values()),
        progress=service.progress(item) if item.state != "draft" else None,
        locale_names=LOCALE_NAMES,
        action=FlaskForm(),
    )


@bp.post("/<int:campaign_id>/updates/<int:update_id>/test")
@allow(*ORGANISERS)
def update_test(campaign_id: int, update_id: int):
    """Send the update to oneself, in the chosen language."""

    _checked()
    campaign = _campaign(campaign_id)
    item = _update(campaign, update_id)
    locale = request.form.get("locale", "en")
    if locale not in LOCALE_NAMES:
        abort(400)
    service.send_test(campaign, item, current_user.email, locale)
    db.session.commit()
    # The address stays out of the flash message: flashes live in the session cookie.
    flash(_("A test was sent to your address."))
    return redirect(url_for("campaign_admin.update_detail", campaign_id=campaign.id,
                            update_id=item.id), code=303)  # fmt: skip


@bp.post("/<int:campaign_id>/updates/<int:update_id>/send")
@allow(*ORGANISERS)
def update_send(campaign_id: int, update_id: int):
    """Queue the update for every recipient."""

    _checked()
    campaign = _campaign(campaign_id)
    item = _update(campaign, update_id)
    try:
        n = service.send_update(campaign, item, current_user)
    except service.UpdateError:
        flash(_("This update was already sent."))
    else:
        db.session.commit()
        flash(ngettext("Sending to %(num)d supporter.", "Sending to %(num)d supporters.", n))
    return redirect(url_for("campaign_admin.update_detail", campaign_id=campaign.id,
                            update_id=item.id), code=303)  # fmt: skip
