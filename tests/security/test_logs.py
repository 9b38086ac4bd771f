"""Logs without people: a whole sign, confirm and erase flow leaves no personal data in any
log line, in this process and under a real gunicorn with its access log (finding 8)."""

from __future__ import annotations

import email
import email.policy
import http.cookiejar
import logging
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from campaign.logsafe import redact
from tests.conftest import (
    SEED_SLUG,
    confirm,
    confirm_link,
    deliver,
    erase_by_link,
    free_port,
    mails,
    sign,
)
from tests.faults.servers import production_env

ROOT = Path(__file__).resolve().parents[2]
NAME = "Zhang Wenjuan"
ADDRESS = "wenjuan.zhang+petition@example.org"


def test_in_process_logs_of_a_whole_flow_hold_no_person(client, app, seeded, caplog):
    caplog.set_level(logging.DEBUG)
    sign(client, seeded, name=NAME, email=ADDRESS, region="Chengdu")
    deliver(app)
    link = confirm_link(mails(app)[0])
    confirm(client, link)
    secrets_seen = [link.rsplit("/", 1)[1], erase_by_link(client, app, ADDRESS)]
    # Something that logs what it should not, as a careless extension might:
    logging.getLogger("werkzeug").info(
        '127.0.0.1 - - [01/Dec/2026 20:00:00] "GET %s?email=%s HTTP/1.1" 200 -', link, ADDRESS
    )
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert caplog.records, "the flow logged nothing: the test would prove nothing"
    for needle in (ADDRESS, "wenjuan.zhang", NAME, "Chengdu", "127.0.0.1", *secrets_seen):
        assert needle not in text


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('203.0.113.9 - - "GET /en/confirm/AbC_12-x HTTP/1.1" 200', '"GET /en/confirm/[token]'),
        ('::ffff:10.0.0.1 "POST /zh-hans/erase/tok?next=/x HTTP/1.1"', "/zh-hans/erase/[token]"),
        ("2001:db8::1 GET /en/unsubscribe/abc", "[address] GET /en/unsubscribe/[token]"),
        (
            "fe80:0:0:0:202:b3ff:fe1e:8329 at [01/Dec/2026:20:42:35 +0000]",
            "[address] at [01/Dec/2026:20:42:35 +0000]",
        ),
        ("::ffff:192.0.2.1 and ::1 left", "[address] and [address] left"),
        ("sent to a.b+c@example.org (a%40b.org)", "sent to [email] ([email])"),
        ("GET /staff/moderation?page=2 at 20:21:19", "GET /staff/moderation?[query] at 20:21:19"),
    ],
)
def test_redaction_keeps_the_shape_of_a_line(line, kept):
    assert kept in redact(line)


def test_a_database_error_in_the_logs_carries_no_values(app, caplog):
    from sqlalchemy import text

    from campaign.extensions import db

    with app.app_context():
        try:
            db.session.execute(text("SELECT * FROM nowhere WHERE x = :v"), {"v": ADDRESS})
        except Exception:
            logging.getLogger("campaign").exception("query failed")
        db.session.rollback()
    assert "query failed" in caplog.text
    assert ADDRESS not in caplog.text


def _wait_for_mail(folder: Path, count: int) -> list[email.message.Message]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        if len(files) >= count:
            return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                    for p in files]  # fmt: skip
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} mails in {folder}")


@pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL") is not None, reason="runs on SQLite")
def test_gunicorn_access_and_error_logs_of_a_whole_flow_hold_no_person(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = production_env(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", base)
    for args in (["db", "upgrade"], ["campaign", "seed"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                       env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    (tmp_path / "gunicorn.conf.py").touch()  # ignore any configuration in the project
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(tmp_path / "gunicorn.conf.py"), "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", str(access),
         "--error-logfile", str(errors), "--log-level", "debug", "wsgi:app"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--interval", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=worker_log,
    )  # fmt: skip
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        urllib.request.HTTPRedirectHandler(),
    )

    def fetch(path: str, data: dict | None = None) -> str:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers={"Referer": base + path})
        with opener.open(request, timeout=10) as response:
            return response.read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                fetch("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        page = fetch(f"/en/c/{SEED_SLUG}/")
        demands = re.findall(r'name="demands" id="demands-\d+" value="(\d+)"', page)
        assert demands
        fetch(f"/en/c/{SEED_SLUG}/sign", {
            "name": NAME, "email": ADDRESS, "country": "CN",
            "region": "Chengdu", "display": "full", "name_in_letters": "y", "demands": demands,
        })  # fmt: skip
        [message] = _wait_for_mail(tmp_path / "mail", 1)
        link = re.search(r"(https?://\S+/confirm/\S+)", message.get_body(("plain",)).get_content())
        confirm_path = link.group(1).removeprefix(base)
        assert "Confirm your signature" in fetch(confirm_path)
        assert "confirmed" in fetch(confirm_path, {})
        fetch("/en/privacy/erase", {"email": ADDRESS})
        erase_mail = _wait_for_mail(tmp_path / "mail", 2)[-1]
        erase_url = re.search(r"(https?://\S+/erase/\S+)", erase_mail.get_body(("plain",))
                              .get_content()).group(1)  # fmt: skip
        erase_path = erase_url.removeprefix(base)
        assert "Erase" in fetch(erase_path)
        assert "has been erased" in fetch(erase_path, {})
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            process.wait(timeout=20)
        worker_log.close()
    access_log = access.read_text()
    error_log = errors.read_text() + (tmp_path / "worker.log").read_text()
    assert "/en/confirm/[token]" in access_log  # the requests were logged, redacted
    tokens = [confirm_path.rsplit("/", 1)[1], erase_path.rsplit("/", 1)[1]]
    for needle in (ADDRESS, "wenjuan.zhang", NAME, "Chengdu", *tokens):
        assert needle not in access_log
        assert needle not in error_log
    assert "127.0.0.1" not in access_log
    assert re.search(r"\[\d\d/\w+/\d{4}:\d\d:\d\d:\d\d", access_log)  # times stay readable


JSON_CHILD = """
import sys
from campaign import create_app
app = create_app()
client = app.test_client()
client.get("/en/confirm/" + sys.argv[1] + "?email=wenjuan%40example.org",
           headers={"X-Request-ID": "proxy-id-1234"}, base_url="http://127.0.0.1")
client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"},
           base_url="http://127.0.0.1")
"""


def test_production_logs_one_json_line_per_request_without_a_person(tmp_path):
    import json

    from tests.faults.servers import production_env

    token = secrets.token_urlsafe(32)
    env = production_env(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", "http://127.0.0.1")
    env.pop("LOG_FORMAT", None)  # production's default
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
    done = subprocess.run([sys.executable, "-c", JSON_CHILD, token], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "campaign.requests"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("GET", "/<lang>/confirm/<token>", 404),
        ("GET", "/healthz", 200),
    ]
    first, second = requests
    assert first["request_id"] == "proxy-id-1234"  # the proxy's id, carried through
    assert second["request_id"] != "bad id with spaces"
    assert len(second["request_id"]) == 32
    assert all(isinstance(r["duration_ms"], float) for r in requests)
    for needle in (token, "wenjuan", "127.0.0.1", "email="):
        assert needle not in done.stderr
