"""Who may see which staff page: every staff view declares its roles, or nobody may."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user

from campaign.accounts.models import ROLES, StaffUser
from campaign.extensions import db
from campaign.validation import parse_id

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(key: str) -> StaffUser | None:
    user_id, _, version = key.partition(":")
    uid, ver = parse_id(user_id), parse_id(version)
    if uid is None or ver is None:
        return None
    user = db.session.get(StaffUser, uid)
    if user is None or not user.active or user.session_version != ver:
        return None
    return user


def allow(*roles: str) -> Callable:
    """Declare which roles may use a staff view (any one of them suffices)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorate


def allow_anonymous(view: Callable) -> Callable:
    """Mark a staff view that anonymous visitors may use (the login page only)."""
    view.allowed_roles = None  # type: ignore[attr-defined]
    view.anonymous_ok = True  # type: ignore[attr-defined]
    return view


def guard(blueprint: Blueprint) -> None:
    """Deny by default: a view without ``allow``/``allow_anonymous`` is refused to all."""

    @blueprint.before_request
    def _check():
        view = current_app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "anonymous_ok", False):
            return None
        if current_user.is_authenticated and _session_expired():
            logout_user()
            session.clear()
        if not current_user.is_authenticated:
            return redirect(url_for("staff.login", next=request.path))
        roles = getattr(view, "allowed_roles", None)
        if not roles or not (current_user.roles & roles):
            abort(403)
        session["staff_seen"] = int(time.time())
        return None

    @blueprint.after_request
    def _private(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response


def _session_expired() -> bool:
    seen = session.get("staff_seen")
    limit = current_app.config["STAFF_SESSION_MINUTES"] * 60
    return seen is None or time.time() - seen > limit
