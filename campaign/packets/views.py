"""Building, downloading and delivering packets (staff), and verifying one (public)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

from campaign import audit, pagecache
from campaign.accounts.access import allow, guard
from campaign.campaigns.services import localise
from campaign.extensions import csrf, db
from campaign.files import MAX_PIXELS
from campaign.i18n import select_locale, use_language_prefix
from campaign.packets import builder, replies
from campaign.packets.models import Packet, PacketBuild, PacketReply
from campaign.timeutil import utcnow
from campaign.uploads import allow_upload, send_upload, upload_limit
from campaign.visits.forms import DELIVERY_METHODS, REPLY_METHODS, DeliveryForm, ReplyForm
from campaign.visits.models import Visit

bp = Blueprint("packets_admin", __name__, url_prefix="/staff", template_folder="templates")
guard(bp)
ORGANISERS = ("organiser", "admin")
FILES = {
    "letter.pdf": "application/pdf",
    "annex.csv": "text/csv",
    "manifest.json": "application/json",
}


def _build(visit_id: int, build_id: int) -> PacketBuild:
    build = db.session.get(PacketBuild, build_id)
    if build is None or build.visit_id != visit_id:
        abort(404)
    return build


@bp.post("/visits/<int:visit_id>/build")
@allow(*ORGANISERS)
def start_build(visit_id: int):
    """Snapshot now and build the packets in the background."""
    visit = db.session.get(Visit, visit_id) or abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        build = builder.create_build(visit, current_user)
    except builder.BuildError:
        flash(_("Add at least one official and one demand before building packets."))
        return redirect(url_for("visits_admin.visit", visit_id=visit.id), code=303)
    builder.start(build)  # committed with the build: the worker picks it up
    db.session.commit()
    return redirect(url_for("packets_admin.build", visit_id=visit.id, build_id=build.id), code=303)


@bp.get("/visits/<int:visit_id>/builds/<int:build_id>")
@allow(*ORGANISERS)
def build(visit_id: int, build_id: int):
    """A build's progress (refreshing itself while it runs) and then its packets."""
    record = _build(visit_id, build_id)
    stalled = record.stalled(current_app.config["PACKET_STALL_MINUTES"], utcnow())
    return render_template(
        "packets/build.html",
        build=record,
        visit=record.visit,
        stalled=stalled,
        refresh=record.state in ("queued", "running") and not stalled,
        delivery_form=DeliveryForm(formdata=None),
        methods=DELIVERY_METHODS,
        reply_methods=REPLY_METHODS,
        action=FlaskForm(),
    )


@bp.get("/visits/<int:visit_id>/builds/<int:build_id>/zip")
@allow(*ORGANISERS)
def build_zip(visit_id: int, build_id: int):
    """The ZIP of every packet of a finished build."""
    record = _build(visit_id, build_id)
    if record.state != "done":
        abort(404)
    path = builder.build_dir(record) / builder.zip_name(record)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=path.name)  # fmt: skip


@bp.get("/packets/<packet_id>/<name>")
@allow(*ORGANISERS)
def packet_file(packet_id: str, name: str):
    """One file of one packet."""
    packet = db.session.get(Packet, packet_id)
    if packet is None or name not in FILES:
        abort(404)
    path = builder.build_dir(packet.build) / packet.id / name
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=FILES[name], as_attachment=True,
                     download_name=f"{packet.id}-{name}")  # fmt: skip


@bp.post("/packets/<packet_id>/delivered")
@allow(*ORGANISERS)
def delivered(packet_id: str):
    """Record when and how a packet reached its official."""
    packet = db.session.get(Packet, packet_id) or abort(404)
    form = DeliveryForm()
    back = url_for("packets_admin.build", visit_id=packet.build.visit_id, build_id=packet.build_id)
    if not form.validate_on_submit():
        flash(_("Enter the date of delivery."))
        return redirect(back + f"#p-{packet.id}", code=303)
    packet.delivered_on = form.delivered_on.data
    packet.delivered_how = form.how.data
    packet.delivered_note = (form.note.data or "").strip()
    packet.delivered_by = current_user.id
    audit.record(current_user, "packet", packet.id, "delivered", packet.delivered_note,
                 on=packet.delivered_on, how=packet.delivered_how)  # fmt: skip
    db.session.commit()
    flash(_("Delivery recorded."))
    return redirect(back + f"#p-{packet.id}", code=303)


