"""ISO 3166-1 countries (pycountry) with names in the page's language (Babel/CLDR)."""

from __future__ import annotations

from functools import lru_cache

import pycountry
from babel import Locale
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
    """The name of ``code`` in ``locale``, or the code itself when unknown."""
    return dict(country_choices(locale)).get(code, code)
