"""The one place mail is rendered: each message is a ``.txt`` and ``.html`` template pair.

Services compose mail by naming a template and its context; they render nothing
themselves (see the layers in README, "Architecture").
"""

from __future__ import annotations

from flask import render_template


def render_mail(template: str, **context: object) -> tuple[str, str]:
    """The plain-text and HTML bodies of ``template`` (``mail/confirm`` and the like)."""
    return render_template(f"{template}.txt", **context), render_template(
        f"{template}.html", **context
    )
