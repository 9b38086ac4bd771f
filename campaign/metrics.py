"""``/metrics`` in Prometheus's text format, for the organisation's own monitoring only.

Two kinds of figure:

- **This server's requests**: counts and latencies by route rule (never the path, which
  may carry a token), and the signatures it accepted. Under gunicorn each worker writes
  them to files in ``PROMETHEUS_MULTIPROC_DIR`` (``gunicorn.conf.py`` sets it up) and a
  scrape adds every worker's up; the development server keeps them in memory.
- **The platform's state**, read from the shared database at each scrape, so every server
  answers the same: signatures and submissions by state, the outbox's depth and the age of
  its oldest due message, jobs by kind and state, packet builds by state, and how long ago
  a worker was seen.

The page is never public: it answers 404 unless ``METRICS_TOKEN`` is set and the request
carries it as ``Authorization: Bearer <token>`` (nginx's example also refuses the path from
outside). Nothing in it names a person.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from campaign import requestlog
from campaign.extensions import db

# Registered on no registry: each scrape builds its own (multiprocess mode needs that).
REQUESTS = Counter(
    "campaign_http_requests",
    "HTTP requests answered, by route rule, method and status.",
    ["route", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "campaign_http_request_duration_seconds",
    "Time to answer a request, by route rule.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
SUBMITTED = Counter(
    "campaign_signatures_submitted",
    "Signing forms accepted by this server (each then waits for its confirmation).",
    registry=None,
)
LOCAL = (REQUESTS, LATENCY, SUBMITTED)

bp = Blueprint("metrics", __name__)


def multiprocess_dir() -> str | None:
    """Where gunicorn's workers keep their figures, when running under it."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def signature_submitted() -> None:
    """Count one accepted signing form."""
    SUBMITTED.inc()


class PlatformCollector(Collector):
    """Gauges read from the database: the same on every server."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Each gauge, read now; without a database, only that it is down."""
        try:
            families = list(self._read())
        except SQLAlchemyError:
            db.session.rollback()
            families = []
        yield GaugeMetricFamily(
            "campaign_database_up", "Whether the database answered this scrape.",
            value=1 if families else 0,
        )  # fmt: skip
        yield from families

    def _read(self) -> Iterator[GaugeMetricFamily]:
        """A handful of grouped counts on indexed columns."""
        from campaign.jobs import Job
        from campaign.mail.models import OutboxMessage
        from campaign.packets.models import PacketBuild
        from campaign.settings import worker_seen_at
        from campaign.signatures.models import Signature, Submission
        from campaign.timeutil import utcnow

        grouped = (
            ("campaign_signatures", "Signatures by state.", Signature),
            ("campaign_submissions", "Signing forms by state (received: not yet taken "
             "by the worker; pressed: confirmed, not yet applied).", Submission),
            ("campaign_outbox_messages", "Mail in the outbox by state.", OutboxMessage),
            ("campaign_packet_builds", "Packet builds by state.", PacketBuild),
        )  # fmt: skip
        for name, text, model in grouped:
            family = GaugeMetricFamily(name, text, labels=["state"])
            rows = db.session.execute(select(model.state, func.count()).group_by(model.state))
            for state, n in rows:
                family.add_metric([state], n)
            yield family
        jobs = GaugeMetricFamily("campaign_jobs", "Background jobs.", labels=["kind", "state"])
        rows = db.session.execute(
            select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)
        )
        for kind, state, n in rows:
            jobs.add_metric([kind, state], n)
        yield jobs
        now = utcnow()
        oldest = db.session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.state == "queued", OutboxMessage.next_attempt_at <= now
            )
        )
        yield GaugeMetricFamily(
            "campaign_outbox_oldest_due_seconds",
            "How long the oldest due message has waited (0: none due).",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )
        seen = worker_seen_at()
        yield GaugeMetricFamily(
            "campaign_worker_seen_seconds_ago",
            "Seconds since a worker last said it was running (-1: never).",
            value=(now - seen).total_seconds() if seen else -1.0,
        )
        db.session.rollback()


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
def scrape() -> Response:
    """The figures, for a scraper that has the token; 404 for anyone else."""
    if not _authorised():
        abort(404)
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in LOCAL:
            registry.register(metric)
    registry.register(PlatformCollector())
    response = Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """The endpoint, and each request's count and time by route rule (as it is logged)."""
    app.register_blueprint(bp)

    @app.after_request
    def _measured(response):  # noqa: ANN001, ANN202
        seconds = requestlog.elapsed()
        if seconds is not None:
            route = requestlog.route()
            REQUESTS.labels(route, request.method, str(response.status_code)).inc()
            LATENCY.labels(route).observe(seconds)
        return response
