"""The attacks of the trust review, one test (or a few) per numbered finding.

Each reproduces what an attacker did against the earlier version and checks that it no
longer works. README, "Security and privacy", names these tests beside each promise.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaign.extensions import db
from campaign.mail.models import OutboxMessage
from campaign.signatures.models import Signature, Submission
from campaign.timeutil import utcnow
from tests.conftest import (
    SEED_SLUG,
    confirm,
    confirm_link,
    deliver,
    erase_by_link,
    login,
    mails,
    make_user,
    sign,
    token_from,
)

API = f"/api/v1/campaigns/{SEED_SLUG}"


def _let_mail_interval_pass(app) -> None:
    """Move every deferred confirmation and every signature's last mail into the past."""
    interval = timedelta(seconds=app.config["CONFIRM_MAIL_INTERVAL_SECONDS"] + 1)
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "queued")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.execute(update(Signature).values(mailed_at=utcnow() - interval))
        db.session.commit()


def _signature(app, email="jane@example.org") -> Signature:
    with app.app_context():
        sig = db.session.scalar(select(Signature).where(Signature.email == email))
        db.session.expunge_all()
        return sig


def _erase(client, app, address: str) -> None:
    erase_by_link(client, app, address)


# 1. A stranger confirms for an address they do not control (ids reused after erasure).


def test_1_old_link_of_an_erased_signature_cannot_confirm_a_new_one(client, app, seeded):
    sign(client, seeded, email="attacker@example.org", name_in_letters="y")
    deliver(app)
    attackers_link = confirm_link(mails(app)[0])
    old_id = _signature(app, "attacker@example.org").id
    _erase(client, app, "attacker@example.org")
    sign(client, seeded, email="victim@example.org", name="Victim", name_in_letters="y")

    victim = _signature(app, "victim@example.org")
    assert victim.id > old_id  # ids are never reused
    assert client.get(attackers_link).status_code == 404
    assert client.post(attackers_link).status_code == 404
    assert _signature(app, "victim@example.org").state == "unconfirmed"
    assert client.get(API).json["signatures"] == 0


# 2. An unconfirmed signer's details are rewritten before they click.


def test_2_a_later_submission_cannot_rewrite_what_an_earlier_link_confirms(client, app, seeded):
    sign(client, seeded, name="Real Victim", region="", comment="", name_in_letters="")
    deliver(app)
    victims_link = confirm_link(mails(app)[0])
    sign(client, seeded, name="Attacker Choice", region="Lhasa", comment="I confess",
         name_in_letters="y")  # fmt: skip

    # The confirm page shows, and the button applies, exactly what the victim typed.
    page = client.get(victims_link).get_data(as_text=True)
    assert "Real Victim" in page
    assert "Lhasa" not in page
    confirm(client, victims_link)
    sig = _signature(app)
    assert (sig.name, sig.region, sig.comment, sig.name_in_letters) == (
        "Real Victim", "", "", False,
    )  # fmt: skip

    # The attacker's submission goes to the address's owner alone, showing its details.
    _let_mail_interval_pass(app)
    deliver(app)
    second = mails(app)[1]
    assert second["To"] == "jane@example.org"
    assert "Lhasa" in second.get_body(("plain",)).get_content()


def test_2_details_of_a_confirmed_signer_change_only_through_their_own_link(client, app, seeded):
    sign(client, seeded, name="Jane Doe")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    sign(client, seeded, name="Somebody Else", region="Lhasa")
    assert _signature(app).name == "Jane Doe"
    _let_mail_interval_pass(app)
    deliver(app)
    confirm(client, confirm_link(mails(app)[1]))  # the owner chose to open it
    sig = _signature(app)
    assert (sig.name, sig.region) == ("Somebody Else", "Lhasa")


# 3. Mailed links follow the request's Host.


