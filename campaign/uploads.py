"""Forms that carry a file: the one place the site's small request limit is raised."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, current_app, request, send_file

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


def send_upload(
    path: Path, mimetype: str, download_name: str | None = None, max_age: int | None = None
) -> Response:
    """Serve a file an organiser uploaded: 404 when it is missing; sandboxed, so that even a
    file a browser would run (a PDF's script) runs nowhere near the site; a download when
    ``download_name`` is given."""
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=mimetype, as_attachment=download_name is not None,
                         download_name=download_name, max_age=max_age)  # fmt: skip
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
