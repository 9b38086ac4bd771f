"""Staff login, logout, dashboard, own password, and user management (admin)."""

from __future__ import annotations

import time

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from campaign import limits
from campaign.accounts import services
from campaign.accounts.access import allow, allow_anonymous, guard
from campaign.accounts.forms import ActionForm, LoginForm, PasswordForm, RolesForm, UserForm
from campaign.accounts.models import PARTNER_ROLE, ROLES, STAFF_ROLES, StaffUser
from campaign.campaigns.services import featured_campaign
from campaign.extensions import db
from campaign.moderation.services import QueueFilter, queue_page
from campaign.packets.builder import latest_builds
from campaign.security import client_address, hash_address
from campaign.settings import switch_state
from campaign.timeutil import utcnow
from campaign.urls import safe_target
from campaign.visits.chart import daily_counts
from campaign.visits.services import upcoming_visits

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")
guard(bp)


@bp.route("/login", methods=["GET", "POST"])
@allow_anonymous
@limits.per_address("LIMIT_LOGIN_PER_ADDRESS")
@limits.for_everyone("LIMIT_LOGIN_GLOBAL")
def login():
    """Log in with e-mail and password; failures are generic and throttled."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data, form.password.data, hash_address(client_address())
            )
        except services.Throttled:
            db.session.commit()
            form.password.errors = [_("Too many failed attempts. Please wait and try again.")]
            return render_template("accounts/login.html", form=form), 429
        db.session.commit()
        if user is not None:
            session.clear()
            login_user(user)
            session.permanent = True
            session["staff_seen"] = int(time.time())
            target = safe_target(request.args.get("next"), home_for(user), prefix="/staff/")
            return redirect(target, code=303)
        form.password.errors = [_("That e-mail address and password do not match.")]
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@allow(*ROLES)
def logout():
    """End the session on the server too: a copied cookie stops working."""
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("staff.login"), code=303)


def home_for(user: StaffUser) -> str:
    """Where a user lands: the dashboard, or a partner's own page."""
    if PARTNER_ROLE in user.roles:
        return url_for("partner_portal.home")
    return url_for("staff.dashboard")


@bp.get("/")
@allow(*STAFF_ROLES)
def dashboard():
    """The staff home page: what each role can do."""

    can_moderate = bool(current_user.roles & {"moderator", "admin"})
    can_organise = bool(current_user.roles & {"organiser", "admin"})
    queue_size = queue_page(QueueFilter()).total if can_moderate else 0
    visits, latest, chart, chart_campaign = [], {}, None, None
    if can_organise:
        today = utcnow().date()
        visits = [(v, (v.deadline - today).days) for v in upcoming_visits(today)]
        latest = latest_builds([v.id for v, _days in visits])
        chart_campaign = visits[0][0].campaign if visits else featured_campaign()
        chart = daily_counts(chart_campaign, today=today) if chart_campaign else None
    return render_template(
        "accounts/dashboard.html",
        visits=visits,
        latest=latest,
        chart=chart,
        chart_campaign=chart_campaign,
        logout_form=ActionForm(),
        action_form=ActionForm(),
        switches=switch_state(),
        queue_size=queue_size,
        can_moderate=can_moderate,
        can_organise=can_organise,
    )


@bp.route("/password", methods=["GET", "POST"])
@allow(*ROLES)
def password():
    """Change one's own password; other sessions end."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(current_user, form.current.data, form.new.data)
        except services.WrongPassword:
            form.current.errors = [_("That is not your current password.")]
            return render_template("accounts/password.html", form=form), 422
        db.session.commit()
        user = current_user._get_current_object()
        login_user(user)  # this session carries the new version
        flash(_("Your password was changed. Your other sessions have ended."))
        return redirect(home_for(user), code=303)
    return render_template("accounts/password.html", form=form), (
        422 if request.method == "POST" else 200
    )


@bp.route("/users", methods=["GET", "POST"])
@allow("admin")
def users():
    """List staff users and create one."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            services.create_user(
                form.email.data, form.password.data, form.roles.data, actor=current_user
            )
        except services.AccountError:
            form.email.errors = [_("A staff user with that address exists.")]
        else:
            db.session.commit()
            flash(_("The user was created. Give them their password in person."))
            return redirect(url_for("staff.users"), code=303)
    people = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    status = 422 if request.method == "POST" else 200
    return render_template(
        "accounts/users.html", form=form, people=people, action=ActionForm(), roles=STAFF_ROLES
    ), status


@bp.post("/users/<int:user_id>/roles")
@allow("admin")
def user_roles(user_id: int):
    """Replace a user's roles."""
    user = db.session.get(StaffUser, user_id) or abort(404)
    form = RolesForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_roles(user, form.roles.data, actor=current_user)
    except services.AccountError:
        flash(_("Give at least one role."))
        return redirect(url_for("staff.users"), code=303)
    db.session.commit()
    flash(_("Roles changed."))
    return redirect(url_for("staff.users"), code=303)


@bp.post("/users/<int:user_id>/active")
@allow("admin")
def user_active(user_id: int):
    """Deactivate or reactivate a user."""
    user = db.session.get(StaffUser, user_id) or abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_active(user, request.form.get("active") == "1", actor=current_user)
    except services.AccountError:
        flash(_("You cannot deactivate yourself."))
        return redirect(url_for("staff.users"), code=303)
    db.session.commit()
    flash(_("Saved."))
    return redirect(url_for("staff.users"), code=303)
