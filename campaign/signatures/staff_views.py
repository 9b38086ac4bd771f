"""``/staff/campaigns/<id>/paper``: organisers enter, correct and invalidate paper batches."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from campaign.accounts.access import allow, guard
from campaign.campaigns.models import Campaign
from campaign.countries import country_choices, country_name
from campaign.extensions import csrf, db
from campaign.signatures import paper
from campaign.signatures.counts import counts_for
from campaign.signatures.models import PaperBatch
from campaign.signatures.staff_forms import (
    BatchForm,
    InvalidateForm,
    count_rows_from,
    entries_from,
    row_count,
)
from campaign.uploads import allow_upload, upload_limit

bp = Blueprint(
    "paper_admin",
    __name__,
    url_prefix="/staff/campaigns/<int:campaign_id>/paper",
    template_folder="templates",
)
guard(bp)
ORGANISERS = ("organiser", "admin")
KINDS = ("named", "counts", "csv")


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


def _batch(campaign: Campaign, batch_id: int) -> PaperBatch:
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None or batch.campaign_id != campaign.id:
        abort(404)
    return batch


def problem_text(line: int, code: str, csv_file: bool = False) -> str:
    """A batch's problem in the organiser's words, with the line or row it is on."""
    text = {
        "name": _("the name is missing."),
        "text": _("a field holds characters that cannot be stored, or is too long."),
        "country": _("the country is not one we know (type its name or its two-letter code)."),
        "country_twice": _("this country has a row already."),
        "demands": _("tick at least one demand, among those listed."),
        "email": _("the e-mail address is not valid."),
        "email_taken": _("this e-mail address has signed this campaign already."),
        "updates_without_email": _("updates were asked for without an e-mail address."),
        "negative": _("numbers must be whole and not negative."),
        "more_than_people": _("a demand has more signers than the row has people."),
        "csv_header": _(
            "the first line must name the columns, at least name, country and demands."
        ),
        "place": _("say where the sheets were collected."),
        "collected_by": _("say who collected them."),
        "sheets": _("the number of sheets cannot be negative."),
        "empty": _("nothing to enter: every row is empty."),
        "no_file": _("choose the CSV file to import."),
        "csv_encoding": _("the file is not UTF-8 text: save it as “CSV UTF-8” and try again."),
    }.get(code, _("this is not right."))
    if line == 0:
        return _("The batch: %(problem)s", problem=text)
    if csv_file:
        return _("Line %(line)s of the file: %(problem)s", line=line, problem=text)
    return _("Row %(line)s: %(problem)s", line=line, problem=text)


@bp.get("/")
@allow(*ORGANISERS)
def index(campaign_id: int):
    """The campaign's paper batches, the totals, and the sheets to print."""
    campaign = _campaign(campaign_id)
    return render_template(
        "paper/batches.html",
        campaign=campaign,
        batches=paper.batches(campaign),
        counts=counts_for(campaign),
    )


def _details(form: BatchForm) -> paper.BatchDetails:
    return paper.BatchDetails(
        collected_on=form.collected_on.data,
        place=form.place.data or "",
        collected_by=form.collected_by.data or "",
        sheets=form.sheets.data or 0,
    )


def _page(campaign: Campaign, kind: str, form: BatchForm, data: MultiDict, rows: int,
          problems: list[str], batch: PaperBatch | None = None, status: int = 200):  # fmt: skip
    locale = str(get_locale())
    return render_template(
        "paper/batch_form.html",
        campaign=campaign,
        kind=kind,
        form=form,
        data=data,
        rows=rows,
        problems=problems,
        batch=batch,
        positions=[d.position for d in campaign.demands if not d.retired],
        country_names=[name for _code, name in country_choices(locale)],
        invalidate_form=InvalidateForm(formdata=None),
        history=paper.history(batch) if batch is not None else [],
        people=paper.batch_people(batch) if batch is not None else 0,
        max_mb=current_app.config["UPLOAD_MAX_MB"],
    ), status


