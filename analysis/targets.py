"""Parse the 指标值 (target value) cell of a performance target table.

Real tables write targets in many ways (see ``docs/decisions.md``)::

    ≥95%   95%以上   不低于95%   ≥ | 95 | %   》95%   295% (OCR for ≥95%)
    34个   73.18万元   8,827,620.53元   12月底前发放到位   每月   1年   有效保障

:func:`parse_target` turns such text into a :class:`Target`. Text it cannot
read raises :class:`TargetParseError`; it never guesses silently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Target", "TargetParseError", "parse_target"]

OPS = (">=", "<=", ">", "<", "=")
KINDS = ("quantity", "time", "qualitative")


class TargetParseError(ValueError):
    """Raised when a target value cannot be read unambiguously."""


@dataclass(frozen=True)
class Target:
    """A parsed target value.

    Attributes
    ----------
    op : {'>=', '<=', '>', '<', '='} or None
        Comparator; ``None`` for time and qualitative targets.
    value : float or None
        The number, if any.
    unit : str or None
        ``'%'``, ``'分'``, ``'万元'``, ``'个'``, ``'人'``, ... or ``None``.
    kind : {'quantity', 'time', 'qualitative'}
    raw : str
        The text as given (split cells joined).
    """

    op: str | None
    value: float | None
    unit: str | None
    kind: str
    raw: str

    @property
    def fraction(self) -> float | None:
        """The value as a fraction when the unit is percent (95% -> 0.95)."""
        if self.value is None or self.unit != "%":
            return None
        return self.value / 100.0

    def to_dict(self) -> dict[str, object]:
        return {"op": self.op, "value": self.value, "unit": self.unit, "kind": self.kind}

    def __str__(self) -> str:
        if self.kind != "quantity" or self.value is None:
            return self.raw
        op = {">=": "≥", "<=": "≤", "=": ""}.get(self.op or "", self.op or "")
        return f"{op}{_fmt_number(self.value)}{self.unit or ''}"


def _fmt_number(value: float) -> str:
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


# Characters NFKC does not map to ASCII comparators.
_CHAR_MAP = str.maketrans(
    {
        "≧": "≥",
        "≦": "≤",
        "》": "≥",
        "〉": ">",
        "《": "≤",
        "〈": "<",
        "﹥": ">",
        "﹤": "<",
        "％": "%",
        "\u00a0": " ",
        "\u3000": " ",
    }
)

_PREFIX_OPS: list[tuple[str, str]] = [
    # longest first so that 不超过 is not read as 超过
    (">=", ">="),
    ("<=", "<="),
    ("=>", ">="),
    ("=<", "<="),
    ("≥", ">="),
    ("≤", "<="),
    ("大于等于", ">="),
    ("大于或等于", ">="),
    ("小于等于", "<="),
    ("小于或等于", "<="),
    ("不低于", ">="),
    ("不少于", ">="),
    ("不小于", ">="),
    ("至少", ">="),
    ("达到", ">="),
    ("高于", ">"),
    ("大于", ">"),
    ("多于", ">"),
    ("不高于", "<="),
    ("不超过", "<="),
    ("不大于", "<="),
    ("不多于", "<="),
    ("控制在", "<="),
    ("低于", "<"),
    ("小于", "<"),
    ("少于", "<"),
    ("超过", ">"),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
]
_PREFIX_OPS.sort(key=lambda item: len(item[0]), reverse=True)

_SUFFIX_OPS: list[tuple[str, str]] = [
    ("及以上", ">="),
    ("以上", ">="),
    ("及以下", "<="),
    ("以下", "<="),
    ("以内", "<="),
    ("之内", "<="),
]

_UNIT_WORDS = {"百分比": "%", "百分点": "%", "％": "%", "pct": "%"}
_TIME_UNITS = {"年", "月", "个月", "天", "日", "周", "小时", "工作日"}

_NUMBER = r"\d+(?:\.\d+)?"
_UNIT = r"(?:%|‰|百分比|[A-Za-z]{1,6}|[\u4e00-\u9fff]{1,4}(?:/[\u4e00-\u9fff]{1,2})?)"
_QUANTITY_RE = re.compile(
    rf"^(?P<num>{_NUMBER})\s*(?P<unit>{_UNIT})??\s*"
    r"(?P<suffix>及以上|以上|及以下|以下|以内|之内)?$"
)
_PLACEHOLDER_RE = re.compile(r"\*{1,}|＊|X{2,}|x{2,}|…")
_TIME_RES = [
    re.compile(r"\d{1,2}\s*月\s*(?:底|末|中旬|上旬|下旬|\d{1,2}\s*日)?\s*(?:前|之前|以前|内)"),
    re.compile(r"(?:年底|年末|月底|月末|季末|季度末)(?:前|之前|以前)?"),
    re.compile(r"\d{1,2}\s*[-~－至到]\s*\d{1,2}\s*月"),
    re.compile(r"\d{6}\s*[-~－至到]\s*\d{6}"),
    re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月"),
]
_TIME_WORDS = ("每月", "按月", "每季", "按季", "每年", "按年", "按时", "及时", "全年", "当年", "定期", "每周", "每日")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.translate(_CHAR_MAP)).translate(_CHAR_MAP)
    text = re.sub(r"\s+", "", text)
    # thousands separators: 8,827,620.53
    while re.search(r"\d,\d{3}(?!\d)", text):
        text = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", text)
    return text


def parse_target(text: str | Sequence[str] | None, *parts: str) -> Target:
    """Parse a target value cell.

    Parameters
    ----------
    text : str or sequence of str
        The cell text. A target split over several cells (指标性质 | 指标值 |
        度量单位) may be given as a list, or as several positional arguments:
        ``parse_target("≥", "95", "%")``.

    Returns
    -------
    Target

    Raises
    ------
    TargetParseError
        For empty text, unfilled template placeholders (``≥**%``), a
        comparator without a number, ranges, or text with numbers that fit no
        known pattern.

    Examples
    --------
    >>> parse_target("≥95%")
    Target(op='>=', value=95.0, unit='%', kind='quantity', raw='≥95%')
    >>> parse_target("95%以上").op
    '>='
    >>> parse_target("≥", "95", "%").value
    95.0
    """
    if text is None:
        pieces: list[str] = []
    elif isinstance(text, str):
        pieces = [text]
    else:
        pieces = [str(p) for p in text]
    pieces.extend(str(p) for p in parts)
    raw = "".join(p.strip() for p in pieces if p is not None).strip()
    if not raw:
        raise TargetParseError("指标值为空 (empty target value)")
    norm = _normalize(raw)
    if not norm or norm in {"—", "-", "/", "*", "无"}:
        raise TargetParseError(f"指标值“{raw}”没有内容 (no target value)")
    if _PLACEHOLDER_RE.search(norm):
        raise TargetParseError(f"指标值“{raw}”含未填写的模板占位符 (template placeholder)")

    for pattern in _TIME_RES:
        if pattern.search(norm):
            return Target(None, None, None, "time", raw)
    quantity = _parse_quantity(norm, raw)
    if quantity is not None:
        return quantity
    if any(word in norm for word in _TIME_WORDS):
        return Target(None, None, None, "time", raw)
    if re.search(r"\d", norm):
        raise TargetParseError(
            f"无法识别指标值“{raw}”：含数字但不是可识别的数值、比较符或时间 "
            "(unrecognised target with digits)"
        )
    if _CJK_RE.search(norm):
        return Target(None, None, None, "qualitative", raw)
    raise TargetParseError(f"无法识别指标值“{raw}” (unrecognised target)")


def _parse_quantity(norm: str, raw: str) -> Target | None:
    body = norm
    op: str | None = None
    for word, symbol in _PREFIX_OPS:
        if body.startswith(word):
            op = symbol
            body = body[len(word) :]
            break
    ocr = False
    if op is None and re.match(r"^[Ww]\d", body):
        # OCR of ≤ as "W": W5% -> ≤5%
        op, body, ocr = "<=", body[1:], True
    if op is not None and not body:
        raise TargetParseError(f"指标值“{raw}”只有比较符，没有数值 (comparator without a number)")
    if re.match(rf"^{_NUMBER}\s*[-~至到]\s*{_NUMBER}", body) and not any(
        p.search(body) for p in _TIME_RES
    ):
        raise TargetParseError(f"指标值“{raw}”是一个范围，请写成单一目标值 (ranges are not supported)")
    match = _QUANTITY_RE.match(body)
    if match is None:
        if op is not None and not _CJK_RE.search(body):
            raise TargetParseError(f"无法识别指标值“{raw}”中的数值 (unreadable number)")
        return None
    value = float(match["num"])
    unit = match["unit"]
    if unit is not None:
        unit = _UNIT_WORDS.get(unit, unit)
    suffix = match["suffix"]
    if suffix:
        suffix_op = dict(_SUFFIX_OPS)[suffix]
        same_direction = {op, suffix_op} <= {">", ">="} or {op, suffix_op} <= {"<", "<="}
        if op is not None and not same_direction:
            raise TargetParseError(f"指标值“{raw}”的比较方向自相矛盾 (contradictory comparators)")
        op = op or suffix_op
    if op is None and unit == "%" and not ocr:
        digits = match["num"]
        # OCR of ≥ as "2": 292% means ≥92%. Only where the literal reading is
        # impossible for a target (above 100%) and the rest is a plain rate.
        if value > 100 and digits.startswith("2") and not digits.startswith("20"):
            rest = float(digits[1:])
            if 0 < rest <= 100:
                return Target(">=", rest, "%", "quantity", raw)
    if unit in _TIME_UNITS and op is None:
        return Target(None, value, unit, "time", raw)
    if unit is not None and not unit.isascii() and unit not in _KNOWN_UNITS and len(unit) > 2:
        # a long word after the number is a sentence, not a unit
        return None
    return Target(op or "=", value, unit, "quantity", raw)


_KNOWN_UNITS = {
    "%", "‰", "分", "万元", "元", "亿元", "千元", "个", "人", "户", "次", "亩", "平方米", "公里",
    "千米", "米", "年", "月", "天", "日", "家", "项", "所", "村", "套", "台", "件", "篇", "场",
    "人次", "户次", "元/亩", "元/个", "元/人", "人/年", "万人", "吨", "公顷", "座", "条", "辆",
    "册", "本", "张", "份", "期", "批", "处", "间", "栋", "km", "m", "kg", "t", "工作日", "小时",
    "个月", "平方公里", "立方米",
}
