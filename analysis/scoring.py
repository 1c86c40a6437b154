"""Satisfaction rates from answer counts, and self-evaluation scores (绩效自评 得分).

Rates: ``top2`` counts 非常满意 + 满意 as satisfied (the usual convention,
``docs/domain.md`` §6); ``weighted`` is the mean of option scores
(100/80/60/40/20 by default). Answers such as 不了解 are excluded from the
denominator *and reported*, so the reader sees what excluding them did.

Scores follow 财预〔2020〕10号 as corroborated in ``docs/domain.md`` §5: a met
target earns full points, never more; a missed forward target earns
actual/target × points; a reverse (≤) target earns target/actual × points
(``reverse_rule="ratio"``, local forms) or falls linearly to 0 at twice the
target (``"linear"``, one provincial system); qualitative indicators fall in
three bands (80–100 %, 60–80 %, 0–60 % of the points).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.targets import Target, parse_target

__all__ = [
    "DEFAULT_SCORES",
    "FIVE_POINT",
    "QUALITATIVE_BANDS",
    "SatisfactionRate",
    "Score",
    "satisfaction_rate",
    "score_indicator",
]

FIVE_POINT = ("非常满意", "满意", "一般", "不满意", "非常不满意")
DEFAULT_SCORES = (100.0, 80.0, 60.0, 40.0, 20.0)
RATE_METHODS = ("top2", "weighted")
QUALITATIVE_BANDS = {
    "达成年度指标": (0.8, 1.0),
    "部分达成年度指标并具有一定效果": (0.6, 0.8),
    "未达成年度指标且效果较差": (0.0, 0.6),
}


@dataclass(frozen=True)
class SatisfactionRate:
    """A satisfaction figure and what it was computed from.

    Attributes
    ----------
    method : {'top2', 'weighted'}
    value : float
        The rate (fraction, top2) or the mean score (0–100, weighted).
    successes : int
        Satisfied answers (top2); for ``weighted`` the count in the top two options.
    n : int
        Valid answers (the denominator).
    excluded : dict
        Excluded answers by option (e.g. {'不了解': 3}).
    counts : dict
        Counts per scale option.
    """

    method: str
    value: float
    successes: int
    n: int
    excluded: dict[str, int]
    counts: dict[str, int]
    satisfied_options: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def statement(self) -> str:
        """The method in one Chinese sentence, to print beside the figure."""
        excluded = "、".join(f"{k} {v} 份" for k, v in self.excluded.items()) or "无"
        if self.method == "top2":
            return (f"满意率 = （{'+'.join(self.satisfied_options)}）/ 有效答卷；有效答卷 {self.n} 份，"
                    f"满意 {self.successes} 份；不计入分母：{excluded}。")
        weights = "、".join(f"{k}{v:g}分" for k, v in self.scores.items())
        return f"满意度得分 = 各选项得分的平均（{weights}）；有效答卷 {self.n} 份；不计入分母：{excluded}。"


def satisfaction_rate(
    counts: Mapping[str, int],
    *,
    scale: Sequence[str] = FIVE_POINT,
    method: str = "top2",
    exclude: Sequence[str] = ("不了解",),
    scores: Sequence[float] | None = None,
    satisfied: int = 2,
) -> SatisfactionRate:
    """Satisfaction rate (``top2``) or weighted score from answer counts.

    Parameters
    ----------
    counts : mapping option -> count
        Options not in ``scale`` must be listed in ``exclude``.
    scale : sequence of str
        Options from best to worst.
    method : {'top2', 'weighted'}
    exclude : sequence of str
        Options kept but left out of the denominator (reported in ``excluded``).
    scores : sequence of float, optional
        Option scores for ``weighted``, best first (default 100/80/60/40/20).
    satisfied : int
        How many top options count as satisfied (2 on a five-point scale).

    Raises
    ------
    ValueError
        Unknown options, negative counts, no valid answers, bad scores.
    """
    if method not in RATE_METHODS:
        raise ValueError(f"unknown rate method {method!r}; choose one of {RATE_METHODS}")
    scale = tuple(scale)
    if len(set(scale)) != len(scale) or not scale:
        raise ValueError("scale must list distinct options")
    if not 1 <= satisfied < len(scale):
        raise ValueError(f"satisfied must be between 1 and {len(scale) - 1}")
    unknown = [k for k in counts if k not in scale and k not in exclude]
    if unknown:
        raise ValueError(f"answers {unknown} are neither on the scale {scale} nor excluded {tuple(exclude)}")
    for option, count in counts.items():
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"count for {option!r} must be a non-negative whole number, got {count!r}")
    per_option = {option: int(counts.get(option, 0)) for option in scale}
    excluded = {option: int(counts[option]) for option in exclude if counts.get(option)}
    n = sum(per_option.values())
    if n == 0:
        raise ValueError("no valid answers: every answer is excluded or the counts are empty")
    top = scale[:satisfied]
    successes = sum(per_option[o] for o in top)
    score_map: dict[str, float] = {}
    if method == "top2":
        value = successes / n
    else:
        weights = tuple(scores) if scores is not None else DEFAULT_SCORES
        if len(weights) != len(scale):
            raise ValueError(f"scores needs one value per option ({len(scale)}), got {len(weights)}")
        score_map = dict(zip(scale, (float(w) for w in weights), strict=True))
        value = sum(per_option[o] * score_map[o] for o in scale) / n
    return SatisfactionRate(method, value, successes, n, excluded, per_option, top, score_map)


@dataclass(frozen=True)
class Score:
    """A self-evaluation score with the rule that produced it."""

    score: float | None
    points: float
    rule: str
    band: tuple[float, float] | None = None
    met: bool | None = None


def _actual_value(actual: float | str | Target, target: Target) -> float:
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        value = float(actual)
        # a fraction given for a percentage target (0.96 for 96%)
        if target.unit == "%" and 0 <= value <= 1 and (target.value or 0) > 1:
            value *= 100
        return value
    parsed = actual if isinstance(actual, Target) else parse_target(str(actual))
    if parsed.value is None:
        raise ValueError(f"actual value {parsed.raw!r} has no number")
    if parsed.unit and target.unit and parsed.unit != target.unit:
        raise ValueError(f"actual value unit {parsed.unit!r} does not match the target unit {target.unit!r}")
    return parsed.value


def score_indicator(
    target: str | Target,
    actual: float | str | Target,
    points: float,
    *,
    reverse_rule: str = "ratio",
    decimals: int = 2,
) -> Score:
    """Score one indicator of the self-evaluation table.

    Parameters
    ----------
    target : str or Target
        The 年度指标值 (``"≥95%"``, ``"≤5%"``, ``"100%"``, ``"有效保障"``).
    actual : float, str or Target
        The 实际完成值. For a qualitative target: one of the three band phrases
        (达成年度指标 / 部分达成年度指标并具有一定效果 / 未达成年度指标且效果较差).
    points : float
        The 分值.
    reverse_rule : {'ratio', 'linear'}
        Rule for a missed "≤" target (see module docstring).

    Examples
    --------
    >>> score_indicator("≥95%", "92%", 10).score
    9.68
    >>> score_indicator("≥95%", "97.1%", 10).score
    10.0
    """
    if points < 0:
        raise ValueError("points must not be negative")
    parsed = target if isinstance(target, Target) else parse_target(target)
    if parsed.kind != "quantity" or parsed.value is None:
        phrase = str(actual).strip()
        if phrase not in QUALITATIVE_BANDS:
            raise ValueError(
                f"qualitative target {parsed.raw!r}: actual must be one of {tuple(QUALITATIVE_BANDS)}"
            )
        lo, hi = QUALITATIVE_BANDS[phrase]
        return Score(None, points, f"定性指标分档：{phrase}，得分在分值的 {lo:.0%}–{hi:.0%} 之间，由评价人确定",
                     band=(round(lo * points, decimals), round(hi * points, decimals)), met=phrase == "达成年度指标")
    A = parsed.value
    B = _actual_value(actual, parsed)
    if parsed.op in ("<=", "<"):
        met = B <= A if parsed.op == "<=" else B < A
        if met:
            return Score(float(points), points, "反向指标：达到目标，得满分", met=True)
        if A == 0:
            return Score(0.0, points, "反向指标：目标为 0 而实际大于 0，得 0 分", met=False)
        if reverse_rule == "ratio":
            value = A / B * points
            rule = "反向指标未达标：指标值/实际值 × 分值"
        elif reverse_rule == "linear":
            value = 0.0 if B >= 2 * A else (1 - (B - A) / A) * points
            rule = "反向指标未达标：按偏离比例线性扣分，实际值达到指标值 2 倍得 0 分"
        else:
            raise ValueError("reverse_rule must be 'ratio' or 'linear'")
        return Score(round(min(value, points), decimals), points, rule, met=False)
    met = B >= A if parsed.op in (">=", "=") else B > A
    if met:
        return Score(float(points), points, "正向指标：达到目标，得满分（不超过分值）", met=True)
    if A == 0:
        return Score(0.0, points, "目标为 0：未达到", met=False)
    value = max(B, 0.0) / A * points
    return Score(round(min(value, points), decimals), points, "正向指标未达标：实际值/指标值 × 分值", met=False)


@dataclass(frozen=True)
class ScoreInterval:
    """Mean satisfaction score (0–100) with a t interval."""

    point: float
    lower: float
    upper: float
    n: int
    population: int | None
    confidence: float
    sides: str
    method: str = "t"


def score_interval(
    counts: Mapping[str, int],
    *,
    scale: Sequence[str] = FIVE_POINT,
    scores: Sequence[float] | None = None,
    confidence: float = 0.95,
    sides: str = "two-sided",
    population: int | None = None,
) -> ScoreInterval:
    """Mean option score with a Student-t interval (finite population correction when N is known).

    Variance of the mean: s²/n · (1 − n/N). A census gives the observed mean. With n = 1
    or all answers equal the interval has zero width (stated in the method as "t").
    """
    from scipy import stats as _stats

    from analysis._validation import check_confidence, check_sides, tail_alpha

    confidence = check_confidence(confidence)
    sides = check_sides(sides)
    weights = tuple(scores) if scores is not None else DEFAULT_SCORES
    values = dict(zip(scale, (float(w) for w in weights), strict=True))
    n = sum(int(counts.get(o, 0)) for o in scale)
    if n == 0:
        raise ValueError("no valid answers")
    if population is not None and n > population:
        raise ValueError(f"n ({n}) cannot exceed the population ({population})")
    mean = sum(int(counts.get(o, 0)) * values[o] for o in scale) / n
    if n < 2 or (population is not None and n == population):
        return ScoreInterval(mean, mean, mean if sides == "two-sided" else 100.0, n, population, confidence, sides)
    ss = sum(int(counts.get(o, 0)) * (values[o] - mean) ** 2 for o in scale)
    var = ss / (n - 1) / n * (1 - n / population if population else 1)
    t = float(_stats.t.isf(tail_alpha(confidence, sides), n - 1))
    half = t * var**0.5
    upper = min(100.0, mean + half) if sides == "two-sided" else 100.0
    return ScoreInterval(mean, max(0.0, mean - half), upper, n, population, confidence, sides)