def _csv_entries(form: BatchForm) -> list[paper.Entry]:
    """The entries of the uploaded CSV file; ``PaperError`` for a file that cannot be read."""
    upload = form.file.data
    raw = upload.read(upload_limit() + 1) if upload else b""
    if not raw:
        raise paper.PaperError("invalid", [(0, "no_file")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise paper.PaperError("invalid", [(1, "csv_encoding")]) from exc
    entries, problems = paper.parse_csv(text)
    if problems:
        raise paper.PaperError("invalid", problems)
    return entries


def _save(campaign: Campaign, kind: str, batch: PaperBatch | None):
    """The form's POST: check, save, and answer (the new or corrected batch, or the rows)."""
    try:
        if not allow_upload():
            raise RequestEntityTooLarge()
        form = BatchForm()
    except RequestEntityTooLarge:
        problems = [_("The file is larger than %(mb)s MB.", mb=current_app.config["UPLOAD_MAX_MB"])]
        return _page(campaign, kind, BatchForm(formdata=None), MultiDict(), 10, problems,
                     batch, 422)  # fmt: skip
    data = request.form
    rows = row_count(data, 0)
    if "more" in data or not form.validate_on_submit():
        if request.method == "POST" and "csrf_token" in form.errors:
            abort(400)
        status = 200 if "more" in data else 422
        return _page(campaign, kind, form, data, rows, [], batch, status)
    positions = [d.position for d in campaign.demands if not d.retired]
    csv_file = kind == "csv"
    try:
        if kind == "counts":
            found = count_rows_from(data, rows, positions)
            saved = paper.save_batch(campaign, _details(form), current_user, rows=found,
                                     batch=batch)  # fmt: skip
        else:
            if csv_file:
                entries = _csv_entries(form)
            else:
                entries = entries_from(data, rows)
            saved = paper.save_batch(campaign, _details(form), current_user, entries=entries,
                                     batch=batch)  # fmt: skip
    except paper.PaperError as exc:
        db.session.rollback()
        problems = [problem_text(line, code, csv_file) for line, code in exc.problems]
        if exc.code == "invalidated":
            problems = [_("This batch was invalidated: it can no longer be changed.")]
        return _page(campaign, kind, form, data, rows, problems, batch, 422)
    db.session.commit()
    flash(_("Batch saved: it counts now.") if batch is None else _("Batch corrected."))
    return redirect(url_for("paper_admin.batch", campaign_id=campaign.id, batch_id=saved.id),
                    code=303)  # fmt: skip


@bp.route("/new/<kind>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its token, once allow_upload has raised the limit
@allow(*ORGANISERS)
def new(campaign_id: int, kind: str):
    """Enter a batch: named rows typed in, a CSV file, or counts only."""
    campaign = _campaign(campaign_id)
    if kind not in KINDS:
        abort(404)
    if request.method == "POST":
        return _save(campaign, kind, None)
    return _page(campaign, kind, BatchForm(formdata=None), MultiDict(), 10, [])


def _as_typed(campaign: Campaign, batch: PaperBatch) -> tuple[MultiDict, int]:
    """A batch's rows as the form shows them, to correct."""
    locale = str(get_locale())
    data = MultiDict()
    positions = {d.id: d.position for d in campaign.demands}
    if batch.kind == "named":
        entries = paper.entries_of(batch)
        for i, sig in enumerate(entries, start=1):
            data[f"name-{i}"] = sig.name
            data[f"country-{i}"] = country_name(sig.country, locale)
            data[f"city-{i}"] = sig.region
            for link in sig.demands:
                data.add(f"demand-{i}", str(positions.get(link.demand_id, "")))
            if sig.name_in_letters:
                data[f"named-{i}"] = "y"
            if sig.updates:
                data[f"updates-{i}"] = "y"
            if not sig.email.endswith("@" + paper.NO_ADDRESS_DOMAIN):
                data[f"email-{i}"] = sig.email
        return data, len(entries) + 5
    rows: dict[str, int] = {}
    for c in batch.counts:
        i = rows.setdefault(c.country, len(rows) + 1)
        data[f"country-{i}"] = country_name(c.country, locale) if c.country else ""
        key = f"people-{i}" if c.demand_id is None else f"d{positions.get(c.demand_id)}-{i}"
        data[key] = str(c.n)
    return data, len(rows) + 5


@bp.route("/<int:batch_id>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its token (see ``new``)
@allow(*ORGANISERS)
def batch(campaign_id: int, batch_id: int):
    """A batch: its details and rows to correct, its history, and invalidation."""
    campaign = _campaign(campaign_id)
    record = _batch(campaign, batch_id)
    if request.method == "POST":
        return _save(campaign, record.kind, record)
    form = BatchForm(formdata=None, obj=record)
    data, rows = _as_typed(campaign, record)
    return _page(campaign, record.kind, form, data, max(rows, 10), [], record)


@bp.post("/<int:batch_id>/invalidate")
@allow(*ORGANISERS)
def invalidate(campaign_id: int, batch_id: int):
    """Take a whole batch out of the counts, with a reason."""
    campaign = _campaign(campaign_id)
    record = _batch(campaign, batch_id)
    form = InvalidateForm()
    if not form.validate_on_submit():
        flash(_("Say why the batch is invalidated."))
        return redirect(url_for("paper_admin.batch", campaign_id=campaign.id,
                                batch_id=record.id) + "#invalidate", code=303)  # fmt: skip
    try:
        paper.invalidate_batch(campaign, record, form.reason.data, current_user)
    except paper.PaperError:
        db.session.rollback()
        flash(_("This batch was invalidated: it can no longer be changed."))
    else:
        db.session.commit()
        flash(_("Batch invalidated: it no longer counts."))
    return redirect(url_for("paper_admin.batch", campaign_id=campaign.id, batch_id=record.id),
                    code=303)  # fmt: skip
