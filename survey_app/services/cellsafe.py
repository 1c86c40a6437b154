"""Text that leaves the system in a spreadsheet, CSV or document.

Every CSV/XLSX/DOCX writer passes each value through :func:`safe_cell` (one helper,
so no writer can forget): characters that openpyxl, Word or PostgreSQL refuse are
removed, and text that a spreadsheet would run as a formula (``= + - @`` and a
leading tab or carriage return, as OWASP's CSV-injection advice lists them) is
prefixed with an apostrophe so it is shown as typed. Numbers, dates and ``None``
pass unchanged, and so does text that is a plain number (``-3.5``, ``+12%``): no
spreadsheet runs it, and an apostrophe would spoil it.

The audit bundle's CSVs carry the canonical data the hashes cover, so they must stay
exact: they use ``safe_cell(value, exact=True)``, which keeps control characters and
escapes reversibly (a value that starts with an apostrophe gets one more), and
:func:`unescape_exact` (also in ``analysis.verify``) gives back the stored value.
"""

from __future__ import annotations

import re
from typing import Any

from analysis.chain import unescape_cell

#: C0 controls except tab, line feed and carriage return; DEL; and the C1 range.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?%?")


def has_control(value: str) -> bool:
    """Whether ``value`` holds a character :func:`clean_text` would remove."""
    return CONTROL.search(value) is not None


def clean_text(value: str) -> str:
    """``value`` without control characters other than tab, newline and carriage return."""
    return CONTROL.sub("", value)


def safe_cell(value: Any, *, exact: bool = False) -> Any:
    """A value safe to write into a CSV/XLSX cell or a DOCX paragraph.

    With ``exact`` (the audit bundle's canonical CSVs) control characters are kept and
    the escape is reversible by :func:`unescape_exact`.
    """
    if not isinstance(value, str):
        return value
    text = value if exact else clean_text(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    if exact and text.startswith("'"):
        return "'" + text
    return text


#: the value :func:`safe_cell` with ``exact=True`` was given (the offline verifier reads it too)
unescape_exact = unescape_cell
