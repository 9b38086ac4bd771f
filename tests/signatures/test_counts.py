"""Counts from tallies and deltas: equal to a scan of the signatures after every change.

Each kind of change that moves a count is made through the app's own services, and the
counts read (tallies plus pending deltas) are compared with ``scan_counts``, which counts
the signature rows themselves, before and after the worker's fold.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import event, select, update

from campaign.accounts.models import StaffUser
from campaign.campaigns import editor
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.moderation import services as moderation
from campaign.signatures import counts, erasure
from campaign.signatures.models import CountDelta, CountTally, Signature
from campaign.worker import Worker
from tests.conftest import confirm, confirm_link, deliver, mails, make_user, sign
from tests.factories import make_signature


def _check(app) -> counts.Counts:
    """Counts read equal a scan, and still do after folding every delta."""
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        scanned = counts.scan_counts(campaign.id, counts.counting_until(campaign))
        assert counts.compute_counts(campaign.id) == scanned
        while counts.fold(limit=3):
            pass
        assert db.session.scalar(select(db.func.count(CountDelta.id))) == 0
        assert counts.compute_counts(campaign.id) == scanned
        return scanned


def _signed(client, app, seeded, email, **fields):
    before = len(mails(app))
    assert sign(client, seeded, email=email, **fields).status_code == 303
    deliver(app)
    confirm(client, confirm_link(mails(app)[before]))


@pytest.fixture
def actor(app):
    make_user(app, "mod@example.org", roles=("moderator",))
    return "mod@example.org"


def _act(app, email, action, actor, reason="checked"):
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == actor))
        sig = db.session.scalar(select(Signature).where(Signature.email == email))
        assert moderation.apply_action(sig, action, user, reason)
        db.session.commit()


def test_every_change_moves_the_counts_as_a_scan_would(client, app, seeded, actor, monkeypatch):
    monkeypatch.setitem(app.config, "CONFIRM_MAIL_INTERVAL_SECONDS", 0)
    ids = seeded["demand_ids"]
    _signed(client, app, seeded, "a@example.org", country="CN", demands=[str(ids[0])])
    _signed(client, app, seeded, "b@example.org", country="FR", demands=[str(i) for i in ids])
    _signed(client, app, seeded, "c@example.org", country="CN", demands=[str(ids[1])])
    first = _check(app)
    assert (first.total, first.by_country, first.per_demand[ids[0]]) == (3, {"CN": 2, "FR": 1}, 2)

    # More demands and another country for one signer: moved, not added.
    _signed(client, app, seeded, "a@example.org", country="TW", demands=[str(ids[2])])
    moved = _check(app)
    assert (moved.total, moved.by_country) == (3, {"CN": 1, "FR": 1, "TW": 1})
    assert moved.per_demand[ids[2]] == 2

    _act(app, "b@example.org", "invalidate", actor)
    assert _check(app).total == 2
    _act(app, "b@example.org", "restore", actor)
    assert _check(app).per_demand[ids[3]] == 1

    with app.test_request_context():
        user = db.session.scalar(select(StaffUser))
        criteria = moderation.Criteria(campaign_id=None, country="CN")
        assert moderation.bulk_invalidate(criteria, user, "a burst") == 1
        db.session.commit()
    assert _check(app).by_country == {"FR": 1, "TW": 1}

    with app.test_request_context():
        erasure.erase("a@example.org")
        db.session.commit()
    final = _check(app)
    assert (final.total, final.by_country) == (1, {"FR": 1})


def test_reading_counts_never_touches_the_signatures(app, seeded):
    """The cost of a read does not depend on how many have signed."""
    statements: list[str] = []
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
        for n in range(30):
            make_signature(campaign_id, f"Signer {n}", demand_ids=seeded["demand_ids"][:2])
        db.session.commit()

        def seen(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            result = counts.compute_counts(campaign_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert result.total == 30
    queries = [s for s in statements if not s.startswith("BEGIN")]
    assert len(queries) == 1
    assert "signature" not in queries[0].lower()


def test_a_fold_moves_only_what_it_read(app, seeded):
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        for n in range(5):
            make_signature(campaign.id, f"Signer {n}", country="JP")
        db.session.commit()
        pending = db.session.scalar(select(db.func.count(CountDelta.id)))
        assert counts.fold(limit=4) == 4
        assert db.session.scalar(select(db.func.count(CountDelta.id))) == pending - 4
        assert counts.compute_counts(campaign.id).total == 5
        assert counts.fold() == pending - 4
        tally = db.session.get(CountTally, (campaign.id, "total", ""))
        assert tally.n == 5


def test_counting_paused_then_resumed_counts_what_came_meanwhile(client, app, seeded, actor):
    _signed(client, app, seeded, "a@example.org")
    with app.test_request_context():
        user = db.session.scalar(select(StaffUser))
        moderation.set_switch("counting", True, user)
        db.session.commit()
    _signed(client, app, seeded, "b@example.org")
    assert _check(app).total == 1
    with app.test_request_context():
        moderation.set_switch("counting", False, db.session.scalar(select(StaffUser)))
        db.session.commit()
    assert _check(app).total == 2


def test_a_reopened_campaign_counts_confirmations_made_while_closed(client, app, seeded, actor):
    before = len(mails(app))
    sign(client, seeded, email="late@example.org")
    deliver(app)
    with app.test_request_context():
        user = db.session.scalar(select(StaffUser))
        campaign = db.session.scalar(select(Campaign))
        editor.set_state(campaign, "closed", user)
        db.session.commit()
    # The link still works once the campaign closed, but the frozen count does not move.
    confirm(client, confirm_link(mails(app)[before]))
    assert _check(app).total == 0
    with app.test_request_context():
        campaign = db.session.scalar(select(Campaign))
        editor.set_state(campaign, "open", db.session.scalar(select(StaffUser)))
        db.session.commit()
    assert _check(app).total == 1


def test_the_workers_recount_corrects_drifted_tallies(app, seeded):
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
        make_signature(campaign_id, "Kept Signer", country="US")
        db.session.commit()
        counts.fold()
        db.session.execute(update(CountTally).values(n=CountTally.n + 41))
        db.session.commit()
        assert counts.compute_counts(campaign_id).total == 42
        done = Worker().run_once()
        assert done.recounted
        assert counts.compute_counts(campaign_id) == counts.scan_counts(campaign_id)
        assert counts.compute_counts(campaign_id).total == 1


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL table locks")
def test_two_workers_folding_at_once_fold_each_delta_once(app, seeded):
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
        for n in range(60):
            make_signature(campaign_id, f"Signer {n}", country=("CN", "US")[n % 2],
                           demand_ids=seeded["demand_ids"][:2])  # fmt: skip
        db.session.commit()
    start = threading.Barrier(2, timeout=10)

    def fold_all() -> None:
        with app.app_context():
            start.wait()
            while counts.fold(limit=7):
                pass
            db.session.remove()

    threads = [threading.Thread(target=fold_all) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        assert db.session.scalar(select(db.func.count(CountDelta.id))) == 0
        tally = db.session.get(CountTally, (campaign_id, "total", ""))
        assert tally.n == 60
        assert counts.compute_counts(campaign_id) == counts.scan_counts(campaign_id)