def test_3_mailed_links_ignore_the_host_header(client, app, seeded):
    from tests.conftest import form_data

    data = form_data(seeded["demand_ids"])
    response = client.post(f"/en/c/{SEED_SLUG}/sign", data=data, headers={"Host": "evil.example"})
    assert response.status_code == 303
    deliver(app)
    body = mails(app)[0].get_body(("plain",)).get_content()
    assert "evil.example" not in body
    assert f"{app.config['PUBLIC_URL']}/en/confirm/" in body
    thanks = confirm(client, confirm_link(mails(app)[0])).get_data(as_text=True)
    assert f'value="{app.config["PUBLIC_URL"]}/en/c/{SEED_SLUG}/"' in thanks


def test_3_erasure_links_ignore_the_host_header(client, app, seeded):
    sign(client, seeded)
    response = client.post("/en/privacy/erase", headers={"Host": "evil.example"},
                           data={"email": "jane@example.org"})  # fmt: skip
    assert response.status_code == 200
    deliver(app)
    [message] = [m for m in mails(app) if "/erase/" in m.get_body(("plain",)).get_content()]
    body = message.get_body(("plain",)).get_content()
    assert "evil.example" not in body
    assert f"{app.config['PUBLIC_URL']}/en/erase/" in body


def test_3_a_packet_built_from_a_hostile_request_prints_the_public_address(app, seeded):
    from campaign.packets import builder
    from campaign.visits.models import Visit
    from tests.packets.helpers import add_visit

    with app.test_request_context("/", base_url="http://evil.example"):
        from campaign.campaigns.models import Campaign

        visit = add_visit(db.session.scalar(select(Campaign)))
        build = builder.create_build(db.session.get(Visit, visit.id), None)
        assert build.base_url == app.config["PUBLIC_URL"]
        db.session.rollback()


def test_3_requests_for_other_hosts_are_refused(client, app, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["petition.example.org"])
    assert client.get("/en/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/en/", headers={"Host": "petition.example.org"}).status_code == 200


