"""The one background worker: every piece of work that happens after a request.

``flask worker`` runs ``run_forever`` in production; ``make run`` starts the same command
beside the development server. Each pass takes the submissions the signing form stored
(finds or creates each signature, queues its confirmation mail), applies the ones whose
link's button was pressed (details, demands, the checks that may hold them), folds count
deltas into the tallies, delivers due mail (the outbox) and runs due jobs (packet builds,
the fan-out of updates). Once an hour it applies the retention rules; once a day (and
when it starts) it recounts every campaign from its signatures, correcting any drift.
Web processes run no background threads: they only write rows.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field

from campaign import jobs, wakeup
from campaign.extensions import db
from campaign.mail import outbox
from campaign.privacy import purge
from campaign.settings import note_worker_alive
from campaign.signatures import counts
from campaign.signatures.services import apply_pressed, take_received
from campaign.transactions import retry_conflicts

log = logging.getLogger(__name__)

# Modules whose import registers job handlers.
HANDLER_MODULES = (
    "campaign.packets.builder",
    "campaign.campaigns.updates",
    "campaign.signatures.erasure",
)
PURGE_EVERY_SECONDS = 3600
RECOUNT_EVERY_SECONDS = 86400
BEAT_EVERY_SECONDS = 15


def load_handlers() -> None:
    """Import every module that registers a job handler."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)


@dataclass
class Pass:
    """What one pass of the worker did."""

    mail: outbox.DeliveryReport = field(default_factory=outbox.DeliveryReport)
    received: int = 0
    pressed: int = 0
    jobs: int = 0
    folded: int = 0
    purged: bool = False
    recounted: bool = False

    @property
    def busy(self) -> bool:
        """Whether there was anything to do (the next pass then comes at once)."""
        report = self.mail
        return bool(
            self.received
            or self.pressed
            or self.jobs
            or self.folded
            or report.sent
            or report.failed
            or report.gave_up
        )


@dataclass
class Worker:
    """The state of one worker process between passes."""

    last_purge: float = field(default=-float("inf"))
    last_recount: float = field(default=-float("inf"))
    last_beat: float = field(default=-float("inf"))

    def run_once(self) -> Pass:
        """Fold counts, deliver due mail, run due jobs; purge hourly, recount daily."""

        load_handlers()
        # Each step commits as it goes; one that meets another writer runs again.
        done = Pass(received=retry_conflicts(take_received))
        done.pressed = retry_conflicts(apply_pressed)
        done.folded = retry_conflicts(counts.fold)
        done.mail = outbox.deliver_due()
        done.jobs = jobs.run_due()
        if time.monotonic() - self.last_recount >= RECOUNT_EVERY_SECONDS:
            counts.recount_all()
            self.last_recount = time.monotonic()
            done.recounted = True
        if time.monotonic() - self.last_beat >= BEAT_EVERY_SECONDS:
            # Seen by /readyz; written now and then, not every pass: it takes the write lock.
            note_worker_alive()
            db.session.commit()
            self.last_beat = time.monotonic()
        if time.monotonic() - self.last_purge >= PURGE_EVERY_SECONDS:
            purge()
            self.last_purge = time.monotonic()
            done.purged = True
        db.session.remove()
        return done

    def run_forever(self, interval: float) -> None:
        """Pass after pass; a failed pass is logged and the next one comes."""
        while True:
            try:
                done = self.run_once()
            except Exception:  # a failed pass must not end the worker
                log.exception("worker pass failed")
                db.session.remove()
                done = Pass()
            if not done.busy:
                wakeup.wait(interval)
