"""Structured request logs: one JSON line per request in production, never a person in it.

Each line carries a request id (the proxy's ``X-Request-ID`` when it is a plain token,
else a new one, returned in the response), the route's rule (``/<lang>/confirm/<token>``,
never the URL: no token, no query), the method, the status and the duration. Every other
record of the process goes out as JSON too, redacted like all logs (``logsafe``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request

log = logging.getLogger("campaign.requests")
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, and any ``fields``."""

    converter = time.gmtime  # the "Z" below: times in UTC

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_text or record.exc_info:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def use_json_logs() -> None:
    """Send every record of the process to standard error as JSON (replacing handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def route() -> str:
    """The request's URL rule (``/<lang>/confirm/<token>``): bounded, and never a token."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def elapsed() -> float | None:
    """Seconds since this request began, or None before ``register``'s hook ran."""
    started = g.get("request_started")
    return None if started is None else time.perf_counter() - started


def register(app: Flask) -> None:
    """Log each request as one structured line, and give it an id."""

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        seconds = elapsed()
        if seconds is None:
            return response
        response.headers["X-Request-ID"] = g.request_id
        fields = {
            "request_id": g.request_id,
            "method": request.method,
            "route": route(),
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
        }
        log.info("request", extra={"fields": fields})
        return response
