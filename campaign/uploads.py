"""Forms that carry a file: the one place the site's small request limit is raised."""

from __future__ import annotations

from flask import current_app, request

# Room for the form's other fields beside the file.
FORM_MARGIN = 256 * 1024


def upload_limit() -> int:
    """The largest file organisers may upload, in bytes (``UPLOAD_MAX_MB``)."""
    return current_app.config["UPLOAD_MAX_MB"] * 1024 * 1024


def allow_upload() -> bool:
    """Let this request's body be as large as an upload; False when it says it is larger.

    Called by a view before its form is read. Views that take files are exempt from the
    site-wide CSRF check (which would read the body under the small limit) and check the
    token in their form instead. A body that says it is too large is refused unread.
    """
    limit = upload_limit() + FORM_MARGIN
    request.max_content_length = limit
    return (request.content_length or 0) <= limit
