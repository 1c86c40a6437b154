"""Text that leaves the system in a spreadsheet, CSV or document.

Every CSV/XLSX/DOCX writer passes each value through :func:`safe_cell` (one helper,
so no writer can forget): characters that openpyxl, Word or PostgreSQL refuse are
removed, and text that a spreadsheet would run as a formula (``= + - @`` and a
leading tab or carriage return, as OWASP's CSV-injection advice lists them) is
prefixed with an apostrophe so it is shown as typed. Numbers, dates and ``None``
pass unchanged. The audit bundle's canonical data (what the hashes cover) is not
written through this helper: it stays exact.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 controls except tab, line feed and carriage return; DEL; and the C1 range.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(value: str) -> str:
    """``value`` without control characters other than tab, newline and carriage return."""
    return CONTROL.sub("", value)


def safe_cell(value: Any) -> Any:
    """A value safe to write into a CSV/XLSX cell or a DOCX paragraph."""
    if not isinstance(value, str):
        return value
    text = clean_text(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
