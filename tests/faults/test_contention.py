"""Writers that meet: deadlocks and serialisation failures are run again, never lost.

On PostgreSQL (``.ci/run`` runs the suite there too): real concurrent transactions in
threads, each with its own connection.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.signatures import services
from campaign.signatures.models import Signature, Submission
from campaign.signatures.services import SignatureInput
from campaign.transactions import is_conflict, retry_conflicts
from tests.conftest import sign

pytestmark = pytest.mark.usefixtures("postgres")


def _data(seeded, **changes) -> SignatureInput:
    fields = dict(
        name="Jane Doe", email="jane@example.org", country="US", region="", affiliation="",
        comment="", display="full", name_in_letters=True, updates=False,
        demand_ids=seeded["demand_ids"][:2], locale="en",
    )  # fmt: skip
    fields.update(changes)
    return SignatureInput(**fields)


def _at_once(app, work, count: int = 2) -> list[BaseException]:
    """Run ``work(n)`` in ``count`` threads released together; the errors they raised."""
    start = threading.Barrier(count, timeout=10)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        with app.app_context():
            try:
                start.wait()
                work(n)
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_submissions_for_one_address_at_once_make_one_signature(app, seeded):
    def submit(n: int) -> None:
        campaign = db.session.get(Campaign, db.session.scalar(select(Campaign.id)))
        services.submit_signature(campaign, _data(seeded, comment=f"try {n}"), None)
        db.session.commit()

    for _ in range(5):  # several rounds: the race is real, not arranged
        assert _at_once(app, submit, count=4) == []
    assert _count(app, Signature) == 1
    assert _count(app, Submission) == 20
    with app.app_context():
        sig_id = db.session.scalar(select(Signature.id))
        assert _count(app, Submission, Submission.signature_id == sig_id) == 20


def test_two_workers_taking_one_address_at_once_make_one_signature(app, client, seeded):
    for n in range(40):
        sign(client, seeded, take=False, comment=f"try {n}")

    def take(n: int) -> None:
        retry_conflicts(services.take_received)

    assert _at_once(app, take) == []
    assert _count(app, Signature) == 1
    assert _count(app, Submission, Submission.state == "received") == 0
    assert _count(app, Submission, Submission.state.in_(("pending", "merged"))) == 40


def test_a_real_deadlock_is_run_again_until_both_finish(app, seeded):
    demand = seeded["demand_ids"][:2]
    tries = {0: 0, 1: 0}
    both_hold_one = threading.Barrier(2, timeout=10)

    def cross(n: int) -> None:
        def work() -> None:
            tries[n] += 1
            first, second = demand if n == 0 else demand[::-1]
            db.session.execute(text("UPDATE demands SET position = position WHERE id = :i"),
                               {"i": first})  # fmt: skip
            if tries[n] == 1:
                both_hold_one.wait()  # each holds the row the other wants next
            db.session.execute(text("UPDATE demands SET position = position WHERE id = :i"),
                               {"i": second})  # fmt: skip
            db.session.commit()

        retry_conflicts(work)

    assert _at_once(app, cross) == []
    assert tries[0] + tries[1] == 3  # PostgreSQL aborted one; it ran again and finished


def test_a_view_that_meets_a_serialisation_failure_answers_as_if_nothing_happened(
    app, client, seeded, monkeypatch
):
    real = services.receive_signature
    failures = []

    def conflicting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not failures:
            failures.append(1)
            # PostgreSQL itself raises it, through the real driver.
            db.session.execute(
                text("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
            )
        return real(*args, **kwargs)

    monkeypatch.setattr("campaign.campaigns.views.receive_signature", conflicting)
    response = sign(client, seeded)
    assert failures == [1]
    assert response.status_code == 303
    assert _count(app, Signature) == 1
    assert _count(app, Submission) == 1


def test_other_database_errors_are_not_retried(app):
    calls = []

    def broken() -> None:
        calls.append(1)
        db.session.execute(text("SELECT * FROM no_such_table"))

    with app.app_context():
        with pytest.raises(DBAPIError) as raised:
            retry_conflicts(broken)
        db.session.rollback()
    assert not is_conflict(raised.value)
    assert calls == [1]
