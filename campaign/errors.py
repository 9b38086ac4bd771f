"""The error services raise for a refused action, whose ``code`` a page translates."""

from __future__ import annotations


class RefusedError(ValueError):
    """A refused action; ``code`` names the reason (views map it to a translated message)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
