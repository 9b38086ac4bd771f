"""``TRUSTED_PROXIES``: behind a proxy the client's own address counts; without, no header does."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaign.extensions import db
from campaign.security import hash_address
from campaign.signatures.models import Signature
from tests.conftest import confirm, confirm_link, deliver, mails, sign
from tests.security.conftest import seeded_instance


@pytest.fixture(params=[0, 1], ids=["no proxy", "one proxy"])
def proxied(request, tmp_path):
    with seeded_instance(tmp_path / "instance", TRUSTED_PROXIES=request.param) as (app, seeded):
        yield app, seeded, request.param


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
