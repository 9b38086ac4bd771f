"""With REDIS_URL, the page and count caches are shared by every process and server."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from campaign import config as configs
from campaign import create_app, pagecache, redisconn
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from tests.campaigns.test_page_cache import _retitle
from tests.conftest import SEED_SLUG, redis_up, sign

PAGE = f"/en/c/{SEED_SLUG}/"
# A database number of its own, so the tests never meet anything else's keys.
SHARED = "redis://127.0.0.1:6379/13"

pytestmark = pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")


@pytest.fixture
def shared(app, monkeypatch):
    """The test app and a second app (another server) on the same database and Redis."""
    store = redis.Redis.from_url(SHARED)
    store.flushdb()
    config = configs.TestingConfig()
    for name in ("SQLALCHEMY_DATABASE_URI", "MAIL_FILE_DIR", "PACKET_DIR", "PUBLIC_URL"):
        setattr(config, name, app.config[name])
    other = create_app(config)
    for each in (app, other):
        monkeypatch.setitem(each.config, "REDIS_URL", SHARED)
        monkeypatch.setitem(each.config, "COUNT_CACHE_SECONDS", 30)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()  # its PostgreSQL connections, closed now rather than by the GC
    store.flushdb()
    redisconn.reset()


def test_a_page_rendered_by_one_server_is_served_by_the_other(app, client, seeded, shared):
    first = client.get(PAGE)
    _retitle(app, "A changed title")
    again = shared.test_client().get(PAGE)
    assert again.get_data() == first.get_data()
    assert again.headers["Cache-Control"] == "public, max-age=30"
    assert again.content_type == first.content_type
    assert redis.Redis.from_url(SHARED).ttl(f"campaign:page:show:{SEED_SLUG}:en") <= 30


def test_a_staff_change_on_one_server_clears_the_other(app, client, seeded, shared, organiser):
    other = shared.test_client()
    assert 'name="email"' in other.get(PAGE).get_data(as_text=True)
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
    client.post(
        f"/staff/campaigns/{campaign_id}/state",
        data={"state": "closed", "csrf_token": organiser},
    )
    assert 'name="email"' not in other.get(PAGE).get_data(as_text=True)
    # The signing form's own cached view of the campaign went with it.
    assert sign(other, seeded).status_code == 409


def test_the_signing_target_is_kept_as_json_and_read_back(app, client, seeded, shared):
    assert sign(client, seeded).status_code == 303
    kept = redis.Redis.from_url(SHARED).get(f"campaign:value:signing:{SEED_SLUG}")
    assert kept is not None
    assert b"demand_ids" in kept
    # The second server signs from the kept value, without its own lookup.
    assert sign(shared.test_client(), seeded, email="second@example.org").status_code == 303


def test_a_dead_redis_falls_back_to_each_process(app, client, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens
    monkeypatch.setitem(app.config, "COUNT_CACHE_SECONDS", 30)
    try:
        first = client.get(PAGE)
        assert first.status_code == 200
        _retitle(app, "A changed title")
        # Kept in this process instead, and Redis not asked again for a few seconds.
        assert client.get(PAGE).get_data() == first.get_data()
        with app.app_context():
            assert redisconn.client() is None
        assert sign(client, seeded).status_code == 303
    finally:
        redisconn.reset()
        pagecache.clear()
