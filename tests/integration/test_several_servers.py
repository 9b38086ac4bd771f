"""Two app servers, two workers, one PostgreSQL, one Redis, nginx in front: one platform.

The tests run in order on one cluster (the last one stops a server).
"""

from __future__ import annotations

import email
import http.client
import json
import re
import ssl
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from campaign.packets.builder import BUILD_JOB
from tests.conftest import SEED_SLUG, form_data
from tests.faults.servers import ROOT, get, kill, post_form
from tests.faults.test_killed import AFTER_FIRST_PACKET, STALLING_WORKER
from tests.integration.conftest import STAFF, Cluster, wait_for

VISIT = "hu-jintao-state-visit-2011"


def _demands(cluster: Cluster) -> list[int]:
    return [row[0] for row in cluster.sql("SELECT id FROM demands ORDER BY position")]


def _mails_to(cluster: Cluster, address: str) -> list[email.message.Message]:
    found = []
    for path in cluster.mail.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(message["To"]).strip().lower() == address:
            found.append(message)
    return found


def _total(port: int) -> int:
    status, body = get(port, f"/api/v1/campaigns/{SEED_SLUG}")
    assert status == 200
    return json.loads(body)["signatures"]


def _confirm_link(cluster: Cluster, address: str) -> str:
    """The path of the confirmation link mailed to ``address``, once the worker sent it."""
    [message] = wait_for(lambda: _mails_to(cluster, address), what="the confirmation mail")
    body = message.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/\S*/confirm/\S+)", body).group(1)


def test_signed_on_one_confirmed_on_the_other_counted_once(cluster: Cluster):
    a, b = cluster.apps
    address = "first@example.org"
    status = post_form(
        a, f"/en/c/{SEED_SLUG}/sign", form_data(email=address, demand_ids=_demands(cluster)[:2])
    )
    assert status == 303
    path = _confirm_link(cluster, address)
    assert get(b, path)[0] == 200
    assert post_form(b, path, {}) == 303
    assert post_form(a, path, {}) == 303  # pressed again on the first: still one
    wait_for(lambda: _total(a) == 1 and _total(b) == 1, what="both servers counting it")
    rows = cluster.sql("SELECT state FROM signatures")
    assert rows == [("confirmed",)]


def test_counts_agree_on_both_servers(cluster: Cluster):
    a, b = cluster.apps
    before = _total(a)
    # Different names: near-identical ones from one address would be held for review.
    names = ("Ana Lima", "Bo Chen", "Carl Berg", "Dina Roy", "Eli Park")
    for n, name in enumerate(names):
        address = f"agree{n}@example.org"
        form = form_data(email=address, name=name, demand_ids=_demands(cluster))
        # Signed on one server, confirmed on the other.
        assert post_form(a if n % 2 else b, f"/en/c/{SEED_SLUG}/sign", form) == 303
        assert post_form(b if n % 2 else a, _confirm_link(cluster, address), {}) == 303
    wait_for(lambda: _total(a) == _total(b) == before + 5, what="both servers counting five more")
    pages = [get(port, f"/en/c/{SEED_SLUG}/") for port in (a, b)]
    # The same rendering (counts included) from either server.
    assert pages[0] == pages[1]
    assert pages[0][0] == 200


def test_a_rate_limit_reached_on_one_holds_on_the_other(cluster: Cluster):
    a, b = cluster.apps
    headers = {"X-Forwarded-For": "203.0.113.9"}

    def erase(port: int) -> int:
        body = urllib.parse.urlencode({"email": "limit@example.org"})
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", "/en/privacy/erase", body=body, headers={
                **headers, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
            return connection.getresponse().status
        finally:
            connection.close()

    allowed = [erase(a), erase(a), erase(b)]
    assert 429 not in allowed
    assert erase(b) == 429
    assert erase(a) == 429


