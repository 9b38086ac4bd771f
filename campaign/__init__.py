"""The campaign platform: ``create_app`` builds the Flask application."""

from __future__ import annotations

import os

# pypinyin's phrase dictionary costs about 45 MB in every process and only helps with
# multi-character words; names and country names are read character by character here.
# Set before anything imports pypinyin (it reads the variable once, at import).
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")

from flask import Flask  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from campaign.config import ROOT, Config, load_config  # noqa: E402


def create_app(config: Config | None = None) -> Flask:
    """Application factory: configuration, extensions, i18n, blueprints, CLI, errors."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config or load_config())
    register_logging(app)
    register_extensions(app)
    register_i18n(app)
    register_blueprints(app)
    register_security(app)
    register_cli_commands(app)
    register_proxies(app)
    from campaign import metrics, wakeup
    from campaign.transactions import retry_views

    metrics.register(app)
    wakeup.register(app)
    retry_views(app)
    return app


def register_proxies(app: Flask) -> None:
    """Believe ``X-Forwarded-For``/``-Proto`` from exactly ``TRUSTED_PROXIES`` hops.

    Behind nginx every request comes from nginx's address: without this, every supporter
    would share one address hash (held together as a burst). Without a proxy, the headers
    are ignored, so a forged one changes nothing.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_logging(app: Flask) -> None:
    """No personal data or link token in any log line, whoever writes it."""
    from campaign import requestlog
    from campaign.logsafe import install

    install()
    if app.config.get("LOG_FORMAT") == "json":
        requestlog.use_json_logs()
    requestlog.register(app)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects and import every model for migrations."""
    from campaign import models  # noqa: F401 - registers tables on the metadata
    from campaign.extensions import csrf, db, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A file has no connection to lose: the ping would be one more statement per request.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"], pool_pre_ping=False)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    from campaign import crossorigin

    # Before Flask-WTF's check: public forms rely on it alone, staff forms on both.
    crossorigin.register(app)
    csrf.init_app(app)
    from campaign import limits

    limits.register(app)
    from campaign.accounts.access import login_manager

    login_manager.init_app(app)
    from campaign import transactions
    from campaign.validation import IdConverter, TextConverter

    transactions.register(app)

    # Every <int:...> in a URL is bounded: a 25-digit id is a 404, not an overflow.
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """Foreign keys on, WAL for concurrent readers, NORMAL sync (safe with WAL)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # We emit BEGIN ourselves (below), so pysqlite must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Zero deleted content, so an erased supporter's bytes do not linger in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def register_i18n(app: Flask) -> None:
    """Flask-Babel with our locale selector, and template helpers for the switcher."""
    from flask import request, url_for
    from flask_babel import get_locale

    from campaign.extensions import babel
    from campaign.i18n import (
        HTML_LANG,
        LOCALES,
        NATIVE_NAMES,
        URL_CODES,
        select_locale,
    )

    babel.init_app(app, locale_selector=select_locale)
    from campaign.markup import render_markdown

    app.add_template_filter(render_markdown, "markdown")
    from campaign.signatures.details import submission_details

    app.add_template_global(submission_details)

    # Whether an endpoint takes the language and answers GET: fixed once the app is built,
    # so the URL map is walked once per endpoint, not on every page.
    switchable: dict[str, bool] = {}

    def _switchable(endpoint: str) -> bool:
        if endpoint not in switchable:
            methods = {m for r in app.url_map.iter_rules(endpoint) for m in (r.methods or ())}
            switchable[endpoint] = (
                app.url_map.is_endpoint_expecting(endpoint, "lang") and "GET" in methods
            )
        return switchable[endpoint]

    languages = [(code, NATIVE_NAMES[loc], loc) for code, loc in LOCALES.items()]

    @app.context_processor
    def _i18n_context() -> dict:
        locale = str(get_locale())

        def switch_url(code: str) -> str:
            """The same page in another language, through the switch that remembers it.

            The choice is kept in a cookie only when a reader makes it, so the pages
            themselves set no cookie and can be cached (see ``pagecache``).
            """
            endpoint = request.endpoint
            args = dict(request.view_args or {})
            args.pop("lang", None)
            if endpoint and _switchable(endpoint):
                target = url_for(endpoint, lang=code, **args)
            elif (
                endpoint and "slug" in args and app.url_map.is_endpoint_expecting(endpoint, "lang")
            ):
                target = url_for("campaigns.show", lang=code, slug=args["slug"])
            elif endpoint and not endpoint.startswith("static"):
                target = request.full_path
            else:
                target = url_for("campaigns.home", lang=code)
            return url_for("root.set_language", code=code, next=target)

        return {
            "current_locale": locale,
            "html_lang": HTML_LANG.get(locale, "en"),
            "lang_code": URL_CODES.get(locale, "en"),
            "languages": languages,
            "switch_url": switch_url,
        }


def register_blueprints(app: Flask) -> None:
    """Public pages, signing, API."""
    from campaign.accounts.views import bp as staff_bp
    from campaign.api.views import bp as api_bp
    from campaign.campaigns.views import bp as campaigns_bp
    from campaign.core.views import register_error_pages, root
    from campaign.signatures.views import bp as signatures_bp

    app.register_blueprint(root)
    app.register_blueprint(campaigns_bp)
    app.register_blueprint(signatures_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(staff_bp)
    from campaign.campaigns.staff_views import bp as campaign_admin_bp
    from campaign.exports.views import bp as exports_bp
    from campaign.moderation.views import bp as moderation_bp
    from campaign.packets.views import bp as packets_bp
    from campaign.packets.views import verify_pages, verify_root
    from campaign.partners.staff_views import bp as partners_admin_bp
    from campaign.partners.staff_views import portal as partner_portal_bp
    from campaign.partners.views import bp as partners_bp
    from campaign.signatures.staff_views import bp as paper_bp
    from campaign.visits.views import bp as visits_bp

    app.register_blueprint(campaign_admin_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(visits_bp)
    app.register_blueprint(packets_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(paper_bp)
    app.register_blueprint(partners_admin_bp)
    app.register_blueprint(partner_portal_bp)
    app.register_blueprint(partners_bp)
    app.register_blueprint(verify_root)
    app.register_blueprint(verify_pages)
    register_error_pages(app)


def register_security(app: Flask) -> None:
    """Security headers on every response; staff changes show on public pages at once."""
    from flask import request
    from flask_login import current_user

    from campaign import pagecache
    from campaign.accounts.models import STAFF_ROLES
    from campaign.security import register_headers

    register_headers(app)

    @app.after_request
    def _staff_changed(response):  # noqa: ANN001, ANN202
        # Any change made from the staff area may show on a public page or the API. Only
        # staff's accepted posts count: a refused one changed nothing, and anyone could
        # send those to empty the cache again and again.
        if (
            request.method == "POST"
            and request.path.startswith("/staff/")
            and response.status_code < 400
            and current_user.is_authenticated
            and current_user.roles & set(STAFF_ROLES)
        ):
            pagecache.clear()
        return response


def register_cli_commands(app: Flask) -> None:
    """The ``flask`` command groups."""
    from campaign.cli import register_cli

    register_cli(app)
