"""The app starts and serves its health checks."""


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reaches_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
