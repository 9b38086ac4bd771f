"""CSV output that spreadsheets cannot turn into formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

# What a spreadsheet would start a formula with.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def bom_writer(out: TextIO) -> Any:
    """A ``csv.writer`` on ``out`` after a byte-order mark, so spreadsheets read Chinese."""
    out.write("\ufeff")
    return csv.writer(out)


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Yield a formula-safe CSV document line by line (UTF-8 with BOM)."""
    buffer = io.StringIO()
    writer = bom_writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
