"""Processes killed mid-work: nothing accepted is lost, nothing is done twice.

gunicorn with several workers takes a stream of signatures while one worker is SIGKILLed;
the background worker is killed while it holds a job. On SQLite, in an instance folder of
its own (the PostgreSQL run covers the same code paths in-process).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.signatures import counts
from campaign.signatures.models import Signature
from tests.conftest import confirm, confirm_link, deliver, free_port, mails
from tests.faults.servers import children, gunicorn, kill, post_form, production_env
from tests.security.conftest import seeded_instance

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL") is not None, reason="runs on SQLite, in its own folder"
)

SENDERS, PER_SENDER = 4, 40


def test_a_gunicorn_worker_killed_mid_stream_loses_no_answered_signature(tmp_path):
    instance = tmp_path / "instance"
    # One client address sends them all: no hold for bursts or similar names here.
    quiet = {"HOLD_BURST_PER_ADDRESS": 10**6, "HOLD_SIMILAR_NAMES": 10**6}
    with seeded_instance(instance, **quiet) as (app, seeded):
        port = free_port()
        env = production_env(instance, app.config["SQLALCHEMY_DATABASE_URI"],
                             f"http://127.0.0.1:{port}")  # fmt: skip
        answers: dict[str, int | None] = {}
        lock = threading.Lock()
        path = f"/en/c/{seeded['slug']}/sign"
        demands = [str(d) for d in seeded["demand_ids"][:2]]

        def send(n: int) -> None:
            for k in range(PER_SENDER):
                address = f"s{n}-{k}@example.org"
                data = {"name": f"Signer {n} {k}", "email": address, "country": "US",
                        "demands": demands, "display": "full"}  # fmt: skip
                status = post_form(port, path, data)
                with lock:
                    answers[address] = status

        with gunicorn(env, port, workers=3, log=tmp_path / "gunicorn.log") as master:
            workers = children(master)
            assert len(workers) == 3
            senders = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
            for thread in senders:
                thread.start()
            while len(answers) < SENDERS * PER_SENDER // 4:
                time.sleep(0.01)
            kill(workers[0])  # mid-stream: requests are in flight on every worker
            for thread in senders:
                thread.join(120)
            # The master replaced the killed worker.
            deadline = time.monotonic() + 10
            while len(children(master)) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(children(master)) == 3
            assert workers[0] not in children(master)

        statuses = Counter(answers.values())
        assert set(statuses) <= {303, None}, statuses
        accepted = {a for a, s in answers.items() if s == 303}
        assert len(accepted) >= SENDERS * PER_SENDER * 0.8

        deliver(app)  # the background worker's turn: take, mail
        client = app.test_client()
        for message in mails(app):
            confirm(client, confirm_link(message))
        deliver(app)
        with app.app_context():
            stored = Counter(db.session.scalars(select(Signature.email)))
            confirmed = db.session.scalar(
                select(func.count()).where(Signature.state == "confirmed")
            )
            assert accepted <= set(stored)  # every 303 is stored...
            assert max(stored.values()) == 1  # ...once
            assert confirmed == len(stored)  # ...and confirmable
            counts.fold()
            db.session.commit()
            campaign_id = db.session.scalar(select(Signature.campaign_id))
            tallied = counts.compute_counts(campaign_id)
            assert tallied == counts.scan_counts(campaign_id)
            assert tallied.total == len(stored)  # nobody counted twice


# The first worker runs the real code, stalled at a chosen point (PATCH) so that the test
# can kill it with part of its work done; the next one runs the real code unchanged.
STALLING_WORKER = """
import time
from campaign import create_app
from campaign.worker import Worker

def stall(message):
    print(message, flush=True)
    time.sleep(120)

{patch}
app = create_app()
with app.app_context():
    Worker().run_forever(0.1)
"""

AFTER_FIRST_PACKET = """
from campaign.packets import letter
real = letter.write_packet
def write_then_stall(*args, **kwargs):
    result = real(*args, **kwargs)
    stall("stalled")
    return result
