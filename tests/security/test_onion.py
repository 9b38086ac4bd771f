"""The onion service: the same site on a .onion address, whose links stay on it."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_SLUG, confirm_link, deliver, mails, sign

ONION = "http://abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz2345.onion"
ONION_HOST = ONION.removeprefix("http://")


@pytest.fixture
def onion(app, monkeypatch):
    monkeypatch.setitem(app.config, "ONION_URL", ONION)
    return ONION


def test_mails_carry_the_onion_form_of_their_link(app, client, seeded, onion):
    sign(client, seeded)
    deliver(app)
    message = mails(app)[-1]
    text = message.get_body(("plain",)).get_content()
    public = confirm_link(message)
    assert f"https://petition.example.org{public}" in text
    assert f"{ONION}{public}" in text
    assert "Tor Browser" in text
    html = message.get_body(("html",)).get_content()
    assert f"{ONION}{public}" in html


def test_without_an_onion_the_mail_says_nothing_of_it(app, client, seeded):
    sign(client, seeded)
    deliver(app)
    text = mails(app)[-1].get_body(("plain",)).get_content()
    assert ".onion" not in text
    assert "Tor Browser" not in text
    assert "\n\n\n" not in text


def test_a_page_asked_for_on_the_onion_links_to_the_onion(app, onion):
    from campaign.urls import external_url

    with app.test_request_context("/", base_url=f"http://{ONION_HOST}"):
        assert external_url("campaigns.show", slug=SEED_SLUG) == f"{ONION}/en/c/{SEED_SLUG}/"
    with app.test_request_context("/", base_url="https://petition.example.org"):
        assert external_url("campaigns.show", slug=SEED_SLUG).startswith(
            "https://petition.example.org/"
        )
    # Any other host a client names gets the public address, never its own.
    with app.test_request_context("/", base_url="http://evil.example.onion"):
        assert external_url("campaigns.show", slug=SEED_SLUG).startswith(
            "https://petition.example.org/"
        )
    with app.app_context():  # the worker and the CLI
        assert external_url("campaigns.show", slug=SEED_SLUG).startswith(
            "https://petition.example.org/"
        )


def test_onion_location_is_sent_only_when_asked(app, client, seeded, onion, monkeypatch):
    page = f"/en/c/{SEED_SLUG}/"
    assert "Onion-Location" not in client.get(page).headers
    monkeypatch.setitem(app.config, "ONION_LOCATION", True)
    assert client.get(page).headers["Onion-Location"] == f"{ONION}{page}"
    assert client.get(page + "?email=x%40example.org").headers["Onion-Location"] == f"{ONION}{page}"
    # A hostile path is quoted, not copied into the header.
    hostile = client.get("/en/no%0d%0aSet-Cookie:%20x=1/\u4e2d")
    assert hostile.status_code == 404
    assert hostile.headers["Onion-Location"].startswith(
        f"{ONION}/en/no%0D%0ASet-Cookie%3A%20x%3D1/"
    )
    assert "Set-Cookie" not in hostile.headers
    # Not on the onion itself, and not on JSON answers.
    assert "Onion-Location" not in client.get(page, base_url=f"http://{ONION_HOST}").headers
    assert "Onion-Location" not in client.get(f"/api/v1/campaigns/{SEED_SLUG}").headers


def test_production_answers_on_its_onion_host(monkeypatch):
    from campaign.config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example.org")
    monkeypatch.setattr(ProductionConfig, "ONION_URL", ONION)
    assert ProductionConfig().TRUSTED_HOSTS == ["petition.example.org", ONION_HOST]


def test_the_erasure_mail_carries_it_too(app, client, seeded, onion):
    sign(client, seeded, email="jane@example.org")
    deliver(app)
    client.post("/en/privacy/erase", data={"email": "jane@example.org"})
    deliver(app)
    [text] = [m.get_body(("plain",)).get_content() for m in mails(app) if "/erase/" in str(m)]
    assert f"{ONION}/en/erase/" in text
    assert "\n\n\n" not in text