# 4. Open redirect and a 500 on the language switch.


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "/%0a", "/%0d%0aSet-Cookie:x=1", "//evil.example", "/\\evil.example",
     "https://evil.example/", "/%E2%80%AE/x", "evil.example", "/" + "a" * 3000],
)  # fmt: skip
def test_4_language_switch_never_leaves_the_site(client, target):
    response = client.get(f"/language/en?next={target}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_4_language_switch_keeps_a_same_site_path(client):
    response = client.get("/language/zh-hant?next=/staff/login%3Fnext%3D/staff/")
    assert response.headers["Location"] == "/staff/login?next=/staff/"


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/en/", "/%0a"])
def test_4_staff_login_redirects_only_inside_the_staff_area(client, app, target):
    make_user(app)
    token = token_from(client, "/staff/login")
    response = client.post(f"/staff/login?next={target}", data={
        "email": "admin@example.org", "password": "correct horse battery", "csrf_token": token,
    })  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


# 5. Mail scanners confirm and unsubscribe.


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_5_fetching_the_confirmation_link_confirms_nothing(client, app, seeded, method):
    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    for _ in range(3):
        assert client.open(link, method=method).status_code == 200
    assert _signature(app).state == "unconfirmed"
    with app.app_context():
        assert db.session.scalar(select(Submission.state)) == "pending"
    assert client.get(API).json["signatures"] == 0


def test_5_the_confirm_page_is_one_button_that_works_without_javascript(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    page = client.get(confirm_link(mails(app)[0])).get_data(as_text=True)
    form = re.search(r"<form method=\"post\">(.*?)</form>", page, re.S)
    assert form
    assert form.group(1).count("<button") == 1
    assert "<script" not in page


# 6. Demands added within the mail interval are lost.


def test_6_demands_added_within_the_interval_go_into_the_next_mail(client, app, seeded):
    ids = seeded["demand_ids"]
    sign(client, seeded, demands=[str(ids[0])])
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    sign(client, seeded, demands=[str(ids[1])])
    sign(client, seeded, demands=[str(ids[2])])
    deliver(app)
    assert len(mails(app)) == 1  # one mail per interval: nothing new is sent yet
    _let_mail_interval_pass(app)
    deliver(app)
    assert len(mails(app)) == 2  # both submissions in one mail
    body = mails(app)[1].get_body(("plain",)).get_content()
    with app.app_context():
        from campaign.campaigns.models import Demand

        titles = [db.session.get(Demand, i).title for i in ids[:3]]
    assert titles[1] in body
    assert titles[2] in body
    confirm(client, confirm_link(mails(app)[1]))
    counts = [d["signatures"] for d in client.get(API).json["demands"][:4]]
    assert counts == [1, 1, 1, 0]


# 7. Logout does not end a staff session; flash messages carry the e-mail.


def test_7_a_cookie_copied_before_logout_stops_working(app, client):
    make_user(app)
    login(client)
    assert client.get("/staff/").status_code == 200
    stolen = client.get_cookie("session").value
    client.post("/staff/logout", data={"csrf_token": token_from(client, "/staff/")})
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/staff/", headers={"User-Agent": "another browser"})
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_7_session_cookies_carry_no_email(app, client, seeded):
    from flask.sessions import SecureCookieSessionInterface

    make_user(app, "org@example.org", roles=("organiser",))
    login(client, "org@example.org")
    token = token_from(client, "/staff/")
    with app.app_context():
        from campaign.campaigns.models import Campaign

        cid = db.session.scalar(select(Campaign.id))
    created = client.post(f"/staff/campaigns/{cid}/updates", data={
        "csrf_token": token, "subject-en": "News", "body-en": "Text",
    })  # fmt: skip
    client.post(created.headers["Location"] + "/test", data={"csrf_token": token, "locale": "en"})
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    session = serializer.loads(client.get_cookie("session").value)
    assert session.get("_flashes"), "the test needs a flash message in the cookie"
    assert "org@example.org" not in repr(session)


# 8. Personal data in URLs and logs.


def test_8_no_link_carries_the_address(client, app, seeded):
    sign(client, seeded)
    client.post("/en/privacy/erase", data={"email": "jane@example.org"})
    deliver(app)
    encoded = {
        base64.urlsafe_b64encode(b"jane@example.org").decode().rstrip("="),
        base64.b64encode(b'"jane@example.org"').decode().rstrip("="),
        "jane", "jane%40example.org",
    }  # fmt: skip
    for message in mails(app):
        body = message.get_body(("plain",)).get_content()
        for url in re.findall(r"https?://\S+", body):
            assert not any(e in url for e in encoded), url


# 10. Input that breaks mail or pages.


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "\u200b\u200b"}, "name"),
        ({"name": "\u2060 \ufeff"}, "name"),
        ({"name": "Ann\u202egnirts"}, "name"),
        ({"name": "Ann\u2066x\u2069"}, "name"),
        ({"region": "Lhasa\r\nBcc: x@evil.example"}, "region"),
        ({"affiliation": "\u202dNGO"}, "affiliation"),
        ({"comment": "fine\u202e text"}, "comment"),
    ],
)
def test_10_invisible_and_reversed_signer_text_is_refused(client, app, seeded, fields, field):
    response = sign(client, seeded, **fields)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Submission.id)) is None


@pytest.mark.parametrize("name", ["Raj\u200dan", "می\u200cخواهم", "👩\u200d👩\u200d👧"])
def test_10_joiners_that_scripts_need_are_accepted(client, seeded, name):
    assert sign(client, seeded, name=name).status_code == 303


def test_10_signer_text_is_isolated_on_pages(client, app, seeded):
    sign(client, seeded, name="عربي Name", comment="Hello")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    page = client.get("/en/").get_data(as_text=True)
    assert "<bdi>عربي Name</bdi>" in page


