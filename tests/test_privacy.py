"""The privacy page, erasure by a mailed link, and retention."""

import re
from datetime import timedelta

from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow
from tests.conftest import confirm, confirm_link, deliver, mails, run_jobs, sign, signature_count


def test_privacy_page_says_what_is_stored_and_for_how_long(client, seeded):
    html = client.get("/en/privacy").get_data(as_text=True)
    for phrase in ("What we store", "Why", "Who sees it", "For how long", "Erase your data"):
        assert phrase in html
    assert "30 days" in html


def test_privacy_is_linked_from_the_form_and_every_footer(client, seeded):
    for path in ("/en/", "/zh-hans/", "/en/privacy"):
        assert 'href="/' + path.split("/")[1] + '/privacy"' in client.get(path).get_data(
            as_text=True
        )


def _request_erasure(client, address):
    """Send the erasure form; the worker's look-up follows, as a moment later in production."""
    response = client.post("/en/privacy/erase", data={"email": address})
    run_jobs(client.application)
    return response


def test_erasure_by_mailed_link(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    response = _request_erasure(client, "Jane@Example.org")
    assert response.status_code == 200
    deliver(app)
    message = mails(app)[-1]
    link = re.search(
        r"https?://[^/\s]+(/\S*/erase/\S+)", message.get_body(("plain",)).get_content()
    ).group(1)
    # Opening the link changes nothing; the button does.
    page = client.get(link)
    assert "1 campaign" in page.get_data(as_text=True)
    assert signature_count(app) == 1
    done = client.post(link, headers={"Sec-Fetch-Site": "same-origin"})
    assert "has been erased" in done.get_data(as_text=True)
    assert signature_count(app) == 0
    assert client.get("/api/v1/campaigns").json["campaigns"][0]["signatures"] == 0


def test_erasure_request_answers_the_same_for_unknown_addresses(client, app, seeded):
    sign(client, seeded)
    known = _request_erasure(client, "jane@example.org").get_data(as_text=True)
    unknown = _request_erasure(client, "nobody@example.org").get_data(as_text=True)
    assert known == unknown
    with app.app_context():
        kinds = db.session.scalars(db.select(OutboxMessage.kind)).all()
    assert kinds.count("erase") == 1


def test_erasure_request_with_a_bad_address_is_refused(client, app, seeded):
    response = _request_erasure(client, "not an address")
    assert response.status_code == 422
    assert "Please check this e-mail address." in response.get_data(as_text=True)


def test_purge_clears_old_hashes_and_stale_unconfirmed(client, app, seeded, runner):
    sign(client, seeded, email="old@example.org")
    sign(client, seeded, email="new@example.org")
    with app.app_context():
        old = db.session.scalar(db.select(Signature).where(Signature.email == "old@example.org"))
        old.created_at = old.updated_at = utcnow() - timedelta(days=60)
        db.session.commit()
        db.session.execute(
            db.update(Signature)
            .where(Signature.email == "old@example.org")
            .values(updated_at=utcnow() - timedelta(days=60))
        )
        db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert "deleted 1 unconfirmed" in result.output
    with app.app_context():
        emails = db.session.scalars(db.select(Signature.email)).all()
        assert emails == ["new@example.org"]
        assert db.session.scalar(db.select(Signature.ip_hash)) is not None


def test_erasure_requests_mail_a_mailbox_once_per_interval(client, app, seeded):
    sign(client, seeded, email="jane+a@example.org")
    sign(client, seeded, email="jane+b@example.org")
    for address in ["jane+a@example.org"] * 10 + ["jane+b@example.org"] * 10:
        assert _request_erasure(client, address).status_code == 200
    with app.app_context():
        kinds = db.session.scalars(db.select(OutboxMessage.kind)).all()
    assert kinds.count("erase") == 1
