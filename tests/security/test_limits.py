"""Rate limits: per client address, per mailbox, for everyone; a refused request writes nothing.

Each test lowers the configured figure it exercises (the test configuration lifts them all,
because the suite signs many times from one address). The tests count with the exact moving
window (``RATELIMIT_STRATEGY`` of the test configuration): production's sliding-window counter
weighs the previous window's count, and a test straddling a window's turn (CI once ran one
at 06:00:00) would see part of its count fade.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign import config as configuration
from campaign.extensions import db
from campaign.jobs import Job
from campaign.mail.models import OutboxMessage
from campaign.signatures.models import Submission
from tests.conftest import PASSWORD, deliver, login, mails, make_user, redis_up, run_jobs, sign
from tests.security.conftest import seeded_instance

ROOT = Path(__file__).resolve().parents[2]


def _rows(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Submission, OutboxMessage, Job)
        )


def _assert_refused(response, lang_text: str = "Too many requests", staff=False) -> None:
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 3601  # an hour at most, rounded up to whole seconds
    if not staff:  # (a staff page's session cookie is refreshed on every answer)
        assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert lang_text in response.get_data(as_text=True)


def test_signing_is_limited_per_address_with_a_translated_page_and_nothing_written(
    app, client, seeded, monkeypatch
):
    monkeypatch.setitem(app.config, "LIMIT_SIGN_PER_ADDRESS", "2 per hour")
    for n in range(2):
        assert sign(client, seeded, email=f"person{n}@example.org").status_code == 303
    before = _rows(app)
    refused = sign(client, seeded, lang="zh-hans", email="third@example.org")
    _assert_refused(refused, "请求过于频繁")
    assert 'lang="zh-Hans"' in refused.get_data(as_text=True)
    deliver(app)
    assert _rows(app)[0] == before[0]  # no submission
    assert all("third@example.org" not in m["To"] for m in mails(app))
    # Another client is not held back by this one.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert sign(other, seeded, email="fourth@example.org").status_code == 303


@pytest.fixture
def proxied(tmp_path):
    """An instance behind one trusted proxy: each request says its client's address."""
    with seeded_instance(tmp_path / "instance", TRUSTED_PROXIES=1) as (app, seeded):
        yield app, seeded


def _from(n: int) -> dict:
    return {"X-Forwarded-For": f"203.0.113.{n}"}


def test_variants_of_one_mailbox_share_its_limit_from_any_address(proxied, monkeypatch):
    app, seeded = proxied
    monkeypatch.setitem(app.config, "LIMIT_SIGN_PER_MAILBOX", "3 per hour")
    client = app.test_client()
    variants = ["jane.doe@gmail.com", "janedoe+a@gmail.com", "Jane.Doe+b@googlemail.com"]
    for n, address in enumerate(variants):
        assert sign(client, seeded, email=address, headers=_from(n + 1)).status_code == 303
    before = _rows(app)
    _assert_refused(sign(client, seeded, email="j.a.n.e.doe+c@gmail.com", headers=_from(9)))
    assert _rows(app) == before
    # A different mailbox from the same addresses goes through.
    assert sign(client, seeded, email="someone@gmail.com", headers=_from(1)).status_code == 303


def test_the_global_limit_holds_a_flood_from_many_addresses(proxied, monkeypatch):
    app, seeded = proxied
    monkeypatch.setitem(app.config, "LIMIT_SIGN_GLOBAL", "4 per hour")
    client = app.test_client()
    for n in range(4):
        response = sign(client, seeded, email=f"p{n}@example.org", headers=_from(n + 1))
        assert response.status_code == 303
    _assert_refused(sign(client, seeded, email="p9@example.org", headers=_from(50)))


@pytest.mark.parametrize("hops", [0, 1], ids=["no proxy", "one proxy"])
def test_clients_behind_a_proxy_are_limited_apart_and_a_forged_header_changes_nothing(
    tmp_path, hops
):
    with seeded_instance(tmp_path / "instance", TRUSTED_PROXIES=hops) as (app, seeded):
        app.config["LIMIT_SIGN_PER_ADDRESS"] = "2 per hour"
        client = app.test_client()
        codes = [
            sign(client, seeded, email=f"p{n}@example.org", headers=_from(n + 1)).status_code
            for n in range(5)
        ]
    if hops:
        assert codes == [303] * 5  # five people, five addresses
    else:
        assert codes == [303, 303, 429, 429, 429]  # one peer, whatever the header says


