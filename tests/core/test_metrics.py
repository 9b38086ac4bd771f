"""/metrics: Prometheus figures for the organisation's monitoring, never for the public."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from campaign.worker import Worker
from tests.conftest import SEED_SLUG, confirm, confirm_link, free_port, mails, sign
from tests.faults.servers import get, production_env, served, wait_until_up

TOKEN = "metrics-token-for-tests"  # noqa: S105


@pytest.fixture
def scraper(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` in an exposition, 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        metric, _, inner = sample.partition("{")
        found = ",".join(sorted(part for part in inner.rstrip("}").split(",") if part))
        if metric == name and found == wanted:
            return float(value)
    return 0.0


def test_without_a_token_configured_nobody_gets_in(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_wrong_token_is_refused_like_a_missing_page(client, scraper):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404
    answer = client.get("/metrics", headers=scraper)
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain; version=")
    assert answer.headers["Cache-Control"] == "no-store"


def test_requests_are_counted_by_route_rule_never_by_path(app, client, seeded, scraper):
    before = client.get("/metrics", headers=scraper).get_data(as_text=True)
    route = dict(route="/<lang>/c/<slug>/", method="GET", status="200")
    for _ in range(3):
        client.get(f"/en/c/{SEED_SLUG}/")
    client.get("/en/no/such/page")
    sign(client, seeded)
    with app.app_context():
        Worker().run_once()
    link = confirm_link(mails(app)[-1])
    client.get(link)
    text = client.get("/metrics", headers=scraper).get_data(as_text=True)
    assert (
        _value(text, "campaign_http_requests_total", **route)
        - _value(before, "campaign_http_requests_total", **route)
        == 3
    )
    assert _value(text, "campaign_http_requests_total", route="unmatched", method="GET",
                  status="404") >= 1  # fmt: skip
    assert _value(text, "campaign_http_request_duration_seconds_count",
                  route="/<lang>/c/<slug>/") >= 3  # fmt: skip
    assert _value(text, "campaign_signatures_submitted_total") >= 1
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in text
    assert SEED_SLUG not in text
    assert "example.org" not in text


def test_the_platform_state_comes_from_the_database(app, client, seeded, scraper):
    sign(client, seeded, take=False)
    text = client.get("/metrics", headers=scraper).get_data(as_text=True)
    assert _value(text, "campaign_submissions", state="received") == 1
    assert _value(text, "campaign_worker_seen_seconds_ago") == -1
    assert _value(text, "campaign_database_up") == 1
    with app.app_context():
        Worker().run_once()  # takes it, queues the mail and delivers it
    text = client.get("/metrics", headers=scraper).get_data(as_text=True)
    assert _value(text, "campaign_submissions", state="pending") == 1
    assert _value(text, "campaign_signatures", state="unconfirmed") == 1
    assert _value(text, "campaign_outbox_messages", state="sent") == 1
    assert _value(text, "campaign_outbox_oldest_due_seconds") == 0
    assert 0 <= _value(text, "campaign_worker_seen_seconds_ago") < 60
    confirm(client, confirm_link(mails(app)[-1]))
    client.post("/en/privacy/erase", data={"email": "someone@example.org"})
    text = client.get("/metrics", headers=scraper).get_data(as_text=True)
    assert _value(text, "campaign_signatures", state="confirmed") == 1
    assert _value(text, "campaign_jobs", kind="erasure_request", state="queued") == 1


def test_under_gunicorn_every_worker_is_added_up(tmp_path):
    """Requests answered by several workers all appear in whichever worker is scraped."""
    port = free_port()
    folder = tmp_path / "metrics"
    database = f"sqlite:///{tmp_path / 'app.db'}"
    env = production_env(tmp_path, database, f"http://127.0.0.1:{port}", HOST="127.0.0.1",
                         PORT=str(port), WEB_CONCURRENCY="3", METRICS_TOKEN=TOKEN,
                         GUNICORN_ACCESS_LOG="/dev/null", GUNICORN_MAX_REQUESTS="5",
                         PROMETHEUS_MULTIPROC_DIR=str(folder))  # fmt: skip
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")
    server = served(env)
    try:
        wait_until_up(port)
        # Each worker is replaced after five requests, so these are answered by at least
        # eight processes, whichever worker the kernel hands each connection to.
        for _ in range(4):
            with ThreadPoolExecutor(9) as pool:
                statuses = list(pool.map(lambda _: get(port, "/healthz")[0], range(9)))
            assert statuses == [200] * 9
        pids = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
        scrapes = [get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"}) for _ in range(6)]
    finally:
        server.terminate()
        server.wait(20)
    assert "1" not in pids  # the earlier run's file was cleared at start
    assert len(pids) >= 8
    totals = set()
    for status, body in scrapes:
        assert status == 200
        text = body.decode()
        assert _value(text, "campaign_database_up") == 0  # this database was never migrated
        totals.add(_value(text, "campaign_http_requests_total", route="/healthz",
                          method="GET", status="200"))  # fmt: skip
    # The same total from every scrape, and it holds the 36 (and wait_until_up's checks).
    assert len(totals) == 1
    assert totals.pop() >= 36
    assert not folder.exists()  # removed when the server stopped
