"""Mail backends: ``file`` (one .eml per message), ``smtp`` and ``console``."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from flask import current_app

from campaign.mail.models import OutboxMessage


class Backend(Protocol):
    """Something that sends one message or raises."""

    def send(self, message: EmailMessage) -> None:  # pragma: no cover - protocol
        """Deliver ``message`` or raise an exception."""


def build_message(row: OutboxMessage, sender: str, readable: bool = False) -> EmailMessage:
    """Turn an outbox row into a MIME message (plain text, with an HTML alternative).

    ``readable`` writes the parts as 8-bit text instead of quoted-printable, so that a
    developer opening an .eml file in an editor can copy links from it.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    # Forms refuse line breaks in subjects; this keeps an older row from failing forever.
    message["Subject"] = one_line(row.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox{row.id}")
    message["Auto-Submitted"] = "auto-generated"
    for line in row.headers.splitlines():
        name, _, value = line.partition(":")
        if name.strip() and value.strip():
            message[name.strip()] = value.strip()
    cte = "8bit" if readable else None
    message.set_content(row.body_text, cte=cte)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html", cte=cte)
    return message


def one_line(value: str) -> str:
    """``value`` with every run of whitespace, line breaks included, as one space."""
    return " ".join(value.split())


class FileBackend:
    """Writes each message to ``MAIL_FILE_DIR`` as one ``.eml`` file."""

    readable = True

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically, so a reader never sees half a file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = message["Message-ID"].strip("<>").split("@")[0].replace(".", "-")
        final = self.directory / f"{stem}.eml"
        partial = final.with_suffix(".part")
        partial.write_bytes(bytes(message))
        partial.replace(final)

    def forget(self, recipient: str) -> int:
        """Delete every file addressed to ``recipient`` (a supporter erased their data)."""
        if not self.directory.is_dir():
            return 0
        parser = BytesHeaderParser(policy=default)
        removed = 0
        for path in self.directory.glob("*.eml"):
            with path.open("rb") as fh:
                headers = parser.parse(fh)
            if str(headers.get("To", "")).strip().lower() == recipient.lower():
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class ConsoleBackend:
    """Prints each message to standard output."""

    readable = True

    def send(self, message: EmailMessage) -> None:
        """Print the message."""
        sys.stdout.write(message.as_string() + "\n" + "-" * 72 + "\n")
        sys.stdout.flush()


class SmtpBackend:
    """Delivers through an SMTP server, with STARTTLS when ``MAIL_USE_TLS``."""

    def __init__(self, config: dict) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        """Open a connection and send one message."""
        cfg = self.config
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            smtp.send_message(message)


def get_backend() -> Backend:
    """The backend named by ``MAIL_BACKEND``."""
    cfg = current_app.config
    name = cfg["MAIL_BACKEND"]
    if name == "file":
        return FileBackend(cfg["MAIL_FILE_DIR"])
    if name == "console":
        return ConsoleBackend()
    if name == "smtp":
        return SmtpBackend(cfg)
    raise RuntimeError(f"Unknown MAIL_BACKEND {name!r}: use file, smtp or console")
