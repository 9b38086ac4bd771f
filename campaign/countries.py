"""ISO 3166-1 countries (pycountry) with names in the page's language (Babel/CLDR)."""

from __future__ import annotations

from functools import lru_cache

import pycountry
from babel import Locale
from markupsafe import Markup, escape
from pypinyin import lazy_pinyin


@lru_cache(maxsize=8)
def country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """``(alpha-2 code, localised name)`` for every ISO 3166-1 country, sorted for readers.

    Chinese names sort by their pinyin, as a Chinese reader expects, not by code point.
    """
    names = Locale.parse(locale).territories
    english = Locale.parse("en").territories
    pairs = []
    for country in pycountry.countries:
        code = country.alpha_2
        pairs.append((code, names.get(code) or english.get(code) or country.name))
    if locale.startswith("zh"):
        return tuple(sorted(pairs, key=lambda p: ("".join(lazy_pinyin(p[1])).lower(), p[1])))
    return tuple(sorted(pairs, key=lambda p: p[1].casefold()))


def country_codes() -> frozenset[str]:
    """Every valid alpha-2 code."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


def country_name(code: str, locale: str) -> str:
    """The name of ``code`` in ``locale``, or the code itself when unknown.

    ``ZZ`` (CLDR's unknown region) stands for paper sheets that did not say.
    """
    if code == "ZZ":
        return Locale.parse(locale).territories.get("ZZ", code)
    return dict(country_choices(locale)).get(code, code)


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    found = {}
    for locale in ("en", "zh_Hans", "zh_Hant"):
        for code, name in country_choices(locale):
            found[name.casefold()] = code
            found[code.casefold()] = code
    return found


def country_lookup(value: str) -> str | None:
    """The code of a country typed as its code or its name in English or Chinese."""
    return _by_name().get(" ".join(value.split()).casefold()) if value else None


@lru_cache(maxsize=8)
def _options_html(locale: str) -> str:
    return "".join(
        f'<option value="{code}">{escape(name)}</option>' for code, name in country_choices(locale)
    )


def country_options(locale: str, selected: str | None, prompt: str) -> Markup:
    """The ``<option>`` list for the country select, built once per locale.

    Rendering 250 options through WTForms on every page view was the page's main cost.
    """
    html = _options_html(locale)
    if selected and f'value="{selected}"' in html:
        html = html.replace(f'value="{selected}"', f'selected value="{selected}"', 1)
    first = f'<option value=""{"" if selected else " selected"}>{escape(prompt)}</option>'
    return Markup(first + html)  # noqa: S704 - names escaped above, codes are ISO letters
