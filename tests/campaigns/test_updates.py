"""Updates to supporters: recipients, languages, pacing, progress, unsubscribe."""

import re
from datetime import timedelta

import pytest

from campaign.campaigns.models import CampaignUpdate
from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow
from tests.conftest import SEED_SLUG, deliver, mails
from tests.factories import make_signature


def supporters(app, rows):
    """Insert signatures: (email, state, updates, locale)."""
    with app.app_context():
        from campaign.campaigns.models import Campaign

        cid = db.session.scalar(db.select(Campaign.id))
        for email, state, updates, locale in rows:
            make_signature(cid, email.split("@")[0], email=email, state=state, updates=updates,
                           locale=locale)  # fmt: skip
        db.session.commit()
        return cid


def write(client, token, cid, **texts):
    data = {"csrf_token": token}
    for loc, (subject, body) in texts.items():
        data[f"subject-{loc}"], data[f"body-{loc}"] = subject, body
    return client.post(f"/staff/campaigns/{cid}/updates", data=data)


RECIPIENTS = [
    ("en@example.org", "confirmed", True, "en"),
    ("hans@example.org", "confirmed", True, "zh_Hans"),
    ("hant@example.org", "confirmed", True, "zh_Hant"),
    ("no-updates@example.org", "confirmed", False, "en"),
    ("unconfirmed@example.org", "unconfirmed", True, "en"),
    ("held@example.org", "held", True, "en"),
    ("invalid@example.org", "invalidated", True, "en"),
]


def test_recipients_exclude_each_kind_and_get_their_language(app, client, organiser, monkeypatch):
    cid = supporters(app, RECIPIENTS)
    response = write(client, organiser, cid, en=("Delivered", "We *delivered* it."),
                     zh_Hans=("已递交", "我们已经递交。"))  # fmt: skip
    assert response.status_code == 303
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 supporters will receive it." in detail
    assert "<em>delivered</em>" in detail  # preview
    monkeypatch.setitem(app.config, "UPDATE_MAIL_PER_MINUTE", 6_000_000)  # all due at once
    client.post(response.headers["Location"] + "/send", data={"csrf_token": organiser})
    with app.app_context():  # the request only asked the worker; nothing is queued yet
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
        assert db.session.scalar(db.select(CampaignUpdate.state)) == "sending"
    deliver(app)  # the worker queues the messages, then delivers them
    got = {m["To"]: m for m in mails(app)}
    assert set(got) == {"en@example.org", "hans@example.org", "hant@example.org"}
    assert got["hans@example.org"]["Subject"] == "已递交"
    assert got["hant@example.org"]["Subject"] == "Delivered"  # not written in zh_Hant: first
    assert "List-Unsubscribe=One-Click" in got["en@example.org"]["List-Unsubscribe-Post"]
    with app.app_context():
        item = db.session.scalar(db.select(CampaignUpdate))
        assert item.state == "sent"
        assert item.recipients == 3
        assert item.locales == "en,zh_Hans"


def test_an_empty_update_is_refused(app, client, organiser):
    cid = supporters(app, RECIPIENTS[:1])
    response = write(client, organiser, cid, en=("Subject only", ""))
    assert response.status_code == 422
    assert "at least one language" in response.get_data(as_text=True)


def test_test_send_goes_to_the_organiser_only(app, client, organiser):
    cid = supporters(app, RECIPIENTS)
    location = write(client, organiser, cid, en=("Hello", "Body")).headers["Location"]
    client.post(location + "/test", data={"locale": "zh_Hant", "csrf_token": organiser})
    deliver(app)
    [message] = mails(app)
    assert message["To"] == "org@example.org"
    assert message["Subject"] == "[TEST] Hello"
    with app.app_context():
        assert db.session.scalar(db.select(CampaignUpdate.state)) == "draft"


