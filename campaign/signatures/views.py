"""A supporter's side after signing: check your mail, confirm, unsubscribe, privacy, erasure."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale

from campaign import crossorigin, limits
from campaign.campaigns.services import localise, public_campaign
from campaign.extensions import csrf, db
from campaign.i18n import use_language_prefix
from campaign.partners.services import partners_of
from campaign.security import TokenError, TokenExpired
from campaign.signatures import mine as own
from campaign.signatures.counts import clear_cache
from campaign.signatures.details import submission_details
from campaign.signatures.erasure import (
    after_erasure,
    ask_for_erasure,
    email_from_erase_token,
    signatures_of,
)
from campaign.signatures.erasure import erase as erase_signatures
from campaign.signatures.forms import ChoicesForm, EraseRequestForm
from campaign.signatures.models import split_ids
from campaign.signatures.services import (
    open_confirmation,
    press_confirmation,
    stop_updates,
)
from campaign.tokens import resolve as resolve_link
from campaign.urls import external_url

bp = Blueprint("signatures", __name__, url_prefix="/<lang>", template_folder="templates")
use_language_prefix(bp)


def _noindex(body, status: int = 200):
    """Per-signer pages stay out of search engines and shared caches."""
    response = make_response(body, status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/c/<slug>/check-email")
def check_email(slug: str):
    """The same answer to every accepted submission."""
    campaign = public_campaign(slug)
    if campaign is None:
        abort(404)
    view = localise(campaign, str(get_locale()))
    return _noindex(render_template("signatures/check_email.html", view=view))


def _link_problem(exc: TokenError):
    """The page for a link that is unknown (404) or past its time (410)."""
    expired = isinstance(exc, TokenExpired)
    page = render_template("signatures/link_problem.html", expired=expired)
    return _noindex(page, 410 if expired else 404)


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    """Show what the link would confirm, with one button; changes nothing.

    Mail scanners fetch every link in a message (and some send HEAD): only a person
    pressing the button confirms.
    """
    try:
        pending = open_confirmation(token)
    except TokenError as exc:
        return _link_problem(exc)
    view = localise(pending.campaign, str(get_locale()))
    if pending.applied:
        # What this link confirmed (the worker may not have applied it to the row yet).
        return _thanks(view, pending.submission, own.thanks_link_token(token))
    wanted = set(pending.submission.demand_list)
    return _noindex(
        render_template(
            "signatures/confirm.html",
            view=view,
            submission=pending.submission,
            demands=[d for d in view.demands if d.id in wanted],
        )
    )


@bp.post("/confirm/<token>")
@csrf.exempt  # the token is the proof; crossorigin refuses other sites' posts
@limits.per_address("LIMIT_CONFIRM_PER_ADDRESS")
def confirm(token: str):
    """Apply the submission the link names (idempotent), then thank the supporter."""
    try:
        press_confirmation(token)
    except TokenError as exc:
        return _link_problem(exc)
    own.record_thanks_link(token)
    db.session.commit()
    return redirect(url_for("signatures.confirm_page", token=token), code=303)


def _thanks(view, signature, my_token: str | None):  # noqa: ANN001 - a CampaignView, a Signature
    share_url = external_url("campaigns.show", slug=view.slug)
    return _noindex(
        render_template(
            "signatures/thanks.html",
            view=view,
            signature=signature,
            share_url=share_url,
            my_token=my_token,
            my_days=own.link_days(),
        )
    )


@bp.get("/privacy")
def privacy():
    """What is stored about a supporter, why, who sees it and for how long; erasure."""
    return render_template("signatures/privacy.html", erase_form=EraseRequestForm())


@bp.post("/privacy/erase")
@csrf.exempt  # a public form: crossorigin refuses other sites' posts
@limits.per_address("LIMIT_ERASE_PER_ADDRESS")
@limits.per_mailbox("LIMIT_ERASE_PER_MAILBOX")
def erase_request():
    """Queue the erasure look-up; the same answer, in content and time, for any address."""
    form = EraseRequestForm(request.form)
    if not form.validate():
        return render_template("signatures/privacy.html", erase_form=form), 422
    ask_for_erasure(form.normalised_email, str(get_locale()))
    db.session.commit()
    days = current_app.config["ERASE_MAX_AGE_DAYS"]
    return _noindex(render_template("signatures/erase_sent.html", days=days))


@bp.route("/erase/<token>", methods=["GET", "POST"])
@csrf.exempt  # a public form: crossorigin refuses other sites' posts
def erase(token: str):
    """Show what will be erased (GET), erase it (POST). Nothing changes on GET."""
    try:
        email = email_from_erase_token(token)
    except TokenError as exc:
        return _link_problem(exc)
    if request.method == "POST":
        erase_signatures(email)
        db.session.commit()
        after_erasure()
        clear_cache()
        return _noindex(render_template("signatures/erase.html", done=True))
    count = signatures_of(email)
    return _noindex(render_template("signatures/erase.html", done=False, count=count))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the token is the proof; mail clients POST here (RFC 8058)
@crossorigin.exempt  # and from their own servers, with whatever headers
# Mail providers' servers send these for many people from a few addresses; the token
# is the proof, and one press changes one flag.
@limits.limiter.exempt
def unsubscribe(token: str):
    """Stop updates: a page with one button (GET changes nothing), or the one-click POST."""
    try:
        row = resolve_link("unsubscribe", token)
    except TokenError as exc:
        return _link_problem(exc)
    if request.method != "POST":  # GET, and the HEAD that Flask answers with it
        return _noindex(render_template("signatures/unsubscribe.html"))
    stop_updates(row.signature_id)
    db.session.commit()
    return _noindex(render_template("signatures/unsubscribed.html"))


# A supporter's own page. Each answer is private: never cached, never indexed.


def _mine_page(mine: own.Mine, token: str, form: ChoicesForm, error: str = "", status=200):
    view = localise(mine.campaign, str(get_locale()))
    signed = set(mine.demand_ids)
    return _noindex(
        render_template(
            "signatures/mine.html",
            view=view,
            mine=mine,
            sig=mine.signature,
            token=token,
            demands=[d for d in view.demands if d.id in signed],
            details=submission_details(mine.signature),
            form=form,
            error=error,
            done=request.args.get("done", "") if request.method == "GET" else "",
            days=own.link_days(),
            partners=partners_of(mine.campaign.id),
        ),
        status,
    )


@bp.get("/my/<token>")
def mine(token: str):
    """What is stored about the supporter, and what they can change; changes nothing."""
    try:
        found = own.open_mine(token)
    except TokenError as exc:
        return _link_problem(exc)
    return _mine_page(found, token, _choices_form(found))


def _choices_form(mine: own.Mine, formdata: object = None) -> ChoicesForm:
    """The choices form: as stored (``formdata`` None), or as posted."""
    known = [p.id for p in partners_of(mine.campaign.id)]
    if formdata is not None:
        return ChoicesForm(formdata, partner_ids=known)
    form = ChoicesForm(formdata=None, obj=mine.signature, partner_ids=known)
    form.partners.data = split_ids(mine.signature.partner_ids)
    return form


def _done(token: str, what: str):
    clear_cache()  # counts and recent supporters show the change at once
    return redirect(url_for("signatures.mine", token=token, done=what), code=303)


@bp.post("/my/<token>/choices")
@csrf.exempt  # the token is the proof; crossorigin refuses other sites' posts
@limits.per_address("LIMIT_CONFIRM_PER_ADDRESS")
def mine_choices(token: str):
    """Change how the supporter is shown, named in letters, and sent updates."""
    try:
        found = own.open_mine(token)
    except TokenError as exc:
        return _link_problem(exc)
    form = _choices_form(found, request.form)
    if not form.validate():
        return _mine_page(found, token, form, status=422)
    own.change_choices(found, form.display.data, form.name_in_letters.data, form.updates.data,
                       partner_ids=form.partners.data or [])  # fmt: skip
    db.session.commit()
    return _done(token, "saved")


@bp.post("/my/<token>/withdraw")
@csrf.exempt  # the token is the proof; crossorigin refuses other sites' posts
@limits.per_address("LIMIT_CONFIRM_PER_ADDRESS")
def mine_withdraw(token: str):
    """Withdraw the signature from one demand."""
    try:
        found = own.open_mine(token)
    except TokenError as exc:
        return _link_problem(exc)
    try:
        own.withdraw_demand(found, request.form.get("demand", type=int))
    except own.MineError as exc:
        db.session.rollback()
        return _mine_page(found, token, _choices_form(found), exc.code, 422)
    db.session.commit()
    return _done(token, "withdrawn")


@bp.get("/my/<token>/data.json")
def mine_data(token: str):
    """Everything stored about the supporter for this campaign, as a JSON download."""
    try:
        found = own.open_mine(token)
    except TokenError as exc:
        return _link_problem(exc)
    body = json.dumps(own.stored_data(found), ensure_ascii=False, indent=2)
    response = _noindex(body)
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="signature-{found.campaign.slug}.json"'
    )
    return response


@bp.route("/my/<token>/erase", methods=["GET", "POST"])
@csrf.exempt  # the token is the proof; crossorigin refuses other sites' posts
@limits.per_address("LIMIT_CONFIRM_PER_ADDRESS")
def mine_erase(token: str):
    """Show what erasing removes (GET), erase it (POST)."""
    try:
        found = own.open_mine(token)
    except TokenError as exc:
        return _link_problem(exc)
    if request.method == "POST":
        own.erase_mine(found)
        db.session.commit()
        after_erasure()
        clear_cache()
        return _noindex(render_template("signatures/erase.html", done=True))
    count = signatures_of(found.signature.email)
    return _noindex(render_template("signatures/erase.html", done=False, count=count))