letter.write_packet = write_then_stall
"""

AFTER_FIRST_BATCH = """
from campaign.campaigns import updates
updates.FAN_OUT_BATCH = 2
real = updates._unsubscribe_link
made = []
def link_or_stall(sig):
    if len(made) == 2:  # the first batch is committed; the second is being prepared
        stall("stalled")
    made.append(sig.id)
    return real(sig)
updates._unsubscribe_link = link_or_stall
"""


def _kill_when_stalled(env: dict, patch: str) -> None:
    """Start a worker that stalls at ``patch``'s point, and SIGKILL it there."""
    import subprocess
    import sys

    from tests.faults.servers import ROOT

    script = STALLING_WORKER.format(patch=patch)
    first = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        assert first.stdout.readline().strip() == b"stalled"
    finally:
        kill(first.pid)
        first.wait(10)
        first.stdout.close()


def _lease_runs_out(app) -> None:
    """The killed worker's lease ends (15 minutes, in a real night)."""
    from datetime import timedelta

    from sqlalchemy import update

    from campaign.jobs import Job
    from campaign.timeutil import utcnow

    with app.app_context():
        db.session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _next_worker(env: dict) -> str:
    import subprocess
    import sys

    from tests.faults.servers import ROOT

    again = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--once"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return again.stdout


def test_a_worker_killed_mid_build_is_replaced_and_the_build_done_once(tmp_path):
    from campaign.jobs import Job
    from campaign.packets import builder
    from campaign.packets.models import Packet, PacketBuild
    from tests.packets.helpers import queued_build

    instance = tmp_path / "instance"
    with seeded_instance(instance) as (app, _seeded):
        with app.app_context():
            build = queued_build()
            build_id, folder = build.id, builder.build_dir(build)
        env = production_env(instance, app.config["SQLALCHEMY_DATABASE_URI"], "http://127.0.0.1")
        _kill_when_stalled(env, AFTER_FIRST_PACKET)
        assert [p for p in folder.rglob("*") if p.is_file()]  # part of the build is on disk
        with app.app_context():
            assert db.session.get(PacketBuild, build_id).state == "running"
        _lease_runs_out(app)
        assert "jobs: 1" in _next_worker(env)
        with app.app_context():
            build = db.session.get(PacketBuild, build_id)
            assert build.state == "done", build.error
            job = db.session.scalar(select(Job))
            assert (job.state, job.attempts) == ("done", 2)
            packets = db.session.scalars(select(Packet).where(Packet.build_id == build_id)).all()
            assert len(packets) == 2  # one per official, not one more for the killed try
            recorded = {p.id for p in packets}
        on_disk = {p.name for p in folder.iterdir() if p.is_dir()}
        assert on_disk == recorded  # nothing left of the killed attempt


def test_a_worker_killed_mid_fan_out_is_replaced_and_each_supporter_mailed_once(tmp_path):
    from campaign.campaigns import updates
    from campaign.campaigns.models import Campaign
    from campaign.mail.models import OutboxMessage
    from tests.factories import make_signature

    instance = tmp_path / "instance"
    with seeded_instance(instance) as (app, _seeded):
        with app.app_context():
            campaign = db.session.scalar(select(Campaign))
            for n in range(5):
                make_signature(campaign.id, f"Supporter {n}", email=f"s{n}@example.org",
                               state="confirmed", updates=True, locale="en")  # fmt: skip
            item = updates.save_update(campaign, {"en": ("News", "We delivered.")}, None)
            updates.send_update(campaign, item, None)
            db.session.commit()
            update_id = item.id
        env = production_env(instance, app.config["SQLALCHEMY_DATABASE_URI"], "http://127.0.0.1")
        _kill_when_stalled(env, AFTER_FIRST_BATCH)

        def queued() -> list[str]:
            with app.app_context():
                return sorted(db.session.scalars(
                    select(OutboxMessage.recipient).where(OutboxMessage.update_id == update_id)
                ))  # fmt: skip

        assert queued() == ["s0@example.org", "s1@example.org"]  # the committed batch
        _lease_runs_out(app)
        assert "jobs: 1" in _next_worker(env)
        assert queued() == [f"s{n}@example.org" for n in range(5)]  # each once
        with app.app_context():
            item = db.session.get(updates.CampaignUpdate, update_id)
            assert (item.state, item.recipients) == ("sent", 5)
