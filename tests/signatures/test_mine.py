"""A supporter's own page, ``/<lang>/my/<token>``: see, change, withdraw, download, erase."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.packets import snapshot as snap
from campaign.signatures.counts import counts_for
from campaign.signatures.models import Signature
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken
from tests.conftest import SEED_SLUG, confirm, confirm_link, deliver, mails, sign
from tests.factories import make_signature

ADDRESS = "mei@example.org"
NAME = "Lin Mei"
MY_LINK = re.compile(r"https?://[^/\s]+(/[a-z-]+/my/[A-Za-z0-9_-]+)")


def _my_link(message) -> str:  # noqa: ANN001 - an e-mail message
    text = message.get_body(("plain",)).get_content()
    found = MY_LINK.search(text)
    assert found, text
    assert found.group(1) in message.get_body(("html",)).get_content()
    return found.group(1)


@pytest.fixture
def signed(client, app, seeded) -> dict:
    """Lin Mei signed every demand, named in letters, with updates, and confirmed.

    The value holds the page link from the confirmation mail and the thank-you page.
    """
    sign(client, seeded, name=NAME, email=ADDRESS, name_in_letters="y", updates="y")
    deliver(app)
    [message] = mails(app)
    from_mail = _my_link(message)
    thanks = confirm(client, confirm_link(message)).get_data(as_text=True)
    found = re.search(r'href="(/en/my/[A-Za-z0-9_-]+)"', thanks)
    assert found, thanks
    deliver(app)
    return {"mail": from_mail, "thanks": found.group(1), "demand_ids": seeded["demand_ids"]}


def _counts(app):
    with app.app_context():
        return counts_for(db.session.scalar(select(Campaign)))


def _sig(app) -> Signature:
    with app.app_context():
        sig = db.session.scalar(select(Signature).where(Signature.email == ADDRESS))
        db.session.expunge(sig)
        return sig


def _events(app) -> list[ModerationEvent]:
    with app.app_context():
        rows = db.session.scalars(select(ModerationEvent).order_by(ModerationEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_the_mail_and_the_thank_you_page_lead_to_the_supporters_own_page(client, app, signed):
    for link in (signed["mail"], signed["thanks"]):
        page = client.get(link)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert NAME in html
        assert ADDRESS in html
        assert "Your signature is confirmed" in html
        assert html.count('name="demand"') == len(signed["demand_ids"])
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Robots-Tag"].startswith("noindex")
        assert '<meta name="robots" content="noindex, nofollow">' in html
    # The thank-you page shows the same link every time; it was made when the button was
    # pressed, and only its digest is stored.
    again = confirm(client, confirm_link(mails(app)[0])).get_data(as_text=True)
    assert signed["thanks"] in again
    token = signed["thanks"].rsplit("/", 1)[1]
    with app.app_context():
        digests = db.session.scalars(select(LinkToken.digest)).all()
    assert token not in digests
    assert all(token not in d for d in digests)


def test_opening_the_page_changes_nothing(client, app, signed):
    before = _sig(app).updated_at
    events = len(_events(app))
    for _ in range(2):
        assert client.get(signed["mail"]).status_code == 200
        assert client.head(signed["mail"]).status_code == 200
        assert client.get(signed["mail"] + "/data.json").status_code == 200
        assert client.get(signed["mail"] + "/erase").status_code == 200
    assert _sig(app).updated_at == before
    assert len(_events(app)) == events
    assert _counts(app).total == 1


def test_an_unknown_and_an_erased_link_get_the_same_answer(client, app, signed):
    token = signed["mail"].rsplit("/", 1)[1]
    unknown = client.get("/en/my/" + "x" * len(token))
    client.post(signed["mail"] + "/erase")
    erased = client.get(signed["mail"])
    assert unknown.status_code == erased.status_code == 404
    # The same page; only the language links, which repeat the address, differ.
    assert unknown.get_data(as_text=True) == erased.get_data(as_text=True).replace(
        token, "x" * len(token)
    )
    assert erased.headers["Cache-Control"] == "no-store"
    for path in ("/data.json", "/erase"):
        assert client.get(signed["mail"] + path).status_code == 404
    assert client.post(signed["mail"] + "/choices", data={"display": "full"}).status_code == 404


def test_withdrawing_one_demand_moves_only_its_count(client, app, signed):
    first, second = signed["demand_ids"][:2]
    before = _counts(app)
    done = client.post(signed["mail"] + "/withdraw", data={"demand": second})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "no longer counts for that demand" in page
    after = _counts(app)
    assert after.total == before.total == 1
    assert after.per_demand.get(second, 0) == before.per_demand[second] - 1
    assert after.per_demand[first] == before.per_demand[first]
    assert page.count('name="demand"') == len(signed["demand_ids"]) - 1
    api = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert {d["id"]: d["signatures"] for d in api["demands"]}[second] == 0
    [event] = [e for e in _events(app) if e.action == "supporter_withdrew_demand"]
    assert event.actor_label == "supporter"
    assert event.actor_id is None
    assert json.loads(event.details) == {"demand_id": second}
    assert NAME not in event.details
    assert ADDRESS not in event.details


def test_withdrawing_a_demand_not_signed_or_the_last_one_is_refused(client, app, seeded):
    with app.app_context():
        cid = db.session.scalar(select(Campaign.id))
        make_signature(cid, "Solo", email=ADDRESS, demand_ids=seeded["demand_ids"][:1])
        db.session.commit()
    sign(client, seeded, email=ADDRESS, demands=[str(seeded["demand_ids"][0])])
    deliver(app)
    link = _my_link(mails(app)[-1])
    refused = client.post(link + "/withdraw", data={"demand": seeded["demand_ids"][0]})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "the only demand you signed" in html
    assert 'id="error-summary"' in html
    missing = client.post(link + "/withdraw", data={"demand": seeded["demand_ids"][3]})
    assert missing.status_code == 422
    assert "You have not signed this demand." in missing.get_data(as_text=True)
    garbage = client.post(link + "/withdraw", data={"demand": "one"})
    assert garbage.status_code == 422
    assert _counts(app).per_demand.get(seeded["demand_ids"][0]) == 1


def test_changing_choices_reaches_the_page_the_packets_and_the_updates(client, app, signed):
    demand = signed["demand_ids"][0]
    with app.app_context():
        assert snap.demand_counts([demand], utcnow())[demand] == (1, 1)
    assert NAME in client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)

    done = client.post(signed["mail"] + "/choices", data={"display": "initials"})
    assert done.status_code == 303
    assert "your choices are saved" in client.get(done.headers["Location"]).get_data(as_text=True)
    sig = _sig(app)
    assert (sig.display, sig.name_in_letters, sig.updates) == ("initials", False, False)
    campaign_page = client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    assert NAME not in campaign_page
    assert "L. M." in campaign_page
    with app.app_context():
        assert snap.demand_counts([demand], utcnow())[demand] == (1, 0)  # counted, not named
        from campaign.campaigns.updates import recipient_counts

        assert recipient_counts(db.session.scalar(select(Campaign))) == {}
    [event] = [e for e in _events(app) if e.action == "supporter_changed_choices"]
    assert json.loads(event.details) == {
        "display": "initials",
        "name_in_letters": False,
        "updates": False,
    }
    # Saving the same choices again records nothing.
    client.post(signed["mail"] + "/choices", data={"display": "initials"})
    assert len([e for e in _events(app) if e.action == "supporter_changed_choices"]) == 1


def test_a_bad_choice_is_refused_in_place(client, app, signed):
    page = client.post(signed["mail"] + "/choices", data={"display": "everything"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Please choose how your name may appear." in html
    assert 'aria-describedby="display-error"' in html
    assert _sig(app).display == "full"


def test_the_download_holds_what_is_stored_and_is_never_cached(client, app, signed):
    response = client.get(signed["mail"] + "/data.json")
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="signature-{SEED_SLUG}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json
    assert data["signature"]["email"] == ADDRESS
    assert data["signature"]["name"] == NAME
    assert data["signature"]["state"] == "confirmed"
    assert data["signature"]["name_in_letters"] is True
    assert [d["position"] for d in data["demands"]] == list(range(1, len(signed["demand_ids"]) + 1))
    assert all(d["confirmed_at"] for d in data["demands"])
    assert data["campaign"]["slug"] == SEED_SLUG


def test_erasing_from_the_page_removes_everything_and_the_counts_follow(client, app, signed):
    ask = client.get(signed["mail"] + "/erase").get_data(as_text=True)
    assert "signature on 1 campaign" in ask
    done = client.post(signed["mail"] + "/erase")
    assert "Your data has been erased" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0
    assert _counts(app).total == 0
    assert NAME not in client.get(f"/en/c/{SEED_SLUG}/").get_data(as_text=True)
    [event] = [e for e in _events(app) if e.action == "supporter_erased"]
    assert (event.actor_label, json.loads(event.details)) == ("supporter", {"signatures": 1})


def test_the_page_refuses_another_sites_form(client, signed):
    response = client.post(
        signed["mail"] + "/choices",
        data={"display": "anonymous"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


def test_the_page_speaks_the_links_language(client, app, seeded):
    sign(client, seeded, lang="zh-hant", email=ADDRESS)
    deliver(app)
    link = _my_link(mails(app)[0])
    assert link.startswith("/zh-hant/my/")
    html = client.get(link).get_data(as_text=True)
    assert "您的簽名" in html
    assert "尚未確認" in html


def test_an_update_mail_carries_a_working_link_to_the_page(client, app, signed, organiser,
                                                            monkeypatch):  # fmt: skip
    with app.app_context():
        cid = db.session.scalar(select(Campaign.id))
    data = {"csrf_token": organiser, "subject-en": "News", "body-en": "We delivered it."}
    detail = client.post(f"/staff/campaigns/{cid}/updates", data=data).headers["Location"]
    monkeypatch.setitem(app.config, "UPDATE_MAIL_PER_MINUTE", 6_000_000)
    client.post(detail + "/send", data={"csrf_token": organiser})
    deliver(app)
    [update] = [m for m in mails(app) if m["Subject"] == "News"]
    link = _my_link(update)
    assert link not in (signed["mail"], signed["thanks"])  # a token of its own
    assert NAME in client.get(link).get_data(as_text=True)
