"""E-mail address normalisation shared by supporters and staff."""

from __future__ import annotations

import unicodedata

from email_validator import validate_email


def normalise_email(value: str) -> str:
    """Trim, check syntax (email-validator), Unicode-normalise (NFC) and case-fold.

    Raises ``email_validator.EmailNotValidError`` for an invalid address.
    """
    result = validate_email(value.strip(), check_deliverability=False)
    return unicodedata.normalize("NFC", result.normalized).casefold()
