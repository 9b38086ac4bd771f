"""The browser suite: Debian's Chromium, driven by Playwright, against the app under
gunicorn with its own database, mail folder and worker. Run with `make test-browser`
(`.ci/run` does); `make test` skips this folder and says how to run it."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.faults.servers import FLASK, ROOT, gunicorn, prepare, production_env

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium calls Google's hosts at start, which a
# closed network refuses, and which the zero-third-party-requests check would see.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
PASSWORD = "a long browser-suite password"
STAFF = {
    "moderator": "moderator@example.org",
    "organiser": "organiser@example.org",
    "admin": "admin@example.org",
}
SCREENSHOTS = ROOT / "docs" / "screenshots"
ASKED = os.environ.get("CAMPAIGN_BROWSER") == "1"
HOW = "browser suite: run `make test-browser` (needs Chromium: apt-get install -y chromium)"


def chromium_found() -> bool:
    """Whether the Chromium this suite drives is installed."""
    return Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is not None


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201 - pytest's hook
    """Skipped unless asked for; asked for without Chromium, a clear error."""
    ours = [item for item in items if "tests/browser/" in str(item.fspath)]
    if not ours:
        return
    if ASKED:
        if not chromium_found():
            raise pytest.UsageError(f"{CHROMIUM} not found: apt-get install -y chromium")
        return
    reason = HOW if chromium_found() else f"Chromium not found; {HOW}"
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=reason))
    config._campaign_browser_skipped = (len(ours), reason)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001, ANN201
    """Say that the browser journeys did not run, and how to run them."""
    skipped = getattr(config, "_campaign_browser_skipped", None)
    if skipped:
        terminalreporter.write_line(f"{skipped[0]} browser tests skipped: {skipped[1]}")


@dataclass
class Site:
    """The running app: where it answers, where it writes, and how to act on it."""

    base: str
    folder: Path
    env: dict[str, str]
    worker: subprocess.Popen | None = None
    slug: str = "us-china-human-rights-2011"

    @contextmanager
    def worker_paused(self) -> Iterator[None]:
        """The worker stopped (SIGSTOP) inside the block: queued work waits for it."""
        os.kill(self.worker.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.worker.pid, signal.SIGCONT)

    @property
    def host(self) -> str:
        return self.base.split("://", 1)[1]

    def url(self, path: str) -> str:
        return self.base + path

    def flask(self, *args: str, stdin: str = "") -> str:
        """Run a `flask` command on the site's database; its output."""
        done = subprocess.run([*FLASK, *args], cwd=ROOT, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def mails_to(self, address: str) -> list[Message]:
        """Every mail written to ``address`` so far, oldest first."""
        files = sorted((self.folder / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        found = []
        for path in files:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address in str(message["To"]):
                found.append(message)
        return found

    def wait_for_mail(self, address: str, count: int = 1, timeout: float = 30) -> Message:
        """The ``count``-th mail to ``address``, once the worker has sent it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.mails_to(address)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.2)
        raise AssertionError(f"no mail number {count} to {address} within {timeout}s")

    def link_in(self, message: Message, kind: str) -> str:
        """The address of the ``/<lang>/<kind>/<token>`` link in a mail's plain text."""
        body = message.get_body(("plain",)).get_content()
        match = re.search(rf"{re.escape(self.base)}/[a-z-]+/{kind}/\S+", body)
        assert match, body
        return match.group(0)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """gunicorn and one worker on a fresh SQLite database, migrated and seeded."""
    folder = tmp_path_factory.mktemp("site")
    (folder / "mail").mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = production_env(folder, f"sqlite:///{folder / 'site.db'}", base)
    # Every supporter here signs from 127.0.0.1, many within minutes, some with the same
    # name: the hold rules (tested in tests/moderation) would hold them for review.
    env.update(PYTHONUNBUFFERED="1", HOLD_BURST_PER_ADDRESS="1000000", HOLD_SIMILAR_NAMES="1000000")
    steps = [["users", "create", address, "--role", role] for role, address in STAFF.items()]
    steps[-1] += ["--role", "organiser", "--role", "moderator"]  # admin: every staff page
    prepare(env, *steps, stdin=PASSWORD + "\n")  # each command reads the password
    with (folder / "worker.log").open("wb") as log:
        worker = subprocess.Popen([*FLASK, "worker", "--interval", "0.2"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        with gunicorn(env, port, workers=2, log=folder / "gunicorn.log"):
            yield Site(base=base, folder=folder, env=env, worker=worker)
    finally:
        worker.terminate()
        worker.wait(15)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def new_page(browser, site: Site):  # noqa: ANN001, ANN201 - Playwright's objects
    """``new_page(viewport, javascript=True)``: a page in a fresh context, whose every
    request is recorded; at the end, none may have gone to another host."""
    contexts = []
    requests: list[str] = []

    def make(viewport: dict = DESKTOP, javascript: bool = True, **options):  # noqa: ANN202
        context = browser.new_context(viewport=viewport, java_script_enabled=javascript,
                                      accept_downloads=True, **options)  # fmt: skip
        context.set_default_timeout(15_000)
        context.on("request", lambda request: requests.append(request.url))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    foreign = [u for u in requests if not u.startswith((site.base + "/", "data:", "blob:"))]
    assert foreign == [], foreign


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``viewport`` and ``javascript``: each public journey at both sizes, JS on and off."""
    if "viewport" in metafunc.fixturenames and "javascript" in metafunc.fixturenames:
        metafunc.parametrize(
            ("viewport", "javascript"),
            [(v, js) for v in VIEWPORTS.values() for js in (True, False)],
            ids=[f"{name}-{'js' if js else 'nojs'}" for name in VIEWPORTS for js in (True, False)],
        )
    elif "viewport" in metafunc.fixturenames:
        metafunc.parametrize("viewport", list(VIEWPORTS.values()), ids=list(VIEWPORTS))
