"""Confirmation links that are stale, forged, meant for something else, or erased."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from campaign.extensions import db
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken
from tests.conftest import SEED_SLUG, confirm_link, deliver, mails, sign


def _expire_all_links(app) -> None:
    with app.app_context():
        db.session.execute(update(LinkToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


@pytest.mark.parametrize(("lang", "word"), [("en", "expired"), ("zh-hant", "過期")])
def test_expired_link_explains_and_offers_to_sign_again(client, app, seeded, lang, word):
    sign(client, seeded, lang=lang)
    deliver(app)
    link = confirm_link(mails(app)[0])
    _expire_all_links(app)
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 410
        html = response.get_data(as_text=True)
        assert word in html
        assert f'href="/{lang}/#sign"' in html
        assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0


@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJhIjoxfQ.abc.def", "WzEsWzFdXQ.Zz1234.forgedsignature000000", "x" * 500],
)
def test_forged_link_gets_a_page_not_a_500(client, seeded, token):
    for response in (client.get(f"/en/confirm/{token}"), client.post(f"/en/confirm/{token}")):
        assert response.status_code == 404
        assert "does not work" in response.get_data(as_text=True)


def test_token_for_another_purpose_is_refused(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    token = link.rsplit("/", 1)[1]
    assert client.get(f"/en/unsubscribe/{token}").status_code == 404
    assert client.post(f"/en/unsubscribe/{token}").status_code == 404
    assert client.get(f"/en/erase/{token}").status_code == 404
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0


def test_only_a_digest_of_each_token_is_stored(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    token = confirm_link(mails(app)[0]).rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.scalar(db.select(LinkToken))
        assert row.purpose == "confirm"
        assert token not in row.digest
        assert len(row.digest) == 64


def test_link_of_an_erased_signature_is_a_clear_404(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    with app.app_context():
        from campaign.signatures.erasure import erase

        erase("jane@example.org")
        db.session.commit()
    assert client.get(link).status_code == 404
    assert client.post(link).status_code == 404