class _Staff:
    """An organiser's browser: one cookie jar, any server."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, port: int, path: str) -> tuple[int, bytes, str]:
        try:
            with self.opener.open(f"http://127.0.0.1:{port}{path}", timeout=20) as answer:
                return answer.status, answer.read(), answer.url
        except urllib.error.HTTPError as error:
            return error.code, error.read(), path

    def post(self, port: int, path: str, data: dict) -> tuple[int, bytes, str]:
        page = self.get(port, path if data.pop("_form_here", False) else "/staff/")[1]
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        data.setdefault("csrf_token", token.group(1).decode() if token else "")
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
        try:
            with self.opener.open(request, timeout=20) as answer:
                return answer.status, answer.read(), answer.url
        except urllib.error.HTTPError as error:
            return error.code, error.read(), path


def test_a_build_killed_mid_way_is_finished_once_and_served_by_both(cluster: Cluster):
    a, b = cluster.apps
    staff = _Staff()
    login = staff.post(a, "/staff/login", {"email": STAFF[0], "password": STAFF[1],
                                           "_form_here": True})  # fmt: skip
    assert login[0] == 200
    assert "/staff/login" not in login[2], login[1][:500]
    [(visit_id,)] = cluster.sql("SELECT id FROM visits WHERE slug = :slug", slug=VISIT)
    officials = cluster.sql("SELECT count(*) FROM visit_officials WHERE visit_id = :v", v=visit_id)[
        0
    ][0]
    # The two workers wait; a third, which will be killed, takes the build.
    cluster.pause_workers()
    try:
        script = STALLING_WORKER.format(patch=AFTER_FIRST_PACKET)
        doomed = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=cluster.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        status, _, where = staff.post(a, f"/staff/visits/{visit_id}/build", {})
        assert status == 200
        assert "/builds/" in where
        assert doomed.stdout.readline().strip() == b"stalled"
        kill(doomed.pid)
        doomed.wait(10)
        doomed.stdout.close()
        # Its lease would end in 15 minutes; here, now.
        cluster.sql(
            "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE state = 'running'"
        )
    finally:
        cluster.resume_workers()
    build_path = urllib.parse.urlsplit(where).path
    wait_for(lambda: cluster.sql("SELECT state FROM packet_builds") == [("done",)], timeout=120,
             what="the build finishing")  # fmt: skip
    [(build_id,)] = cluster.sql("SELECT id FROM packet_builds")
    assert (
        cluster.sql("SELECT count(*) FROM packets WHERE build_id = :b", b=build_id)[0][0]
        == officials
    )
    zips = []
    for port in (a, b):
        status, body, _ = staff.get(port, build_path + "/zip")
        assert status == 200
        assert body[:2] == b"PK"
        zips.append(body)
    assert zips[0] == zips[1]
    assert (
        cluster.sql("SELECT count(*) FROM jobs WHERE kind = :k AND state = 'done'", k=BUILD_JOB)[0][
            0
        ]
        == 1
    )


def test_the_outbox_drains_exactly_once_with_two_workers(cluster: Cluster):
    addresses = [f"many{n}@example.org" for n in range(30)]
    for n, address in enumerate(addresses):
        port = cluster.apps[n % 2]
        assert (
            post_form(
                port,
                f"/en/c/{SEED_SLUG}/sign",
                form_data(email=address, demand_ids=_demands(cluster)[:1]),
            )
            == 303
        )
    wait_for(lambda: all(_mails_to(cluster, a) for a in addresses), timeout=90, what="every mail")
    waiting = "SELECT 1 FROM outbox_messages WHERE state IN ('queued', 'sending')"
    wait_for(lambda: not cluster.sql(waiting), what="an empty outbox")
    assert sorted(len(_mails_to(cluster, a)) for a in addresses) == [1] * 30


def test_stopping_one_server_loses_no_accepted_signature(cluster: Cluster):
    a, _ = cluster.apps
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    answers: list[tuple[str, int | None]] = []

    def sign(address: str) -> int | None:
        body = urllib.parse.urlencode(
            form_data(email=address, demand_ids=_demands(cluster)[:1]), doseq=True
        )
        connection = http.client.HTTPSConnection(
            "127.0.0.1", cluster.https, timeout=15, context=context
        )
        try:
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "Sec-Fetch-Site": "same-origin"}  # fmt: skip
            connection.request("POST", f"/en/c/{SEED_SLUG}/sign", body=body, headers=headers)
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def sender() -> None:
        for n in range(60):
            address = f"steady{n}@example.org"
            answers.append((address, sign(address)))
            if n == 20:
                cluster.servers[a].terminate()  # a graceful stop, as `systemctl stop`

    thread = threading.Thread(target=sender)
    thread.start()
    thread.join(120)
    cluster.servers[a].wait(30)
    assert [status for _, status in answers] == [303] * 60
    accepted = {address for address, _ in answers}
    wait_for(lambda: not cluster.sql("SELECT 1 FROM submissions WHERE state = 'received'"),
             what="every submission taken")  # fmt: skip
    stored = {
        row[0] for row in cluster.sql("SELECT email FROM signatures WHERE email LIKE 'steady%'")
    }
    assert stored == accepted
