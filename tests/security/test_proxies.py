"""``TRUSTED_PROXIES``: behind a proxy the client's own address counts; without, no header does."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from campaign import config as configuration
from campaign import create_app
from campaign.extensions import db
from campaign.security import hash_address
from campaign.signatures.models import Signature
from tests.conftest import confirm, confirm_link, deliver, mails, sign


@pytest.fixture(params=[0, 1], ids=["no proxy", "one proxy"])
def proxied(request, tmp_path):
    config = configuration.TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'campaign.db'}"
    config.MAIL_FILE_DIR = str(tmp_path / "mail")
    config.PACKET_DIR = str(tmp_path / "packets")
    config.TRUSTED_PROXIES = request.param
    app = create_app(config)
    with app.app_context():
        upgrade()
        from campaign.campaigns.seed import load_campaign_file

        campaign, _ = load_campaign_file()
        db.session.commit()
        seeded = {"slug": campaign.slug, "demand_ids": [d.id for d in campaign.demands]}
    yield app, seeded, request.param
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _hashes(app) -> dict[str, str | None]:
    with app.app_context():
        return dict(db.session.execute(select(Signature.email, Signature.ip_hash)).all())


def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(proxied):
    app, seeded, hops = proxied
    client = app.test_client()
    for n, forwarded in enumerate(("203.0.113.7", "198.51.100.9")):
        sign(client, seeded, email=f"person{n}@example.org",
             headers={"X-Forwarded-For": forwarded})  # fmt: skip
    with app.test_request_context():
        peer, first, second = (hash_address(a) for a in ("127.0.0.1", "203.0.113.7",
                                                         "198.51.100.9"))  # fmt: skip
    hashes = _hashes(app)
    if hops:
        assert hashes == {"person0@example.org": first, "person1@example.org": second}
    else:  # a forged header changes nothing: both are the peer
        assert set(hashes.values()) == {peer}


def test_people_behind_one_proxy_are_not_held_as_one_burst(proxied, monkeypatch):
    app, seeded, hops = proxied
    monkeypatch.setitem(app.config, "HOLD_BURST_PER_ADDRESS", 3)
    client = app.test_client()
    for n in range(5):
        sign(client, seeded, email=f"person{n}@example.org", name=f"Person Number {n}",
             headers={"X-Forwarded-For": f"203.0.113.{n + 1}"})  # fmt: skip
    deliver(app)
    for message in mails(app):
        confirm(client, confirm_link(message))
    with app.app_context():
        states = db.session.scalars(select(Signature.state)).all()
    if hops:
        assert states == ["confirmed"] * 5
    else:  # without a trusted proxy they all share the peer's address: a burst
        assert "held" in states
