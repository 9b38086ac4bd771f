"""The one background worker: every piece of work that happens after a request.

``flask worker`` runs ``run_forever`` in production; ``make run`` starts the same command
beside the development server. Each pass delivers due mail (the outbox), runs due jobs
(packet builds, the fan-out of updates) and, once an hour, applies the retention rules.
Web processes run no background threads: they only write rows.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field

from campaign import jobs
from campaign.extensions import db
from campaign.mail import outbox
from campaign.privacy import purge

log = logging.getLogger(__name__)

# Modules whose import registers job handlers.
HANDLER_MODULES = ("campaign.packets.builder", "campaign.campaigns.updates")
PURGE_EVERY_SECONDS = 3600


def load_handlers() -> None:
    """Import every module that registers a job handler."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)


@dataclass
class Pass:
    """What one pass of the worker did."""

    mail: outbox.DeliveryReport = field(default_factory=outbox.DeliveryReport)
    jobs: int = 0
    purged: bool = False

    @property
    def busy(self) -> bool:
        """Whether there was anything to do (the next pass then comes at once)."""
        return bool(self.jobs or self.mail.sent or self.mail.failed or self.mail.gave_up)


@dataclass
class Worker:
    """The state of one worker process between passes."""

    last_purge: float = field(default=-float("inf"))

    def run_once(self) -> Pass:
        """Deliver due mail, run due jobs, purge when an hour has passed."""

        load_handlers()
        done = Pass(mail=outbox.deliver_due(), jobs=jobs.run_due())
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
                time.sleep(interval)