def test_confirming_is_limited_per_address(app, client, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "LIMIT_CONFIRM_PER_ADDRESS", "3 per hour")
    for _ in range(3):
        assert client.post("/en/confirm/not-a-token").status_code == 404
    _assert_refused(client.post("/en/confirm/not-a-token"))


def test_erasure_requests_are_limited_per_address_and_per_mailbox(proxied, monkeypatch):
    app, seeded = proxied
    monkeypatch.setitem(app.config, "LIMIT_ERASE_PER_MAILBOX", "2 per hour")
    monkeypatch.setitem(app.config, "LIMIT_ERASE_PER_ADDRESS", "3 per hour")
    client = app.test_client()

    def ask(address: str, n: int):
        return client.post("/en/privacy/erase", data={"email": address}, headers=_from(n))

    assert ask("jane+a@example.org", 1).status_code == 200
    assert ask("jane+b@example.org", 2).status_code == 200
    before = _rows(app)
    _assert_refused(ask("jane@example.org", 3))  # the same mailbox, from a third address
    assert _rows(app) == before  # no job: nothing is looked up or mailed
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        assert ask(address, 7).status_code == 200
    _assert_refused(ask("d@example.org", 7))  # the fourth from one address
    assert run_jobs(app) == 5


def test_staff_login_is_limited_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LIMIT_LOGIN_PER_ADDRESS", "3 per hour")
    make_user(app)
    for _ in range(3):
        assert login(client, password="wrong password!").status_code == 401
    _assert_refused(login(client), staff=True)
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.5"
    assert login(owner, password=PASSWORD).status_code == 303


def test_every_other_visitor_form_meets_the_default_limit(app, client, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "LIMIT_FORMS_PER_ADDRESS", "2 per hour")
    for _ in range(2):
        assert client.post("/en/erase/not-a-token").status_code == 404
    _assert_refused(client.post("/en/erase/not-a-token"))
    # Pages are not forms: reading goes on.
    assert client.get(f"/en/c/{seeded['slug']}/").status_code == 200


def test_logged_in_staff_are_not_limited_by_the_visitor_default(
    app, client, organiser, monkeypatch
):
    monkeypatch.setitem(app.config, "LIMIT_FORMS_PER_ADDRESS", "2 per hour")
    for _ in range(4):
        response = client.post("/staff/password", data={"csrf_token": organiser})
        assert response.status_code != 429


def test_unsubscribe_is_not_limited_per_address(app, client, seeded, monkeypatch):
    # Mail providers send the one-click unsubscribe for many people from few addresses.
    monkeypatch.setitem(app.config, "LIMIT_FORMS_PER_ADDRESS", "1 per hour")
    for _ in range(3):
        assert client.post("/en/unsubscribe/not-a-token").status_code == 404


def test_every_limit_is_documented_with_its_default():
    readme = (ROOT / "README.md").read_text()
    names = [n for n in vars(configuration.Config) if n.startswith("LIMIT_")]
    assert len(names) >= 9
    for name in names:
        default = getattr(configuration.Config, name)
        if os.environ.get(name):
            continue  # the environment chose another figure
        assert re.search(rf"\| `{name}` \| `{re.escape(default)}` \|", readme), name


CHILD = """
import json, sys
from campaign import config as configuration, create_app
config = configuration.TestingConfig()
config.SQLALCHEMY_DATABASE_URI = sys.argv[1]
config.RATELIMIT_STORAGE_URI = sys.argv[2]
config.LIMIT_SIGN_PER_ADDRESS = "3 per hour"
app = create_app(config)
client = app.test_client()
client.environ_base["REMOTE_ADDR"] = sys.argv[3]
codes = []
for n in range(2):
    data = {"name": "Jane Doe", "email": f"{sys.argv[4]}{n}@example.org", "country": "US",
            "demands": sys.argv[5].split(","), "display": "full"}
    codes.append(client.post(f"/en/c/{sys.argv[6]}/sign", data=data,
                             headers={"Sec-Fetch-Site": "same-origin"}).status_code)
print(json.dumps(codes))
"""


