"""The signing services called directly, as the CLI and jobs would: no HTTP involved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.security import TokenError
from campaign.signatures import services
from campaign.signatures.counts import compute_counts
from campaign.signatures.models import Signature, Submission
from campaign.timeutil import utcnow
from tests.conftest import confirm_link, deliver, mails


def _input(campaign, **overrides) -> services.SignatureInput:
    values = {
        "name": "Li Wei", "email": "li.wei@example.org", "country": "CN", "region": "",
        "affiliation": "", "comment": "", "display": "full", "name_in_letters": False,
        "updates": False, "demand_ids": [campaign.demands[0].id], "locale": "zh_Hans",
    }  # fmt: skip
    values.update(overrides)
    return services.SignatureInput(**values)


def test_a_submission_is_stored_apart_and_counts_only_once_applied(app, seeded):
    with app.test_request_context():
        campaign = db.session.scalar(select(Campaign))
        submission = services.submit_signature(campaign, _input(campaign), ip_hash=None)
        db.session.commit()
        assert submission.state == "pending"
        assert compute_counts(campaign.id).total == 0
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1
    deliver(app)
    token = confirm_link(mails(app)[0]).rsplit("/", 1)[1]
    with app.test_request_context():
        pending = services.open_confirmation(token)
        assert pending.applied is False
        result = services.confirm_signature(token)
        db.session.commit()
        assert result.newly_confirmed == 1
        assert services.confirm_signature(token).newly_confirmed == 0  # idempotent
        campaign = db.session.scalar(select(Campaign))
        assert compute_counts(campaign.id).total == 1


def test_a_deferred_submission_waits_for_the_interval(app, seeded):
    with app.test_request_context():
        campaign = db.session.scalar(select(Campaign))
        services.submit_signature(campaign, _input(campaign), ip_hash=None)
        services.submit_signature(
            campaign, _input(campaign, demand_ids=[campaign.demands[1].id]), ip_hash=None
        )
        db.session.commit()
        times = db.session.scalars(
            select(OutboxMessage.next_attempt_at).order_by(OutboxMessage.id)
        ).all()
        interval = timedelta(seconds=app.config["CONFIRM_MAIL_INTERVAL_SECONDS"])
        assert times[1] - times[0] >= interval - timedelta(seconds=1)
        assert db.session.scalar(select(func.count(Signature.id))) == 1
        assert db.session.scalar(select(func.count(Submission.id))) == 2


def test_an_unknown_token_is_refused(app, seeded):
    with app.test_request_context(), pytest.raises(TokenError):
        services.open_confirmation("not-a-token")


def test_stop_updates_keeps_the_signature(app, seeded):
    from tests.factories import make_signature

    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        sig = make_signature(campaign.id, updates=True, when=utcnow())
        db.session.commit()
        assert services.stop_updates(sig.id) is True
        db.session.commit()
        db.session.refresh(sig)
        assert (sig.updates, sig.state) == (False, "confirmed")


def test_the_signing_request_only_stores_a_received_submission(client, app, seeded):
    from tests.conftest import outbox_count, sign, signature_count

    assert sign(client, seeded, take=False).status_code == 303
    assert (signature_count(app), outbox_count(app)) == (0, 0)
    with app.app_context():
        received = db.session.scalar(select(Submission))
        assert (received.state, received.email, received.signature_id) == (
            "received", "jane@example.org", None,
        )  # fmt: skip
        # The worker takes it: the signature, its mail, and the address leaves the row.
        assert services.take_received() == 1
        assert services.take_received() == 0
        taken = db.session.scalar(select(Submission))
        assert (taken.state, taken.email) == ("pending", "")
        assert taken.signature_id == db.session.scalar(select(Signature.id))
    assert outbox_count(app) == 1


def test_a_submission_that_cannot_be_taken_waits_and_the_others_go_on(
    client, app, seeded, monkeypatch
):
    from tests.conftest import sign

    sign(client, seeded, email="first@example.org", take=False)
    sign(client, seeded, email="second@example.org", take=False)
    real = services._take

    def flaky(campaign, submission, views=None):  # noqa: ANN001, ANN202
        if submission.email == "first@example.org":
            raise RuntimeError("the database went away")
        return real(campaign, submission, views)

    monkeypatch.setattr(services, "_take", flaky)
    with app.app_context():
        assert services.take_received() == 1
        states = dict(db.session.execute(select(Submission.id, Submission.state)).all())
    assert sorted(states.values()) == ["pending", "received"]
    monkeypatch.setattr(services, "_take", real)
    with app.app_context():
        assert services.take_received() == 1
        assert db.session.scalar(select(func.count(Signature.id))) == 2


def test_erasing_before_the_worker_took_the_submission_leaves_nothing(client, app, seeded):
    from campaign import jobs
    from campaign.signatures import erasure
    from campaign.worker import load_handlers
    from tests.conftest import outbox_count, sign, signature_count

    sign(client, seeded, take=False)
    # Signed a moment ago: the erasure form knows the address already.
    client.post("/en/privacy/erase", data={"email": "jane@example.org"})
    with app.app_context():
        load_handlers()
        jobs.run_due()  # the worker's look-up, before it takes the submission
        assert db.session.scalar(select(OutboxMessage.kind)) == "erase"
    assert signature_count(app) == 0
    with app.test_request_context():
        erasure.erase("jane@example.org")
        db.session.commit()
        assert db.session.scalar(select(func.count(Submission.id))) == 0
        assert services.take_received() == 0
    assert (signature_count(app), outbox_count(app)) == (0, 0)


def test_the_confirming_request_marks_the_press_and_the_worker_applies_it(client, app, seeded):
    from tests.conftest import sign

    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    assert client.post(link, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303
    assert client.post(link).status_code == 303  # pressed twice: once in effect
    with app.app_context():
        submission = db.session.scalar(select(Submission))
        assert submission.state == "pressed"
        pressed_at = submission.applied_at
        assert db.session.scalar(select(Signature.state)) == "unconfirmed"
    thanks = client.get(link).get_data(as_text=True)
    assert "your signature is confirmed" in thanks
    assert client.get(f"/api/v1/campaigns/{seeded['slug']}").json["signatures"] == 0
    with app.app_context():
        assert services.apply_pressed() == 1
        assert services.apply_pressed() == 0
        sig = db.session.scalar(select(Signature))
        assert (sig.state, sig.confirmed_at) == ("confirmed", pressed_at)
    assert client.get(f"/api/v1/campaigns/{seeded['slug']}").json["signatures"] == 1


def test_the_purge_keeps_what_waits_for_the_worker(client, app, seeded):
    from campaign.privacy import purge
    from tests.conftest import sign

    sign(client, seeded, email="waiting@example.org", take=False)
    with app.app_context():
        db.session.execute(
            Submission.__table__.update().values(created_at=utcnow() - timedelta(days=400))
        )
        db.session.commit()
        purge()
        assert db.session.scalar(select(Submission.state)) == "received"


def test_tagged_variants_of_one_mailbox_get_one_mail_per_interval(client, app, seeded):
    from tests.conftest import sign

    for n in range(5):
        assert sign(client, seeded, email=f"jane+{n}@example.org").status_code == 303
    deliver(app)
    assert len(mails(app)) == 1  # the others wait, one interval apart
    with app.app_context():
        times = sorted(db.session.scalars(select(OutboxMessage.next_attempt_at)).all())
    interval = timedelta(seconds=app.config["CONFIRM_MAIL_INTERVAL_SECONDS"])
    assert all(b - a >= interval for a, b in zip(times, times[1:], strict=False))
    # Another person's mailbox is not held back.
    sign(client, seeded, email="someone.else@example.org")
    deliver(app)
    assert len(mails(app)) == 2
