"""Markdown to safe HTML: python-markdown renders, nh3 (Ammonia) sanitises."""

from __future__ import annotations

from functools import lru_cache

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h2", "h3", "h4",
    "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "class"},
    "li": {"id"},
    "sup": {"id"},
    "div": {"class"},
    "abbr": {"title"},
}


@lru_cache(maxsize=512)
def render_markdown(text: str) -> Markup:
    """Render Markdown (with footnotes) and strip anything not on the allow-list.

    Cached by text: a campaign page renders the same statement on every request.
    """
    html = markdown.markdown(
        text or "",
        extensions=["footnotes", "sane_lists"],
        extension_configs={"footnotes": {"BACKLINK_TITLE": "", "SUPERSCRIPT_TEXT": "{}"}},
        output_format="html",
    )
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above