def _reply_error(code: str) -> str:
    return {
        "not_delivered": _(
            "Record the packet's delivery first: a reply answers a delivered packet."
        ),
        "file_type": _("The file must be a PDF, PNG or JPEG."),
        "file_size": _(
            "The file is larger than %(mb)s MB.", mb=current_app.config["UPLOAD_MAX_MB"]
        ),
        "file_unreadable": _("The file cannot be read: it may be damaged."),
        "file_too_large": _(
            "The image is too large (more than %(mp)s megapixels): please scale it down.",
            mp=MAX_PIXELS // 1_000_000,
        ),
        "summary": _("Write a summary of the reply."),
    }.get(code, _("Please check the form."))


@bp.route("/packets/<packet_id>/reply", methods=["GET", "POST"])
@csrf.exempt  # the form checks its token, once allow_upload has raised the limit
@allow(*ORGANISERS)
def reply(packet_id: str):
    """Record what the official answered to a delivered packet."""
    packet = db.session.get(Packet, packet_id) or abort(404)
    back = url_for("packets_admin.build", visit_id=packet.build.visit_id, build_id=packet.build_id)
    error = ""
    try:
        if not allow_upload():
            raise RequestEntityTooLarge()
        form = ReplyForm()
    except RequestEntityTooLarge:
        form, error = ReplyForm(formdata=None), _reply_error("file_size")
    if not error and form.validate_on_submit():
        upload = form.file.data.read(upload_limit() + 1) if form.file.data else None
        try:
            replies.record_reply(packet, form.received_on.data, form.how.data,
                                 form.summary.data or "", form.locale.data, upload,
                                 current_user)  # fmt: skip
        except replies.ReplyError as exc:
            db.session.rollback()
            error = _reply_error(exc.code)
        else:
            db.session.commit()
            pagecache.clear()  # the campaign page shows replies
            flash(_("Reply recorded."))
            return redirect(back + f"#p-{packet.id}", code=303)
    elif request.method == "POST" and "csrf_token" in form.errors:
        abort(400)
    if packet.delivered_on is None:
        error = error or _reply_error("not_delivered")
    status = 422 if error or form.errors else 200
    page = render_template(
        "packets/reply_form.html",
        packet=packet,
        form=form,
        back=back,
        error=error,
        max_mb=current_app.config["UPLOAD_MAX_MB"],
    )
    return page, status


@bp.post("/replies/<int:reply_id>/remove")
@allow(*ORGANISERS)
def remove_reply(reply_id: int):
    """Remove a reply recorded wrongly (audited)."""
    record = db.session.get(PacketReply, reply_id) or abort(404)
    packet = record.packet
    replies.remove_reply(record, current_user)
    db.session.commit()
    pagecache.clear()
    flash(_("Reply removed."))
    back = url_for("packets_admin.build", visit_id=packet.build.visit_id, build_id=packet.build_id)
    return redirect(back + f"#p-{packet.id}", code=303)


# -- public verification ---------------------------------------------------------------------

verify_root = Blueprint("verify", __name__, template_folder="templates")
verify_pages = Blueprint(
    "verify_pages", __name__, url_prefix="/<lang>", template_folder="templates"
)
use_language_prefix(verify_pages)


def _verify(packet_id: str, locale: str):
    packet = db.session.get(Packet, packet_id.upper())
    if packet is None or packet.build.state != "done":
        abort(404)
    visit = packet.build.visit
    view = localise(visit.campaign, locale)
    titles = {d.id: d.title for d in view.demands}
    response = render_template(
        "packets/verify.html",
        packet=packet,
        visit=visit,
        official=packet.official,
        campaign_title=view.title,
        campaign_slug=view.slug,
        campaign_public=visit.campaign.state != "draft",
        titles=titles,
        replies=replies.packet_replies(packet),
        reply_methods=REPLY_METHODS,
    )
    return response, 200, {"X-Robots-Tag": "noindex"}


@verify_root.get("/verify/<packet_id>")
def verify(packet_id: str):
    """What a packet carried, for anyone holding it: counts and file hashes, nothing personal."""

    return _verify(packet_id, select_locale())


@verify_pages.get("/verify/<packet_id>")
def verify_in(packet_id: str):
    """The verification page in the language of the URL."""
    return _verify(packet_id, g.locale)


@verify_root.get("/replies/<int:reply_id>/file")
def reply_file(reply_id: int):
    """The file an organiser published with an official's reply."""
    record = replies.public_reply(reply_id)
    if record is None or not record.file_type:
        abort(404)
    name = f"reply-{record.id}.{replies.EXTENSIONS[record.file_type]}"
    return send_upload(replies.file_path(record), record.file_type, download_name=name)
