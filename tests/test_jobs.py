"""The one background worker: jobs that survive their worker, retries, and resumable work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaign import jobs
from campaign.extensions import db
from campaign.jobs import Job
from campaign.timeutil import utcnow

CALLS: list[dict] = []


@jobs.handler("test.record")
def _record(**payload) -> None:
    CALLS.append(payload)


@jobs.handler("test.fail")
def _fail(**payload) -> None:
    raise RuntimeError("always fails")


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def _job(app) -> Job:
    with app.app_context():
        job = db.session.scalar(select(Job))
        db.session.expunge_all()
        return job


def test_a_job_exists_only_if_its_transaction_commits(app):
    with app.app_context():
        jobs.enqueue("test.record", n=1)
        db.session.rollback()
        assert jobs.run_due() == 0
        jobs.enqueue("test.record", n=2)
        db.session.commit()
        assert jobs.run_due() == 1
    assert CALLS == [{"n": 2}]
    assert _job(app).state == "done"


def test_a_job_is_not_run_before_its_time(app):
    with app.app_context():
        jobs.enqueue("test.record", run_at=utcnow() + timedelta(minutes=5), n=1)
        db.session.commit()
        assert jobs.run_due() == 0
    assert CALLS == []


def test_a_job_whose_worker_died_is_claimed_again_once_its_lease_ends(app):
    with app.app_context():
        jobs.enqueue("test.record", n=1)
        db.session.commit()
        # Claimed by a worker that was then killed: still within its lease...
        db.session.execute(
            update(Job).values(state="running", attempts=1, locked_until=utcnow() + jobs.LEASE)
        )
        db.session.commit()
        assert jobs.run_due() == 0
        # ...and after it.
        db.session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert jobs.run_due() == 1
    assert CALLS == [{"n": 1}]
    job = _job(app)
    assert (job.state, job.attempts) == ("done", 2)


def test_a_failing_job_is_retried_with_back_off_then_kept_as_failed(app):
    with app.app_context():
        job = jobs.enqueue("test.fail")
        job.max_attempts = 2
        db.session.commit()
        assert jobs.run_due() == 1
    first = _job(app)
    assert first.state == "queued"
    assert "always fails" in first.last_error
    assert first.run_at > utcnow() + timedelta(seconds=20)  # 30 s back-off
    with app.app_context():
        db.session.execute(update(Job).values(run_at=utcnow()))
        db.session.commit()
        jobs.run_due()
    last = _job(app)
    assert (last.state, last.attempts) == ("failed", 2)


def test_a_job_of_an_unknown_kind_fails_visibly(app):
    with app.app_context():
        job = jobs.enqueue("test.nobody")
        job.max_attempts = 1
        db.session.commit()
        jobs.run_due()
    job = _job(app)
    assert job.state == "failed"
    assert "no handler" in job.last_error


def test_two_handlers_for_one_kind_are_refused():
    with pytest.raises(ValueError, match="two handlers"):
        jobs.handler("test.record")(lambda: None)


def test_an_update_fan_out_cut_short_goes_on_without_doubles(app, client, seeded, monkeypatch):
    from campaign.campaigns import updates
    from campaign.mail.models import OutboxMessage
    from tests.campaigns.test_updates import supporters, write
    from tests.conftest import deliver, login, mails, make_user, token_from

    monkeypatch.setattr(updates, "FAN_OUT_BATCH", 2)
    monkeypatch.setitem(app.config, "UPDATE_MAIL_PER_MINUTE", 6_000_000)
    make_user(app, "org@example.org", roles=("organiser",))
    login(client, "org@example.org")
    csrf = token_from(client, "/staff/")
    cid = supporters(app, [(f"s{i}@example.org", "confirmed", True, "en") for i in range(5)])
    location = write(client, csrf, cid, en=("Hello", "Body")).headers["Location"]
    client.post(location + "/send", data={"csrf_token": csrf})
    real_link = updates._unsubscribe_link
    made = []

    def dies_on_the_third(sig):
        if len(made) == 2:  # the worker is killed while preparing the second batch
            raise SystemError("worker killed")
        made.append(sig.id)
        return real_link(sig)

    monkeypatch.setattr(updates, "_unsubscribe_link", dies_on_the_third)
    with app.app_context():
        jobs.run_due()
        assert db.session.scalar(select(db.func.count(OutboxMessage.id))) == 2
    monkeypatch.setattr(updates, "_unsubscribe_link", real_link)
    with app.app_context():
        db.session.execute(update(Job).values(run_at=utcnow()))
        db.session.commit()
    deliver(app)
    assert sorted(m["To"] for m in mails(app)) == [f"s{i}@example.org" for i in range(5)]
    assert "5 of 5 delivered" in client.get(location).get_data(as_text=True)
