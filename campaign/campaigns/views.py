"""Public campaign pages and their signing form's target."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale

from campaign import limits, metrics, pagecache
from campaign.campaigns.pages import render_campaign_page, sign_form
from campaign.campaigns.services import (
    CampaignView,
    SigningTarget,
    archived_campaigns,
    featured_campaign,
    localise,
    public_campaign,
    signing_target,
)
from campaign.countries import country_name
from campaign.extensions import csrf, db
from campaign.i18n import URL_CODES, use_language_prefix
from campaign.security import client_address, hash_address
from campaign.settings import signing_paused
from campaign.signatures.counts import counts_for
from campaign.signatures.models import join_ids
from campaign.signatures.opendata import OpenData, open_data
from campaign.signatures.services import SignatureInput, receive_signature
from campaign.signatures.sheet import PAPERS, signature_sheet

bp = Blueprint("campaigns", __name__, url_prefix="/<lang>", template_folder="templates")
use_language_prefix(bp)


@bp.get("/")
def home():
    """The featured campaign, or a short notice when none is open."""

    def render():  # noqa: ANN202 - a page
        campaign = featured_campaign()
        if campaign is None:
            return render_template("campaigns/none.html")
        return render_campaign_page(campaign)

    return pagecache.serve(("home", g.locale), render)


@bp.get("/c/<slug>/")
def show(slug: str):
    """One campaign's page."""

    def render():  # noqa: ANN202 - a page
        campaign = public_campaign(slug)
        if campaign is None:
            abort(404)
        return render_campaign_page(campaign)

    return pagecache.serve(("show", slug, g.locale), render)


@bp.get("/archive")
def archive():
    """Campaigns that no longer take signatures, with their final counts."""

    locale = str(get_locale())
    items = [(localise(c, locale), counts_for(c).total) for c in archived_campaigns()]
    return render_template("campaigns/archive.html", items=items)


@bp.post("/c/<slug>/sign")
@csrf.exempt  # a public form: crossorigin refuses other sites' posts
@limits.per_address("LIMIT_SIGN_PER_ADDRESS")
@limits.per_mailbox("LIMIT_SIGN_PER_MAILBOX")
@limits.for_everyone("LIMIT_SIGN_GLOBAL")
def sign(slug: str):
    """Validate the form, record the signature and queue its confirmation mail."""
    # Read every time, so kept as long as a page is (staff changes clear them at once).
    target = pagecache.remember(
        ("signing", slug), lambda: signing_target(slug), load=SigningTarget.load
    )
    if target is None:
        abort(404)
    if not target.is_open or pagecache.remember(("paused",), signing_paused):
        view = localise(public_campaign(slug), str(get_locale()))
        if not target.is_open:
            return render_template("signatures/closed.html", view=view), 409
        return render_template("signatures/paused.html", view=view), 503
    form = sign_form(target.demand_ids, formdata=request.form, partner_ids=target.partner_ids)
    if request.form.get("relang"):
        # The form shown again in the language of this URL, as typed: nothing is stored.
        return render_campaign_page(public_campaign(slug), form)
    if not form.validate():
        return render_campaign_page(public_campaign(slug), form, status=422)
    if form.website.data:
        # A bot filled the honeypot: answer as for anyone, keep nothing.
        return redirect(url_for("signatures.check_email", slug=slug), code=303)
    data = SignatureInput(
        name=form.name.data,
        email=form.normalised_email,
        country=form.country.data,
        region=form.region.data or "",
        affiliation=form.affiliation.data or "",
        comment=(form.comment.data or "").replace("\r\n", "\n"),
        display=form.display.data,
        name_in_letters=bool(form.name_in_letters.data),
        updates=bool(form.updates.data),
        demand_ids=form.demands.data,
        locale=str(get_locale()),
        partner_ids=join_ids(form.partners.data or []),
    )
    receive_signature(target.id, data, hash_address(client_address()))
    db.session.commit()
    metrics.signature_submitted()
    return redirect(url_for("signatures.check_email", slug=slug), code=303)


def _open_data(slug: str) -> tuple[CampaignView, OpenData]:
    campaign = public_campaign(slug)
    if campaign is None:
        abort(404)
    view = localise(campaign, str(get_locale()))
    titles = {d.id: d.title for d in view.demands}
    return view, open_data(campaign, current_app.config["PUBLIC_COUNTRY_MIN"], titles)


@bp.get("/c/<slug>/data")
def data(slug: str):
    """The campaign's counts as open data: what is offered, under which licence."""

    def render():  # noqa: ANN202 - a page
        view, found = _open_data(slug)
        locale = str(get_locale())
        return render_template("campaigns/data.html", view=view, data=found,
                               country_name=lambda code: country_name(code, locale))  # fmt: skip

    return pagecache.serve(("data", slug, g.locale), render)


@bp.get("/c/<slug>/data.json")
def data_json(slug: str):
    """The open data as JSON."""
    return pagecache.serve(("data.json", slug, g.locale), lambda: _open_data(slug)[1].as_json())


@bp.get("/c/<slug>/data.csv")
def data_csv(slug: str):
    """The open data as one CSV table."""

    def render():  # noqa: ANN202 - a CSV response
        return current_app.response_class(_open_data(slug)[1].as_csv(), mimetype="text/csv")

    # Set on every answer: a kept page keeps only its type and bytes, not its headers.
    response = pagecache.serve(("data.csv", slug, g.locale), render)
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-data.csv"'
    return response


@bp.get("/c/<slug>/sheet.pdf")
def sheet(slug: str):
    """A printable signature sheet (``?paper=A4`` or ``Letter``) in the page's language."""
    campaign = public_campaign(slug)
    paper = request.args.get("paper", "A4")
    if campaign is None or paper not in PAPERS:
        abort(404)

    def render():  # noqa: ANN202 - a PDF response
        body = signature_sheet(campaign, str(g.locale), paper)
        return current_app.response_class(body, mimetype="application/pdf")

    response = pagecache.serve(("sheet", slug, g.locale, paper), render)
    name = f"{slug}-sheet-{URL_CODES[str(g.locale)]}-{paper}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
