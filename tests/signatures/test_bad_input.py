"""Refused submissions: a clear error beside the field, input kept, nothing written."""

import pytest

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from tests.conftest import SEED_SLUG, outbox_count, sign, signature_count


def _refused(app, response, status=422):
    assert response.status_code == status
    assert signature_count(app) == 0
    assert outbox_count(app) == 0
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"email": "not-an-address"}, "email", "Please check this e-mail address."),
        ({"email": "a@b"}, "email", "Please check this e-mail address."),
        ({"email": ""}, "email", "Please give your e-mail address."),
        ({"name": "   "}, "name", "Please give your name."),
        ({"demands": []}, "demands", "Please tick at least one demand."),
        ({"demands": ["999999"]}, "demands", "Please choose among the demands listed."),
        ({"demands": ["abc"]}, "demands", "Please choose among the demands listed."),
        ({"country": "XX"}, "country", "Please choose a country from the list."),
        ({"country": ""}, "country", "Please choose your country."),
        ({"name": "x" * 201}, "name", "Please keep this under 200 characters."),
        ({"region": "r" * 201}, "region", "Please keep this under 200 characters."),
        ({"affiliation": "a" * 201}, "affiliation", "Please keep this under 200 characters."),
        ({"comment": "c" * 2001}, "comment", "Please keep this under 2000 characters."),
        ({"name": "Jane\x00Doe"}, "name", "cannot be stored"),
        ({"region": "bell\x07"}, "region", "cannot be stored"),
        ({"name": "broken \ufffd"}, "name", "cannot be stored"),
        ({"display": "everyone"}, "display", "Please choose how your name may appear."),
    ],
)
def test_bad_field_is_refused_with_a_message_beside_it(
    client, app, seeded, fields, field_id, message
):
    html = _refused(app, sign(client, seeded, **fields))
    assert f'id="{field_id}-error"' in html
    assert message in html
    assert "error-summary" in html


def test_input_is_kept_after_an_error(client, app, seeded):
    html = _refused(
        app,
        sign(client, seeded, email="bad", name="王小明 <Wang>", region="Zhejiang", comment="Hi"),
    )
    assert 'value="王小明 &lt;Wang&gt;"' in html
    assert 'value="Zhejiang"' in html
    assert 'value="bad"' in html
    assert "Hi</textarea>" in html
    assert '<option selected value="US">' in html


def test_errors_are_in_the_pages_language(client, app, seeded):
    html = _refused(app, sign(client, seeded, lang="zh-hans", demands=[]))
    assert "Please tick at least one demand." not in html
    assert 'id="demands-error"' in html


def test_comment_may_have_line_breaks(client, app, seeded):
    response = sign(client, seeded, comment="line one\r\nline two")
    assert response.status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's page
        {"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "", "Origin": "null"},
    ],
)
def test_a_form_sent_by_another_site_is_refused_and_keeps_nothing(client, app, seeded, headers):
    html = _refused(app, sign(client, seeded, headers=headers), status=403)
    assert "sent from another site" in html
    assert "Nothing was recorded" in html


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked by the person
        {"Sec-Fetch-Site": "", "Origin": "PUBLIC_URL"},  # an older browser, on this site
        {"Sec-Fetch-Site": ""},  # neither header: not a browser another page steers
    ],
)
def test_a_form_from_this_site_is_taken(client, app, seeded, headers):
    headers = {k: app.config[v] if v == "PUBLIC_URL" else v for k, v in headers.items()}
    assert sign(client, seeded, headers=headers).status_code == 303


def test_the_campaign_page_sets_no_cookie(client, seeded):
    response = client.get(f"/en/c/{SEED_SLUG}/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "csrf_token" not in response.get_data(as_text=True)


def test_closed_campaign_refuses_signatures(client, app, seeded):
    with app.app_context():
        db.session.scalar(db.select(Campaign)).state = "closed"
        db.session.commit()
    html = _refused(app, sign(client, seeded), status=409)
    assert "no longer takes signatures" in html


def test_honeypot_is_answered_like_anyone_and_keeps_nothing(client, app, seeded):
    response = sign(client, seeded, website="http://spam.example")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/check-email")
    assert signature_count(app) == 0
    assert outbox_count(app) == 0


def test_oversize_request_is_refused(client, app, seeded):
    response = sign(client, seeded, comment="x" * 70_000)
    assert response.status_code == 413
    assert signature_count(app) == 0


@pytest.mark.parametrize(
    "path",
    ["/verify/%00", "/en/verify/a%01b", "/en/c/%00/", "/en/confirm/%7F", "/en/c/x%C2%85/"],
)
def test_control_characters_in_a_path_are_a_404_on_every_database(client, seeded, path):
    # PostgreSQL refuses a NUL in any text: it used to reach the database and fail there.
    assert client.get(path).status_code == 404
