"""The three locales, their URL codes, and how a request's locale is chosen.

Order: the URL prefix (``/en/``, ``/zh-hans/``, ``/zh-hant/``), then the ``lang`` cookie,
then ``Accept-Language``. Chinese is matched by script and region by hand, because
Werkzeug's and Babel's matchers send ``zh-TW`` and ``zh-HK`` to the wrong script.
"""

from __future__ import annotations

from flask import g, request

# URL code -> Babel locale identifier, in the order the switcher shows them.
LOCALES: dict[str, str] = {"en": "en", "zh-hans": "zh_Hans", "zh-hant": "zh_Hant"}
URL_CODES: dict[str, str] = {v: k for k, v in LOCALES.items()}
# The Babel locales in the switcher's order: campaigns, letters and updates are written
# in these, and every catalogue is complete for them.
LOCALE_IDS: tuple[str, ...] = tuple(LOCALES.values())
DEFAULT_LOCALE = "en"
# Each language's own name, so a reader finds theirs whatever the page's language.
NATIVE_NAMES: dict[str, str] = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
HTML_LANG: dict[str, str] = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}

_HANT_REGIONS = {"tw", "hk", "mo"}
_HANS_REGIONS = {"cn", "sg", "my"}


def match_language_tag(tag: str) -> str | None:
    """Map one BCP 47 tag to one of our locales, or ``None`` if we have no match."""
    parts = [p.lower() for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts:
        return None
    if parts[0] == "en":
        return "en"
    if parts[0] != "zh":
        return None
    rest = set(parts[1:])
    if "hant" in rest:
        return "zh_Hant"
    if "hans" in rest:
        return "zh_Hans"
    if rest & _HANT_REGIONS:
        return "zh_Hant"
    return "zh_Hans"  # bare zh, zh-CN, zh-SG and unknown regions


def negotiate(accept_language: str | None) -> str:
    """Choose a locale from an ``Accept-Language`` header value."""
    if not accept_language:
        return DEFAULT_LOCALE
    candidates: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if quality <= 0:
            continue
        locale = match_language_tag(tag)
        if locale:
            candidates.append((-quality, index, locale))
    if not candidates:
        return DEFAULT_LOCALE
    return min(candidates)[2]


def select_locale() -> str:
    """Flask-Babel locale selector."""
    chosen = g.get("locale")
    if chosen:
        return chosen
    cookie = request.cookies.get("lang") if request else None
    if cookie in URL_CODES:
        return cookie
    return negotiate(request.headers.get("Accept-Language") if request else None)


def current_url_code() -> str:
    """The URL code of the locale in use for this request."""
    return URL_CODES.get(select_locale(), "en")


def use_language_prefix(blueprint) -> None:  # noqa: ANN001 - a Flask Blueprint
    """Make ``<lang>`` in the blueprint's URLs choose the locale, and fill it in url_for."""

    @blueprint.url_value_preprocessor
    def _pull_lang(endpoint: str | None, values: dict | None) -> None:
        from flask import abort

        code = (values or {}).pop("lang", None)
        if code not in LOCALES:
            abort(404)
        g.locale = LOCALES[code]
        g.lang = code

    @blueprint.url_defaults
    def _add_lang(endpoint: str, values: dict) -> None:
        from flask import current_app

        if "lang" in values:
            return
        if current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.get("lang") or current_url_code()


def set_language_cookie(response, locale: str, secure: bool) -> None:  # noqa: ANN001
    """Remember the reader's language for a year (no tracking: only the locale)."""
    response.set_cookie(
        "lang", locale, max_age=365 * 86400, samesite="Lax", httponly=True, secure=secure
    )
