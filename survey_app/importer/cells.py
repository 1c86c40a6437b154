"""Cell text normalisation and the small value readers shared by layout and interpretation."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_BREAKS_RE = re.compile(r"[\r\n\t]+")
_SPACES_RE = re.compile(r"[ \u3000\u00a0]{2,}")
_KEY_DROP_RE = re.compile(r"[\s:：*＊]")


@functools.lru_cache(maxsize=65536)
def clean(text: str) -> str:
    """Join lines broken inside a cell, drop stray quotes and squeeze spaces."""
    if not text:
        return ""
    parts = [p.strip().strip('"“”').strip() for p in _BREAKS_RE.split(text)]
    parts = [p for p in parts if p]
    out = ""
    for part in parts:
        if out and _is_cjk(out[-1]) and _is_cjk(part[0]):
            out += part
        elif out:
            out += " " + part
        else:
            out = part
    return _SPACES_RE.sub(" ", out).strip()


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or char in "，。；：、（）！？“”"


@functools.lru_cache(maxsize=65536)
def key(text: str) -> str:
    """Normalise a header or label for matching (width, spaces, line breaks, colons, asterisks)."""
    text = unicodedata.normalize("NFKC", text)
    return _KEY_DROP_RE.sub("", text)


_SUFFIX_RE = re.compile(r"[(\[【]([^()\[\]【】]*)[)\]】]")


@functools.lru_cache(maxsize=65536)
def key_and_suffixes(text: str) -> tuple[str, tuple[str, ...]]:
    """``年度指标值(长期)`` → (``年度指标值``, [``长期``]); ``产出指标(50分)`` likewise."""
    k = key(text)
    suffixes = _SUFFIX_RE.findall(k)
    return _SUFFIX_RE.sub("", k), tuple(suffixes)


_UNIT_WORDS = r"(?:镇|乡|街道|办事处|局|委员会|委|办公室|办|院|校|学|中心|政府|部门|所|站|队|会|社|处|厅|馆|公司|本级|部)"
#: a unit with its code in any bracket style: 929001某某镇, [015001]某某局, (433001)某某, 813-某某镇部门
UNIT_RE = re.compile(r"^[\[【(（]?(\d{3,9})[\]】)）]?\s*[-—－_]?\s*([^\d\s].{0,60}?" + _UNIT_WORDS + r".{0,20})$")
_CODE_ONLY_RE = re.compile(r"^[\[【(（]?(\d{3,9})[\]】)）]?\s*[-—－]?\s*(.+)$")


def split_unit(text: str) -> tuple[str, str]:
    """(code, name) of a unit cell; code is "" when the cell has none."""
    text = clean(text)
    text = re.sub(r"[(（]?(?:盖章|公章)[)）]?$", "", text).strip()
    match = UNIT_RE.match(text) or _CODE_ONLY_RE.match(text)
    if match:
        return match.group(1), match.group(2).strip()
    return "", text


@functools.lru_cache(maxsize=65536)
def is_unit_line(text: str) -> bool:
    return bool(UNIT_RE.match(clean(text))) and "万元" not in text


YEAR_RE = re.compile(r"(20\d{2})\s*(?:年|年度)")


@functools.lru_cache(maxsize=4096)
def year_in(text: str) -> int | None:
    match = YEAR_RE.search(unicodedata.normalize("NFKC", text))
    return int(match.group(1)) if match else None


class NotANumber(ValueError):
    pass


def amount_wan(text: str, money_unit: str = "万元") -> tuple[Decimal, bool]:
    """An amount in 万元 and whether it was converted from 元.

    Reads ``1,234.5``, ``150万``, ``150万元``, ``48600元``; ``money_unit`` is the
    unit a line or header declared. Raises :class:`NotANumber` otherwise.
    """
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").strip()
    unit = money_unit
    for suffix, name in (("万元", "万元"), ("万", "万元"), ("元", "元")):
        if cleaned.endswith(suffix):
            cleaned, unit = cleaned[: -len(suffix)], name
            break
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise NotANumber(text) from None
    if not value.is_finite():
        raise NotANumber(text)
    if value < 0:
        raise NotANumber(text)
    converted = unit == "元"
    if converted:
        value = value / 10000
    return value.quantize(Decimal("0.01")), converted


def stable_code(*parts: str) -> str:
    """A project or unit code made from what identifies it (the table has none)."""
    digest = hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:12].upper()
    return f"AUTO-{digest}"
