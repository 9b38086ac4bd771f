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


# Providers that deliver "j.doe@" and "jdoe@" to the same mailbox.
DOT_BLIND = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def canonical_mailbox(email: str) -> str:
    """The mailbox an address delivers to: no +tag, and no dots where ignored."""
    local, _, domain = email.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOT_BLIND:
        local, domain = local.replace(".", ""), DOT_BLIND[domain]
    return f"{local}@{domain}"
