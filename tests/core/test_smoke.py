"""The app starts and serves its health checks."""


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_needs_a_worker_seen_within_the_minute(app, client):
    from datetime import timedelta

    from campaign.extensions import db
    from campaign.settings import note_worker_alive
    from campaign.timeutil import utcnow
    from campaign.worker import Worker

    never = client.get("/readyz")
    assert never.status_code == 503
    assert never.json == {"status": "unavailable", "database": "ok", "worker": "never seen",
                          "redis": "not configured"}  # fmt: skip
    with app.app_context():
        Worker().run_once()  # a pass of `flask worker`
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ok"
    with app.app_context():
        stale = utcnow() - timedelta(seconds=app.config["WORKER_STALE_SECONDS"] + 1)
        note_worker_alive(stale)
        db.session.commit()
    late = client.get("/readyz")
    assert (late.status_code, late.json["worker"]) == (503, "not seen recently")


def test_readyz_checks_redis_when_configured(app, client, monkeypatch):
    from campaign.worker import Worker
    from tests.conftest import redis_up

    with app.app_context():
        Worker().run_once()
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens
    down = client.get("/readyz")
    assert (down.status_code, down.json["redis"]) == (503, "unreachable")
    if not redis_up():
        return  # no Redis on this machine: the reachable case is for .ci/run
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/0")
    up = client.get("/readyz")
    assert (up.status_code, up.json["redis"]) == (200, "ok")
