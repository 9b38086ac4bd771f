"""With REDIS_URL, a request that queued work wakes an idle worker on any server."""

from __future__ import annotations

import threading

import pytest
import redis

from campaign import redisconn, wakeup
from tests.conftest import SEED_SLUG, redis_up, sign

SHARED = "redis://127.0.0.1:6379/13"

pytestmark = pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")


@pytest.fixture
def store(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", SHARED)
    found = redis.Redis.from_url(SHARED)
    found.flushdb()
    yield found
    found.flushdb()
    redisconn.reset()


def test_a_signature_leaves_one_token_however_many_come(app, client, seeded, store):
    assert store.llen(wakeup.KEY) == 0
    client.get(f"/en/c/{SEED_SLUG}/")
    assert store.llen(wakeup.KEY) == 0  # reading queues nothing
    for n in range(3):
        assert sign(client, seeded, take=False, email=f"s{n}@example.org").status_code == 303
    assert store.llen(wakeup.KEY) == 1


def test_a_refused_form_wakes_nobody(app, client, seeded, store):
    assert sign(client, seeded, take=False, email="not-an-address").status_code == 422
    assert store.llen(wakeup.KEY) == 0


def test_an_idle_worker_takes_the_token(app, store):
    woken = threading.Event()

    def idle() -> None:
        with app.app_context():
            wakeup.wait(30)
        woken.set()

    waiter = threading.Thread(target=idle, daemon=True)
    waiter.start()
    with app.app_context():
        wakeup.nudge()
    # The waiter returns once it has the token; 30 s would mean it never saw it.
    assert woken.wait(25)
    assert store.llen(wakeup.KEY) == 0


def test_without_redis_the_worker_sleeps_its_interval(app, monkeypatch):
    slept = []
    monkeypatch.setattr(wakeup.time, "sleep", slept.append)
    with app.app_context():
        wakeup.wait(1.5)
        wakeup.nudge()  # nothing to write to: no error
    assert slept == [1.5]


def test_a_dead_redis_makes_the_worker_sleep_instead(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")
    slept = []
    monkeypatch.setattr(wakeup.time, "sleep", slept.append)
    try:
        with app.app_context():
            wakeup.wait(1.0)
        assert len(slept) == 1
        assert 0 < slept[0] <= 1.0
    finally:
        redisconn.reset()
