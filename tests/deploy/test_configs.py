"""deploy/ validates: nginx -t, systemd-analyze verify, tor --verify-config, and nginx in
front of a real app server does what README says; a backup restores."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import free_port
from tests.deploy.configs import (
    DEPLOY,
    ONION_HOST,
    check_nginx,
    nginx,
    nginx_binary,
    nginx_prefix,
    substitute,
    systemd_units,
)
from tests.faults.servers import prepare, production_env, served, wait_until_up
from tests.test_deploy import fresh_postgres  # noqa: F401 - a fixture

needs_nginx = pytest.mark.skipif(
    nginx_binary() is None or shutil.which("openssl") is None,
    reason="needs nginx and openssl: apt-get install -y nginx (.ci/run does)",
)


def _ports(n: int) -> list[int]:
    found: set[int] = set()
    while len(found) < n:
        found.add(free_port())
    return sorted(found)


@needs_nginx
def test_nginx_accepts_the_shipped_configuration(tmp_path):
    http_port, https_port, onion, app1, app2 = _ports(5)
    prefix = nginx_prefix(tmp_path, http_port, https_port, onion, (app1, app2))
    checked = check_nginx(prefix)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_shipped_units(tmp_path):
    units = systemd_units(tmp_path)
    assert {u.name for u in units} >= {
        "campaign-web@8001.service", "campaign-worker.service", "campaign-purge.service",
        "campaign-purge.timer", "campaign-backup.service", "campaign-backup.timer",
    }  # fmt: skip
    checked = subprocess.run(
        [shutil.which("systemd-analyze"), "verify", "--man=no", *map(str, units)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # A directive it cannot read is only a warning: none may be printed.
    assert (checked.returncode, checked.stderr.strip()) == (0, "")
    web = (tmp_path / "campaign-web@8001.service").read_text()
    for hardening in ("User=campaign", "NoNewPrivileges=yes", "ProtectSystem=strict",
                      "Restart=on-failure", "ExecStartPre="):  # fmt: skip
        assert hardening in web


@pytest.mark.skipif(shutil.which("tor") is None, reason="needs tor: apt-get install -y tor")
def test_tor_accepts_the_shipped_torrc(tmp_path):
    folder = tmp_path / "onion"
    torrc = tmp_path / "torrc"
    torrc.write_text(
        substitute(
            (DEPLOY / "tor" / "torrc").read_text(), {"/var/lib/tor/campaign/": f"{folder}/"}
        )  # fmt: skip
        + f"DataDirectory {tmp_path / 'data'}\n"
    )
    checked = subprocess.run([shutil.which("tor"), "--verify-config", "-f", str(torrc)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    assert "Configuration was valid" in checked.stdout


def _request(port: int, method: str, path: str, tls: bool = True, **kwargs):
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, **kwargs)
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


@needs_nginx
def test_nginx_in_front_of_an_app_server(tmp_path):
    http_port, https_port, onion, app1, app2 = _ports(5)
    prefix = nginx_prefix(tmp_path / "nginx", http_port, https_port, onion, (app1, app2))
    database = f"sqlite:///{tmp_path / 'app.db'}"
    env = production_env(
        tmp_path, database, f"https://127.0.0.1:{https_port}", HOST="127.0.0.1",
        PORT=str(app1), WEB_CONCURRENCY="2", TRUSTED_PROXIES="1", COUNT_CACHE_SECONDS="3",
        GUNICORN_ACCESS_LOG="/dev/null", ONION_URL=f"http://{ONION_HOST}",
        METRICS_TOKEN="scrape-token", TRUSTED_HOSTS="127.0.0.1", ONION_LOCATION="true",
    )  # fmt: skip
    prepare(env)
    server = served(env)
    try:
        wait_until_up(app1)
        with nginx(prefix, https_port):
            # Plain HTTP moves to HTTPS, path kept.
            status, headers, _ = _request(http_port, "GET", "/en/", tls=False)
            assert (status, headers["Location"]) == (301, f"https://127.0.0.1:{https_port}/en/")
            # Static files come from disk, with a lifetime.
            status, headers, body = _request(https_port, "GET", "/static/style.css")
            assert status == 200
            assert b"{" in body
            assert "max-age=86400" in headers["Cache-Control"]
            assert "X-Cache" not in headers  # nginx answered alone
            # The campaign page is kept a few seconds; the second answer is nginx's copy.
            first = _request(https_port, "GET", "/en/")
            second = _request(https_port, "GET", "/en/")
            assert (first[0], second[0]) == (200, 200)
            assert second[1]["X-Cache"] == "HIT"
            assert second[2] == first[2]
            # A staff page (which sets a cookie) is never kept.
            login = [_request(https_port, "GET", "/staff/login") for _ in range(2)]
            assert all(r[1].get("X-Cache") != "HIT" for r in login)
            assert "Set-Cookie" in login[1][1]
            # Metrics are not reachable through nginx, even with the token.
            status, _, _ = _request(https_port, "GET", "/metrics",
                                    headers={"Authorization": "Bearer scrape-token"})  # fmt: skip
            assert status == 404
            assert _request(app1, "GET", "/metrics", tls=False,
                            headers={"Authorization": "Bearer scrape-token"})[0] == 200  # fmt: skip
            # A body larger than the app takes never reaches it.
            big = b"x" * (65 * 1024)
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            status, _, _ = _request(https_port, "POST", "/en/privacy/erase", body=big, headers=form)
            assert status == 413
            # HTTP/2 is offered.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["h2", "http/1.1"])
            import socket

            with socket.create_connection(("127.0.0.1", https_port)) as raw, \
                    context.wrap_socket(raw) as tls:  # fmt: skip
                assert tls.selected_alpn_protocol() == "h2"
            # The onion server block reaches the app, which answers to its host name.
            status, headers, body = _request(onion, "GET", "/en/privacy", tls=False,
                                             headers={"Host": ONION_HOST})  # fmt: skip
            assert status == 200
            assert "Onion-Location" not in headers
            # The public address tells Tor Browser where the same page is on the onion.
            public = _request(https_port, "GET", "/en/privacy")[1]
            assert public["Onion-Location"] == f"http://{ONION_HOST}/en/privacy"
    finally:
        server.terminate()
        server.wait(20)
    log = (prefix / "logs" / "campaign.access.log").read_text()
    assert "/en/" in log
    assert "127.0.0.1" not in log


def test_a_backup_restores_into_an_empty_database(tmp_path, fresh_postgres):  # noqa: F811
    if shutil.which("pg_dump") is None:
        pytest.skip("needs pg_dump")
    env = production_env(tmp_path, fresh_postgres, "http://127.0.0.1")
    prepare(env)
    engine = create_engine(fresh_postgres)

    def contents(url: str) -> tuple:
        other = create_engine(url)
        with other.connect() as connection:
            found = (
                connection.scalar(text("SELECT count(*) FROM demands")),
                connection.scalar(text("SELECT title FROM campaigns")),
                connection.scalar(text("SELECT version_num FROM alembic_version")),
            )
        other.dispose()
        return found

    before = contents(fresh_postgres)
    folder = tmp_path / "backups"
    env["BACKUP_KEEP"] = "2"
    made = []
    for _ in range(3):
        done = subprocess.run([str(DEPLOY / "backup" / "backup.sh"), str(folder)], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        made.append(Path(done.stdout.strip()))
        time.sleep(1.1)  # dumps are named by the second
    # The rotation keeps the newest two, and only finished dumps.
    assert sorted(folder.iterdir()) == sorted(made[1:])
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    done = subprocess.run([str(DEPLOY / "backup" / "restore.sh"), str(made[-1])], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert contents(fresh_postgres) == before
    # A damaged dump is refused before anything is touched.
    broken = tmp_path / "broken.dump"
    broken.write_bytes(made[-1].read_bytes()[:100])
    done = subprocess.run([str(DEPLOY / "backup" / "restore.sh"), str(broken)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0
    assert contents(fresh_postgres) == before
