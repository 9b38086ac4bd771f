"""Cross-site posting refused from the browser's own headers, for every unsafe request.

Public forms (signing, erasure) carry no CSRF token, so public pages set no cookie and the
same bytes serve every visitor of a language (see ``pagecache``). What protects them is
what Go's ``net/http.CrossOriginProtection`` checks: ``Sec-Fetch-Site``, which every
current browser sends, must say the form came from this site (``same-origin``) or from the
person (``none``: a bookmark, the address bar); where it is absent, ``Origin``, when
present, must be one of the site's own origins. A request with neither header does not
come from a browser a hostile page could steer, so it passes (mail clients' one-click
unsubscribe, ``curl``). Staff forms keep Flask-WTF's session token on top of this.

``Referrer-Policy`` is ``same-origin`` (not ``no-referrer``) because browsers send
``Origin: null`` on every form POST under ``no-referrer``, which would make the fallback
useless; nothing is sent to other sites either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
TRUSTED_SITES = frozenset(("same-origin", "none"))

F = TypeVar("F", bound=Callable)
_exempt: set[str] = set()


def exempt(view: F) -> F:
    """Let ``view`` take posts from anywhere: its URL token is the proof (mail one-click)."""
    _exempt.add(f"{view.__module__}.{view.__name__}")
    return view


def site_origins(app: Flask) -> frozenset[str]:
    """The origins this site's own pages have: ``PUBLIC_URL``'s, and ``TRUSTED_HOSTS``'."""
    public = urlsplit(app.config["PUBLIC_URL"])
    origins = {f"{public.scheme}://{public.netloc}"}
    for host in app.config.get("TRUSTED_HOSTS") or ():
        host = host.lstrip(".")
        origins |= {f"http://{host}", f"https://{host}"}
    return frozenset(o.lower() for o in origins)


def is_cross_site(method: str, headers: dict | object, origins: frozenset[str]) -> bool:
    """Whether a request with these headers was sent by another site's page."""
    if method in SAFE_METHODS:
        return False
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site.lower() not in TRUSTED_SITES
    origin = headers.get("Origin")
    if origin:
        return origin.lower() not in origins
    return False


def register(app: Flask) -> None:
    """Refuse unsafe requests from other sites with a translated 403, before any view."""

    @app.before_request
    def _refuse_cross_site():  # noqa: ANN202 - a response or None
        if request.method in SAFE_METHODS:
            return None
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and f"{view.__module__}.{view.__name__}" in _exempt:
            return None
        origins = current_app.extensions.get("campaign.origins")
        if origins is None:  # the configuration is read once, not on every post
            origins = current_app.extensions["campaign.origins"] = site_origins(app)
        if is_cross_site(request.method, request.headers, origins):
            return render_template("core/cross_site.html"), 403
        return None