def test_sending_is_paced_and_progress_is_shown(app, client, organiser, monkeypatch):
    cid = supporters(app, [(f"s{i}@example.org", "confirmed", True, "en") for i in range(6)])
    monkeypatch.setitem(app.config, "UPDATE_MAIL_PER_MINUTE", 2)
    location = write(client, organiser, cid, en=("Hello", "Body")).headers["Location"]
    client.post(location + "/send", data={"csrf_token": organiser})
    assert "0 of 6 delivered" in client.get(location).get_data(as_text=True)
    from campaign import jobs

    with app.app_context():
        jobs.run_due()  # the worker queues the messages
    with app.app_context():
        times = db.session.scalars(
            db.select(OutboxMessage.next_attempt_at).order_by(OutboxMessage.id)
        ).all()
    gaps = {round((b - a).total_seconds()) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {30}
    deliver(app)  # only the first is due now
    page = client.get(location).get_data(as_text=True)
    assert "1 of 6 delivered, 5 waiting, 0 failed." in page
    assert 'http-equiv="refresh"' in page
    with app.app_context():
        db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(1)))
        db.session.commit()
    deliver(app)
    page = client.get(location).get_data(as_text=True)
    assert "6 of 6 delivered" in page
    assert 'http-equiv="refresh"' not in page
    assert client.post(location + "/send", data={"csrf_token": organiser}).status_code == 303
    assert len(mails(app)) == 6  # sending twice is refused


def _unsubscribe_path(message):
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/\S+/unsubscribe/\S+)", text).group(1)


def _sent_update_path(app, client, organiser):
    cid = supporters(app, RECIPIENTS[:1])
    location = write(client, organiser, cid, en=("Hello", "Body")).headers["Location"]
    client.post(location + "/send", data={"csrf_token": organiser})
    deliver(app)
    message = mails(app)[0]
    path = _unsubscribe_path(message)
    assert path in message["List-Unsubscribe"]
    return path


def _wants_updates(app) -> bool:
    with app.app_context():
        return db.session.scalar(db.select(Signature.updates))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_opening_the_unsubscribe_link_changes_nothing(app, client, organiser, method):
    path = _sent_update_path(app, client, organiser)
    response = app.test_client().open(path, method=method)
    assert response.status_code == 200
    if method == "GET":
        assert 'method="post"' in response.get_data(as_text=True)
    assert _wants_updates(app) is True


@pytest.mark.parametrize("body", [{}, {"List-Unsubscribe": "One-Click"}])
def test_unsubscribe_by_button_and_one_click_keeps_the_signature(app, client, organiser, body):
    path = _sent_update_path(app, client, organiser)
    public = app.test_client()
    response = public.post(path, data=body)
    assert response.status_code == 200
    assert "Your signature stays" in response.get_data(as_text=True)
    assert "/privacy#erase" in response.get_data(as_text=True)
    assert public.post(path, data=body).status_code == 200  # idempotent
    assert _wants_updates(app) is False
    with app.app_context():
        assert db.session.scalar(db.select(Signature.state)) == "confirmed"
    assert public.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 1


def test_forged_unsubscribe_link_is_refused(client, seeded):
    assert client.get("/en/unsubscribe/forged.token.here").status_code == 404


def test_sent_updates_are_the_campaigns_news(app, client, organiser):
    cid = supporters(app, RECIPIENTS[:1])
    location = write(client, organiser, cid, en=("Letters delivered", "We met the *officials*."),
                     zh_Hant=("信件已遞交", "我們見了官員。")).headers["Location"]  # fmt: skip
    public = app.test_client()
    assert "Letters delivered" not in public.get("/en/").get_data(as_text=True)  # a draft
    client.post(location + "/send", data={"csrf_token": organiser})
    english = public.get("/en/").get_data(as_text=True)
    assert "Letters delivered" in english
    assert "<em>officials</em>" in english
    assert "信件已遞交" in public.get("/zh-hant/").get_data(as_text=True)
