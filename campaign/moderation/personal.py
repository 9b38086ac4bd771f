"""Spotting personal data in a public comment, to warn the moderator before approving."""

from __future__ import annotations

import re

PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    # Eight or more digits, allowing the separators people type in phone numbers.
    "phone": re.compile(r"(?:\+?\d[\s().-]?){8,}"),
    # Mainland resident identity card numbers (18 characters) and similar long IDs.
    "id_number": re.compile(r"\b\d{17}[\dXx]\b|\b[A-Z]\d{9}\b|\b[A-Z]{1,2}\d{6}\(?[\dA]\)?"),
    "street_address": re.compile(
        r"\d+\s*(?:号|號|弄|巷|室)|[\u4e00-\u9fff]{1,10}(?:路|街|道)\s*\d+"
        r"|\b\d+\s+\w+(?:\s\w+)?\s(?:street|st|road|rd|avenue|ave|lane|ln|boulevard|blvd)\b",
        re.I,
    ),
}


def personal_data_kinds(text: str) -> list[str]:
    """The kinds of personal data that ``text`` seems to contain."""
    return [kind for kind, pattern in PATTERNS.items() if pattern.search(text or "")]


def mask_email(email: str) -> str:
    """``jane.doe@example.org`` -> ``j•••e@e•••.org``: enough to compare, not to contact."""
    local, _, domain = email.rpartition("@")
    name, dot, tld = domain.rpartition(".")

    def squeeze(part: str) -> str:
        if len(part) <= 2:
            return part[:1] + "•••"
        return part[0] + "•••" + part[-1]

    return f"{squeeze(local)}@{squeeze(name)}{dot}{tld}" if name else f"{squeeze(local)}@{domain}"
