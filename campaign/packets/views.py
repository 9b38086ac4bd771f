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
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from campaign import audit
from campaign.accounts.access import allow, guard
from campaign.campaigns.services import localise
from campaign.extensions import db
from campaign.i18n import select_locale, use_language_prefix
from campaign.packets import builder
from campaign.packets.models import Packet, PacketBuild
from campaign.timeutil import utcnow
from campaign.visits.forms import DELIVERY_METHODS, DeliveryForm
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
        titles=titles,
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
