"""Logs without people: every log record of the process is redacted when it is made.

Mailed links carry tokens in their paths, query strings may carry anything, and
exceptions from the database quote the values of the failed statement. Whatever logger
writes a record (the app, Werkzeug's development server, gunicorn's access log,
SQLAlchemy), the record is formatted, stripped of tokens, query strings, e-mail addresses
and network addresses, and only then handed on. Names cannot be recognised in free text,
so the code never logs them; a test runs a whole flow and searches the logs for them.
"""

from __future__ import annotations

import logging
import re
import traceback

# The link prefixes whose next path segment is a secret.
TOKEN_PATH = re.compile(r"(/(?:confirm|erase|unsubscribe|my)/+)[^/\s?\"'#]+")
# A token wherever it appears (percent-encoded paths, doubled slashes, Referer headers):
# 32 random bytes in URL-safe base64 are 43 such characters; nothing else we log is.
TOKEN_ANYWHERE = re.compile(r"(?<![\w-])[A-Za-z0-9_-]{40,}(?![\w-])")
QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")
EMAIL = re.compile(r"[\w.!#$%&'*+/=^`{|}~-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.UNICODE)
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
# Full (eight groups) or compressed ("::") forms, with an optional IPv4 tail; a time
# such as 2026:20:42:35 has neither.
IPV6 = re.compile(
    r"(?<![\w:.])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?"
    r"(?::\d{1,3}(?:\.\d{1,3}){3})?)(?![\w:]|\.\d)"
)


def redact(text: str) -> str:
    """``text`` without link tokens, query strings, e-mail or network addresses."""
    text = TOKEN_PATH.sub(r"\1[token]", text)
    text = TOKEN_ANYWHERE.sub("[token]", text)
    text = QUERY.sub(r"\1?[query]", text)
    text = EMAIL.sub("[email]", text)
    text = IPV6.sub("[address]", text)
    return IPV4.sub("[address]", text)


_installed = False


def install() -> None:
    """Redact every log record made in this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def _redacted_record(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(_redacted_record)
    _installed = True
