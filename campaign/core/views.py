"""Root redirect, language switch, health checks and error pages."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import text

from campaign import redisconn
from campaign.extensions import db
from campaign.i18n import (
    LOCALES,
    URL_CODES,
    negotiate,
    set_language_cookie,
)
from campaign.settings import worker_seen_at
from campaign.timeutil import utcnow
from campaign.urls import safe_target

root = Blueprint("root", __name__, template_folder="templates")


@root.get("/")
def index():
    """Send the visitor to their language: cookie, then ``Accept-Language``."""
    locale = request.cookies.get("lang")
    if locale not in URL_CODES:
        locale = negotiate(request.headers.get("Accept-Language"))
    response = redirect(url_for("campaigns.home", lang=URL_CODES[locale]), code=302)
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


@root.get("/language/<code>")
def set_language(code: str):
    """Switch language on pages whose URL carries none (the staff area)."""
    if code not in LOCALES:
        return redirect(url_for("root.index"))
    target = safe_target(request.args.get("next"), default="/")
    response = redirect(target, code=303)
    set_language_cookie(response, LOCALES[code], current_app.config["SESSION_COOKIE_SECURE"])
    return response


@root.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@root.get("/readyz")
def readyz():
    """Ready for traffic: the database answers, Redis too when configured, and a worker
    has finished a pass within ``WORKER_STALE_SECONDS`` (without one, nothing is mailed,
    confirmed or built). 503 and what failed otherwise."""
    checks = {"database": "ok", "redis": "not configured", "worker": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        seen = worker_seen_at()
        db.session.rollback()
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        checks["database"], seen = "unreachable", None
    if seen is None:
        checks["worker"] = "never seen"
    elif utcnow() - seen > timedelta(seconds=current_app.config["WORKER_STALE_SECONDS"]):
        checks["worker"] = "not seen recently"
    checks["redis"] = redisconn.ping()
    ready = all(value in ("ok", "not configured") for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", **checks), 200 if ready else 503


def register_error_pages(app: Flask) -> None:
    """Error pages in the visitor's language; CSRF failures explain themselves."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_template("core/csrf.html"), 400

    @app.errorhandler(404)
    def _not_found(error: Exception):
        # No view ran, so the URL's language prefix was never read: read it here.
        prefix = request.path.strip("/").split("/", 1)[0]
        if prefix in LOCALES:
            g.locale = LOCALES[prefix]
            g.lang = prefix
        return render_template("core/error.html", code=404), 404

    @app.errorhandler(405)
    def _not_allowed(error: Exception):
        return render_template("core/error.html", code=405), 405

    @app.errorhandler(413)
    def _too_large(error: Exception):
        return render_template("core/error.html", code=413), 413

    @app.errorhandler(429)
    def _too_many(error: Exception):
        from campaign import limits

        wait = limits.retry_after()
        page = render_template("core/too_many.html", minutes=max(1, -(-wait // 60)))
        return limits.too_many(make_response(page, 429), wait)

    @app.errorhandler(500)
    def _server_error(error: Exception):
        db.session.rollback()
        return render_template("core/error.html", code=500), 500