def test_10_a_line_break_in_an_update_subject_is_refused(app, client, organiser):
    with app.app_context():
        from campaign.campaigns.models import Campaign

        cid = db.session.scalar(select(Campaign.id))
    response = client.post(f"/staff/campaigns/{cid}/updates", data={
        "csrf_token": organiser, "subject-en": "News\r\nBcc: all@evil.example", "body-en": "Hi",
    })  # fmt: skip
    assert response.status_code == 422
    assert "on one line" in response.get_data(as_text=True)
    # Shown back on one line: an <input> cannot hold a line break (valid HTML).
    assert 'value="News Bcc: all@evil.example"' in response.get_data(as_text=True)
    long = client.post(f"/staff/campaigns/{cid}/updates", data={
        "csrf_token": organiser, "subject-en": "x" * 201, "body-en": "Hi",
    })  # fmt: skip
    assert long.status_code == 422  # refused, not silently cut


def test_10_a_line_break_in_a_translated_title_is_refused(app, client, organiser):
    with app.app_context():
        from campaign.campaigns.models import Campaign

        cid = db.session.scalar(select(Campaign.id))
    response = client.post(f"/staff/campaigns/{cid}/translate/zh_Hant", data={
        "csrf_token": organiser, "title": "標題\n第二行", "body": "",
    })  # fmt: skip
    assert response.status_code == 422
    with app.app_context():
        from campaign.campaigns.models import CampaignTranslation

        titles = db.session.scalars(select(CampaignTranslation.title)).all()
    assert "標題\n第二行" not in titles


def test_10_a_stored_subject_with_a_line_break_still_delivers(app, seeded):
    from campaign.mail.outbox import enqueue

    with app.test_request_context():
        row = enqueue("x@example.org", "Line one\r\nBcc: y@evil.example", "mail/erase", "erase",
                      link="https://petition.example.org/", days=2)  # fmt: skip
        db.session.commit()
    deliver(app)
    [message] = mails(app)
    assert message["Subject"] == "Line one Bcc: y@evil.example"
    assert message["Bcc"] is None
    assert row is not None


@pytest.mark.parametrize(
    "url",
    ["/staff/moderation?page=%C2%B2", "/staff/moderation?page=" + "9" * 25,
     "/staff/moderation?campaign=" + "9" * 25, "/staff/audit?page=%C2%B2",
     "/staff/audit?page=-1", "/staff/moderation?page=%D9%A3"],
)  # fmt: skip
def test_10_odd_numbers_in_query_strings_are_not_500s(client, organiser, url, app):
    make_user(app, "mod@example.org", roles=("moderator", "admin"))
    login(client, "mod@example.org")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/staff/campaigns/" + "9" * 25, "/staff/visits/" + "9" * 25 + "/packets",
     "/staff/officials/99999999999999999999999/edit"],
)  # fmt: skip
def test_10_huge_ids_in_paths_are_404s(client, organiser, url):
    assert client.get(url).status_code == 404


def test_10_far_dates_are_refused_with_a_message(client, organiser):
    response = client.post("/staff/visits/new", data={
        "csrf_token": organiser, "slug": "far-visit", "title": "Far", "place": "X",
        "starts_on": "9999-12-31", "ends_on": "9999-12-31", "deadline": "9999-12-31",
        "paper": "A4",
    })  # fmt: skip
    assert response.status_code == 422
    assert "Please give a date between" in response.get_data(as_text=True)


def test_10_far_export_dates_are_refused(client, organiser, app):
    response = client.post(f"/staff/campaigns/{SEED_SLUG}/export", data={
        "csrf_token": organiser, "fmt": "csv", "state": "confirmed",
        "signed_until": "9999-12-31",
    })  # fmt: skip
    assert response.status_code == 422
    assert "Please give a date between" in response.get_data(as_text=True)


def test_hsts_only_where_configured(client, app, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    monkeypatch.setitem(app.config, "HSTS_SECONDS", 31536000)
    assert client.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"
