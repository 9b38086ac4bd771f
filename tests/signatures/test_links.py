"""Confirmation links that are stale, forged or meant for something else."""

import time

import pytest

from campaign.security import make_token
from tests.conftest import SEED_SLUG, confirm_link, deliver, mails, sign


@pytest.mark.parametrize(("lang", "word"), [("en", "expired"), ("zh-hant", "過期")])
def test_expired_link_explains_and_offers_to_sign_again(client, app, seeded, lang, word):
    sign(client, seeded, lang=lang)
    deliver(app)
    link = confirm_link(mails(app)[0])
    app.config["CONFIRM_MAX_AGE_DAYS"] = 0
    try:
        time.sleep(1.1)
        response = client.get(link)
    finally:
        app.config["CONFIRM_MAX_AGE_DAYS"] = 7
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert word in html
    assert f'href="/{lang}/#sign"' in html
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0


@pytest.mark.parametrize(
    "token", ["garbage", "eyJhIjoxfQ.abc.def", "WzEsWzFdXQ.Zz1234.forgedsignature000000"]
)
def test_forged_link_gets_a_page_not_a_500(client, seeded, token):
    response = client.get(f"/en/confirm/{token}")
    assert response.status_code == 404
    assert "does not work" in response.get_data(as_text=True)


def test_token_for_another_purpose_is_refused(client, app, seeded):
    sign(client, seeded)
    with app.test_request_context():
        from campaign.extensions import db
        from campaign.signatures.models import Signature

        sig_id = db.session.scalar(db.select(Signature.id))
        erase_token = make_token("erase", [sig_id, seeded["demand_ids"]])
    assert client.get(f"/en/confirm/{erase_token}").status_code == 404
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0


def test_link_of_an_erased_signature_is_a_clear_404(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    with app.app_context():
        from campaign.extensions import db
        from campaign.signatures.erasure import erase

        erase("jane@example.org")
        db.session.commit()
    assert client.get(link).status_code == 404
