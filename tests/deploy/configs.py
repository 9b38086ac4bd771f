"""The shipped files of ``deploy/``, rendered for this machine: ports, folders, a certificate.

Each substitution must find what it replaces, so a change to a shipped file that the tests
no longer cover fails here instead of passing unchecked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ONION_HOST = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz2345.onion"


def substitute(text: str, replacements: dict[str, str]) -> str:
    """``text`` with each key replaced; each key must occur."""
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{old!r} no longer occurs in the shipped file")
        text = text.replace(old, new)
    return text


def certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 in ``folder`` (fullchain.pem, privkey.pem)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", str(folder / "privkey.pem"),
         "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


def nginx_prefix(folder: Path, http: int, https: int, onion: int, apps: tuple[int, int]) -> Path:
    """An nginx prefix holding the shipped site files, ready for ``nginx -p folder``."""
    for sub in ("logs", "cache", "snippets", "temp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    certs = certificate(folder / "certs")
    replacements = {
        "127.0.0.1:8001": f"127.0.0.1:{apps[0]}",
        "127.0.0.1:8002": f"127.0.0.1:{apps[1]}",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen [::]:80;\n": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen [::]:443 ssl http2;\n": "",
        "listen 127.0.0.1:8080;": f"listen 127.0.0.1:{onion};",
        "/etc/ssl/campaign/": f"{certs}/",
        "/var/cache/nginx/campaign": str(folder / "cache"),
        "/var/log/nginx/": f"{folder / 'logs'}/",
        "/srv/campaign/app/campaign/static/": f"{ROOT / 'campaign' / 'static'}/",
        "/etc/nginx/snippets/": f"{folder / 'snippets'}/",
        "server_name petition.example.org;": "server_name 127.0.0.1;",
        "https://petition.example.org$request_uri": f"https://127.0.0.1:{https}$request_uri",
    }
    files = {
        folder / "campaign.conf": DEPLOY / "nginx" / "campaign.conf",
        folder / "snippets" / "campaign-site.conf": DEPLOY / "nginx" / "campaign-site.conf",
        folder / "snippets" / "campaign-proxy.conf": DEPLOY / "nginx" / "campaign-proxy.conf",
    }
    texts = {target: source.read_text() for target, source in files.items()}
    unused = [old for old in replacements if not any(old in t for t in texts.values())]
    assert not unused, f"{unused} no longer occur in deploy/nginx"
    for target, content in texts.items():
        for old, new in replacements.items():
            content = content.replace(old, new)
        target.write_text(content)
    temp = folder / "temp"
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {folder / "nginx.pid"};
error_log {folder / "logs" / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder / "campaign.conf"};
}}
"""
    )
    return folder


def nginx_binary() -> str | None:
    """Debian's nginx, if installed."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def check_nginx(prefix: Path) -> subprocess.CompletedProcess:
    """``nginx -t`` on a rendered prefix."""
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@contextmanager
def nginx(prefix: Path, port: int) -> Iterator[subprocess.Popen]:
    """nginx running on a rendered prefix until the block ends."""
    import socket

    log = (prefix / "logs" / "stdout.log").open("wb")
    server = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (prefix / "logs" / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def systemd_units(folder: Path) -> list[Path]:
    """The shipped units with the project's folder for /srv/campaign/app (their binaries)."""
    folder.mkdir(parents=True, exist_ok=True)
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = (
            substitute(unit.read_text(), {"/srv/campaign/app": str(ROOT)})
            if ("ExecStart" in unit.read_text())
            else unit.read_text()
        )
        name = unit.name.replace("@.service", "@8001.service")
        (folder / name).write_text(text)
        units.append(folder / name)
    return units
