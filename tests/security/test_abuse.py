"""The public forms answer the same, in content and in time, whether the address signed or not.

The statements each request issues are compared exactly (the part that cannot be noise),
then the time: interleaved tries of both cases, whose medians must differ by less than the
spread of the tries themselves. No absolute threshold: the comparison is between two cases
measured together on the same machine.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import event

from campaign.extensions import db
from tests.conftest import confirm, confirm_link, deliver, mails, sign

SIGNED, STRANGER = "jane@example.org", "nobody@example.org"


def _statements(app, send) -> list[str]:
    """The SQL a request issues, with values stripped (only their shape is compared)."""
    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        response = send()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert response.status_code in (200, 303)
    return seen


def _timed(send) -> float:
    start = time.perf_counter()
    send()
    return time.perf_counter() - start


def _same_within_noise(app, send_signed, send_stranger, tries: int = 40) -> None:
    for send in (send_signed, send_stranger):  # warm both paths
        send()
    signed, stranger = [], []
    for _ in range(tries):
        signed.append(_timed(send_signed))
        stranger.append(_timed(send_stranger))
    both = sorted(signed + stranger)
    quartiles = statistics.quantiles(both, n=4)
    spread = quartiles[2] - quartiles[0]
    difference = abs(statistics.median(signed) - statistics.median(stranger))
    assert difference <= max(spread, 0.15 * statistics.median(both)), (
        f"signed {statistics.median(signed) * 1e3:.2f} ms, stranger "
        f"{statistics.median(stranger) * 1e3:.2f} ms, spread {spread * 1e3:.2f} ms"
    )


def _signed_and_confirmed(client, app, seeded) -> None:
    sign(client, seeded, email=SIGNED)
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))


def test_the_erasure_form_does_the_same_work_for_any_address(client, app, seeded):
    _signed_and_confirmed(client, app, seeded)

    def ask(address):  # noqa: ANN001, ANN202
        return lambda: client.post("/en/privacy/erase", data={"email": address})

    signed, stranger = _statements(app, ask(SIGNED)), _statements(app, ask(STRANGER))
    assert signed == stranger
    assert not any("signatures" in s for s in signed)  # the look-up is the worker's
    assert ask(SIGNED)().get_data() == ask(STRANGER)().get_data()
    _same_within_noise(app, ask(SIGNED), ask(STRANGER))


def test_the_signing_form_does_the_same_work_for_any_address(client, app, seeded):
    _signed_and_confirmed(client, app, seeded)
    url = f"/en/c/{seeded['slug']}/sign"
    demands = [str(d) for d in seeded["demand_ids"]]
    headers = {"Sec-Fetch-Site": "same-origin"}

    def post(address):  # noqa: ANN001, ANN202
        data = {"name": "Jane Doe", "email": address, "country": "US", "demands": demands,
                "display": "full"}  # fmt: skip
        return lambda: client.post(url, data=data, headers=headers)

    assert _statements(app, post(SIGNED)) == _statements(app, post(STRANGER))
    first, second = post(SIGNED)(), post(STRANGER)()
    assert first.headers["Location"] == second.headers["Location"]
    _same_within_noise(app, post(SIGNED), post(STRANGER))
