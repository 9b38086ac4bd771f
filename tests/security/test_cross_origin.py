"""Cross-site posting: public forms carry no token, the browser's headers decide.

Every unsafe request sent by another site's page is refused with 403 before any view runs,
and nothing is stored or mailed; staff forms need their session token as well.
"""

import pytest

from campaign.crossorigin import is_cross_site, site_origins
from tests.conftest import (
    PASSWORD,
    confirm_link,
    deliver,
    mails,
    make_user,
    outbox_count,
    sign,
    signature_count,
    token_from,
)

CROSS = {"Sec-Fetch-Site": "cross-site"}


def test_erasure_request_from_another_site_mails_nothing(client, app, seeded):
    sign(client, seeded)
    queued = outbox_count(app)
    response = client.post("/en/privacy/erase", data={"email": "jane@example.org"}, headers=CROSS)
    assert response.status_code == 403
    assert outbox_count(app) == queued


def test_erasure_link_pressed_from_another_site_erases_nothing(client, app, seeded):
    sign(client, seeded)
    client.post("/en/privacy/erase", data={"email": "jane@example.org"})
    deliver(app)
    body = next(m for m in mails(app) if "/erase/" in m.get_body(("plain",)).get_content())
    link = "/en/erase/" + body.get_body(("plain",)).get_content().split("/erase/")[1].split()[0]
    assert client.post(link, headers=CROSS).status_code == 403
    assert signature_count(app) == 1
    assert "has been erased" in client.post(link).get_data(as_text=True)
    assert signature_count(app) == 0


def test_confirmation_pressed_from_another_site_confirms_nothing(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    assert client.post(link, headers=CROSS).status_code == 403
    assert client.get("/api/v1/campaigns/us-china-human-rights-2011").json["signatures"] == 0


def test_one_click_unsubscribe_is_taken_from_a_mail_providers_server(app):
    # RFC 8058: the provider's server posts, with headers of its own choosing; the
    # token in the URL is the proof, so the guard does not apply (an unknown token: 404).
    response = app.test_client().post(
        "/en/unsubscribe/forged.token.here", data={"List-Unsubscribe": "One-Click"}, headers=CROSS
    )
    assert response.status_code == 404


def test_staff_login_from_another_site_is_refused_even_with_its_token(client, app):
    make_user(app, "admin@example.org")
    token = token_from(client, "/staff/login")
    data = {"email": "admin@example.org", "password": PASSWORD, "csrf_token": token}
    assert client.post("/staff/login", data=data, headers=CROSS).status_code == 403
    assert client.get("/staff/").status_code == 302  # still anonymous
    assert client.post("/staff/login", data=data).status_code == 303


def test_staff_forms_still_need_their_session_token(client, app):
    make_user(app, "admin@example.org")
    data = {"email": "admin@example.org", "password": PASSWORD}
    response = client.post("/staff/login", data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"Sec-Fetch-Site": "same-origin"}, False),
        ({"Sec-Fetch-Site": "none"}, False),
        ({"Sec-Fetch-Site": "same-site"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        # The fetch metadata decides when present, whatever Origin says.
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://petition.example.org"}, True),
        ({"Origin": "https://petition.example.org"}, False),
        ({"Origin": "HTTPS://PETITION.EXAMPLE.ORG"}, False),
        ({"Origin": "http://petition.example.org"}, False),  # a trusted host, either scheme
        ({"Origin": "https://petition.example.org.evil.example"}, True),
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "null"}, True),
    ],
)
def test_the_rule(app, headers, refused):
    app.config["TRUSTED_HOSTS"] = ["petition.example.org"]
    try:
        origins = site_origins(app)
    finally:
        app.config["TRUSTED_HOSTS"] = None
    assert is_cross_site("POST", headers, origins) is refused
    assert is_cross_site("GET", headers, origins) is False