def _child(database: str, storage: str, address: str, prefix: str, seeded: dict) -> list[int]:
    demands = ",".join(str(d) for d in seeded["demand_ids"])
    args = [database, storage, address, prefix, demands, seeded["slug"]]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "APP_ENV": "testing"}, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_with_redis_every_process_shares_the_counters(tmp_path):
    with seeded_instance(tmp_path / "instance") as (app, seeded):
        database = app.config["SQLALCHEMY_DATABASE_URI"]
    # A fresh address each run, so counters left in Redis by another run do not count.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    redis = "redis://127.0.0.1:6379/0"
    assert _child(database, redis, address, "first", seeded) == [303, 303]
    assert _child(database, redis, address, "second", seeded) == [303, 429]
    # In memory, each process counts alone.
    memory = "campaign-memory://"
    assert _child(database, memory, address, "third", seeded) == [303, 303]
    assert _child(database, memory, address, "fourth", seeded) == [303, 303]


def test_signing_goes_on_when_the_counter_store_is_unreachable(tmp_path):
    # Port 9 (discard) on loopback: nothing listens, connections are refused at once.
    with seeded_instance(tmp_path / "instance") as (app, seeded):
        database = app.config["SQLALCHEMY_DATABASE_URI"]
    assert _child(database, "redis://127.0.0.1:9/0", "10.9.9.9", "down", seeded) == [303, 303]


def test_the_memory_store_sweeps_rarely_and_still_forgets_expired_counters():
    import time

    from campaign.limits import SweptMemoryStorage

    storage = SweptMemoryStorage()
    assert storage.incr("a:someone", expiry=0.05) == 1
    # Re-armed at the sweep's pace, not every 10 ms with a walk over every key.
    assert storage.timer.interval == SweptMemoryStorage.SWEEP_SECONDS
    time.sleep(0.1)
    assert storage.get("a:someone") == 0  # expired: read as nothing before any sweep
    storage.incr("a:other", expiry=0.05)
    time.sleep(0.1)
    storage._MemoryStorage__expire_events()
    assert "a:other" not in storage.storage  # the sweep frees it
    storage.timer.cancel()


def test_without_redis_production_counts_in_the_swept_memory_store(monkeypatch):
    from campaign import create_app
    from campaign.limits import SweptMemoryStorage, limiter

    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example.org")
    monkeypatch.delenv("REDIS_URL", raising=False)
    config = configuration.ProductionConfig()
    config.REDIS_URL = None
    config.LOG_FORMAT = "text"  # JSON would take over this test process's log handlers
    app = create_app(config)
    assert app.config["RATELIMIT_STORAGE_URI"] == "campaign-memory://"
    assert isinstance(limiter._storage, SweptMemoryStorage)


def test_production_uses_the_sliding_window_counter():
    assert configuration.Config.RATELIMIT_STRATEGY == "sliding-window-counter"
    assert configuration.ProductionConfig.RATELIMIT_STRATEGY == "sliding-window-counter"


def test_an_oversize_post_does_not_switch_the_limits_off(app, client, seeded, monkeypatch):
    # Reading the e-mail field of a too-large body raised inside the limiter, which then
    # took its store for dead and let every request through for a while.
    from campaign.limits import limiter

    monkeypatch.setitem(app.config, "LIMIT_SIGN_PER_ADDRESS", "2 per hour")
    big = client.post(f"/en/c/{seeded['slug']}/sign", data={"comment": "x" * 70_000},
                      headers={"Sec-Fetch-Site": "same-origin"})  # fmt: skip
    assert big.status_code == 413
    assert not limiter._storage_dead
    codes = [sign(client, seeded, email=f"p{n}@example.org").status_code for n in range(3)]
    assert codes == [303, 429, 429]  # the oversize post counted as one
