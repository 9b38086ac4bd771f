"""Input rules shared by every form, view and service: text, integers, dates.

Text: single-line fields refuse line breaks and every other control character; signer
text refuses bidirectional overrides (which can make a name read backwards on a page or
in a letter) and values made only of invisible characters. Numbers and dates from URLs
and forms are bounded, so that no input reaches the database as an overflow.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter, UnicodeConverter
from wtforms import Field, ValidationError

# Line breaks are allowed in multi-line fields only.
_MULTILINE_OK = {"\n", "\r", "\t"}
# Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Joiners that Indic, Arabic and emoji text needs; every other format character is
# refused in signer text.
JOINERS = frozenset("\u200c\u200d")
# Letters and symbols that draw nothing: Hangul fillers, the blank Braille cell, the
# combining grapheme joiner, Khmer inherent vowels. They do not count as visible.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180e")
# Largest id accepted from a URL or a form: PostgreSQL's INTEGER columns are 32-bit.
ID_MAX = 2**31 - 1
PAGE_MAX = 100_000
# Dates typed by staff must fall in this range (a date near year 9999 overflows).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2200, 12, 31)


def text_problem(value: str, multiline: bool = False, signer: bool = False) -> str | None:
    """Why ``value`` is refused, or None.

    ``newline``: a line break in a single-line field; ``control``: another control
    character, a surrogate or a non-character from a broken encoding. With ``signer``:
    ``bidi`` for a directional override, ``format`` for another invisible format
    character, and ``invisible`` when nothing in it would show.
    """
    visible = False
    for char in value:
        if multiline and char in _MULTILINE_OK:
            continue
        category = unicodedata.category(char)
        if char in "\r\n\v\f\x85\u2028\u2029":
            return "control" if multiline else "newline"
        if (
            category in ("Cc", "Cs", "Zl", "Zp")
            or char == "\ufffd"
            or category == "Cn"
            and (0xFDD0 <= ord(char) <= 0xFDEF or ord(char) & 0xFFFE == 0xFFFE)
        ):
            return "control"
        if signer and char in BIDI_CONTROLS:
            return "bidi"
        if signer and category == "Cf" and char not in JOINERS:
            return "format"
        if category[0] in "LNPS" and char not in BLANKS:
            visible = True
    if signer and value and not visible:
        return "invisible"
    return None


class CleanText:
    """A WTForms validator applying ``text_problem``."""

    def __init__(self, multiline: bool = False, signer: bool = False) -> None:
        self.multiline = multiline
        self.signer = signer

    def __call__(self, form: object, field: Field) -> None:
        """Raise a translated ``ValidationError`` for refused text."""
        problem = field.data and text_problem(field.data, self.multiline, self.signer)
        if problem == "newline":
            raise ValidationError(_l("Please keep this on one line."))
        if problem in ("bidi", "format"):
            raise ValidationError(_l("This field contains invisible formatting characters."))
        if problem == "invisible":
            raise ValidationError(_l("Please use visible letters."))
        if problem:
            raise ValidationError(_l("This field contains characters that cannot be stored."))


def parse_id(value: object) -> int | None:
    """A positive id from a string of ASCII digits within ``ID_MAX``, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= ID_MAX else None
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    if len(value) > 12:
        return None
    number = int(value)
    return number if 0 < number <= ID_MAX else None


def parse_page(value: object) -> int:
    """A page number from a query string: 1 when missing or malformed, at most PAGE_MAX."""
    number = parse_id(value)
    return min(number, PAGE_MAX) if number else 1


class DateInRange:
    """A WTForms validator keeping dates between ``DATE_MIN`` and ``DATE_MAX``."""

    def __call__(self, form: object, field: Field) -> None:
        """Refuse dates outside the range with a translated message."""
        value = field.data.date() if isinstance(field.data, datetime) else field.data
        if value and not (DATE_MIN <= value <= DATE_MAX):
            raise ValidationError(
                _l(
                    "Please give a date between %(start)s and %(end)s.",
                    start=DATE_MIN.isoformat(),
                    end=DATE_MAX.isoformat(),
                )
            )


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, at most ``ID_MAX`` unless a route says otherwise."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002, ANN001 - Werkzeug's signature
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """Werkzeug's default path segment, without control characters (C0, DEL, C1).

    No slug, token or packet id holds one, and PostgreSQL refuses a NUL in any text: a
    ``%00`` in a URL is a 404 here, not an error from the database.
    """

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002, ANN001 - Werkzeug's signature
        super().__init__(map, *args, **kwargs)
        # Werkzeug's own sets ``regex`` here, from the lengths a route may give.
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f-\\x9f]")
