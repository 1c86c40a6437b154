"""The one figure function: counts in, every figure of a satisfaction indicator out.

Every place that shows or stores a satisfaction figure — the results page, the
progress page, the evidence page, the flags' side-by-side recomputation, the
write-back, the self-evaluation table, the command line and the offline
verifier — calls :func:`figure` with counts and the declared method, and shows
what it returns. None of them derives a rate on its own.

Input: answer counts per (village, questionnaire version, option) with staff
exclusions already applied (``excluded`` says how many were left out), the
declared rate method (``top2`` or ``weighted``), the target, the group's
population when known and each village's population when known.

Output (:class:`Figure`): the design (census, stratified, finite, unknown —
chosen here from the counts and populations, never taken on trust), the rate,
the two-sided interval, the one-sided bound and verdict, how many more answers
would settle an open verdict and which way, per-village figures, and one plain
Chinese ``statement`` (method names only in ``detail``, for auditors).

The design is chosen from what is known:

* **census**: the population N is known and everyone answered: the rate is exact;
* **stratified**: every village's population is known and villages were sampled
  unevenly (sampling fractions differ by more than half): p_st = Σ W_h p_h;
* **finite**: N is known: exact hypergeometric bounds;
* **unknown**: N is not known: Wilson to display, Clopper–Pearson for the verdict.

``kind`` (``random_sample``, ``census``, ``self_selected`` or None) is carried
through unchanged so that a sampling module can declare how the answers were
obtained; ``extra`` carries further bounds (e.g. non-response bounds) the same way.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.proportions import proportion_interval
from analysis.scoring import FIVE_POINT, satisfaction_rate, score_interval
from analysis.stratified import IntervalUndefined, stratified_interval
from analysis.targets import Target, TargetParseError, parse_target
from analysis.verdict import Verdict, target_fraction, verdict

__all__ = ["DESIGN_LABELS", "DONT_KNOW", "OPTIONS", "Figure", "VillageFigure", "figure"]

DONT_KNOW = "不了解"
OPTIONS = (*FIVE_POINT, DONT_KNOW)
CONFIDENCE = 0.95
#: sampling fractions differing by more than this factor make the design stratified
UNEVEN = 1.5
DESIGN_LABELS = {
    "census": "全面调查（总体中每个人都已作答，满意率无抽样误差）",
    "stratified": "按村分层抽样（各村抽样比例不同，按各村人数加权）",
    "finite": "从已知总体中抽样（按有限总体精确计算）",
    "unknown": "总体人数未知",
}
#: method names, for the auditors' 详细 line only
METHOD_NAMES = {
    "census": "census",
    "wilson": "Wilson",
    "wilson_kish": "Wilson (Kish n_eff)",
    "exact_hypergeometric": "exact hypergeometric",
    "clopper_pearson": "Clopper–Pearson",
    "exact_bonferroni": "exact Bonferroni over strata",
    "t": "Student t",
}
SETTLE_LABELS = {"supported": "达标", "contradicted": "未达标"}

Cell = tuple[Any, Any, str, int]  # (village, version, option, count)


@dataclass(frozen=True)
class VillageFigure:
    village: Any
    population: int | None
    total: int
    n: int
    successes: int
    dont_know: int
    rate: float | None
    lower: float | None
    upper: float | None
    method: str


@dataclass
class Figure:
    """Every figure of one indicator (see the module docstring)."""

    rate_method: str
    counts: dict[str, int]
    versions: dict[Any, int]
    total: int
    valid_n: int
    dont_know: int
    excluded: int
    successes: int
    design: str
    population: int | None
    kind: str | None = None
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    display_method: str = ""
    bound: float | None = None
    verdict: Verdict | None = None
    villages: list[VillageFigure] = field(default_factory=list)
    strata: list[tuple[int, int, int]] | None = None
    notes: list[str] = field(default_factory=list)
    method_statement: str = ""
    target_raw: str = ""
    confidence: float = CONFIDENCE
    extra: dict[str, Any] = field(default_factory=dict)

    # -- plain Chinese --------------------------------------------------------------------

    @property
    def design_label(self) -> str:
        return DESIGN_LABELS[self.design]

    @property
    def design_text(self) -> str:
        """Population and design in one phrase that never contradicts itself."""
        if self.design == "unknown" or self.population is None:
            return "总体人数未知"
        return f"总体 {self.population} 人；{self.design_label}"

    @property
    def actual_value(self) -> str:
        """实际完成值 as the self-evaluation table writes it."""
        if self.value is None:
            return ""
        return f"{self.value:.1f}分" if self.rate_method == "weighted" else f"{self.value * 100:.1f}%"

    def _fmt(self, x: float) -> str:
        return f"{x:.1f}分" if self.rate_method == "weighted" else f"{x * 100:.1f}%"

    @property
    def verdict_label(self) -> str:
        return self.verdict.label if self.verdict else "未判定"

    @property
    def more_needed_text(self) -> str:
        """What would settle an open verdict, and which way (empty when settled)."""
        v = self.verdict
        if v is None or v.verdict != "inconclusive":
            return ""
        if v.more_needed and v.settles_as:
            return (f"按目前的满意比例，约再收 {v.more_needed} 份有效答卷即可判定为"
                    f"“{SETTLE_LABELS[v.settles_as]}”。")
        return _plain_note(v.note) or "按目前的满意比例，再收答卷也无法得出结论。"

    @property
    def statement(self) -> str:
        """The whole figure in plain Chinese: n, population, design, rate, interval, verdict."""
        if self.value is None:
            return "尚无有效答卷，无法计算满意度。"
        left_out = []
        if self.dont_know:
            left_out.append(f"“不了解” {self.dont_know} 份")
        if self.excluded:
            left_out.append(f"工作人员排除 {self.excluded} 份")
        left = f"（另有{'、'.join(left_out)}不计入）" if left_out else ""
        what = "满意度得分" if self.rate_method == "weighted" else "满意率"
        parts = [f"{what} {self.actual_value}：有效答卷 {self.valid_n} 份{left}，{self.design_text}"]
        if self.design == "census":
            parts.append("全部作答，无抽样误差")
        elif self.lower is not None and self.upper is not None:
            parts.append(f"{self.confidence:.0%} 置信区间 {self._fmt(self.lower)}–{self._fmt(self.upper)}")
        if self.verdict is not None:
            bound = "" if self.design == "census" else f"单侧 {self.confidence:.0%} 下限 {self._fmt(self.bound or 0.0)}，"
            parts.append(f"{bound}对照目标“{self.target_raw}”：{self.verdict.label}")
        text = "；".join(parts) + "。"
        more = self.more_needed_text
        return f"{text}{more}" if more else text

    @property
    def detail(self) -> str:
        """The methods by name, for auditors (a 详细 line or a tooltip)."""
        shown = METHOD_NAMES.get(self.display_method, self.display_method)
        judged = METHOD_NAMES.get(self.verdict.method, self.verdict.method) if self.verdict else "—"
        return (f"design={self.design}; interval: {shown}, {self.confidence:.0%} two-sided; "
                f"verdict: {judged}, one-sided {self.confidence:.0%}; rate: {self.rate_method}")

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "method": {"rate": self.rate_method, "statement": self.method_statement, "excluded_answers": [DONT_KNOW]},
            "kind": self.kind,
            "versions": sorted(self.versions, key=str),
            "per_version": {str(k): c for k, c in sorted(self.versions.items(), key=lambda kv: str(kv[0]))},
            "counts": self.counts,
            "responses": self.total,
            "valid_n": self.valid_n,
            "dont_know": self.dont_know,
            "excluded_by_staff": self.excluded,
            "successes": self.successes,
            "design": self.design,
            "design_label": self.design_label,
            "design_text": self.design_text,
            "population": self.population,
            "value": self.value,
            "actual_value": self.actual_value,
            "interval": {"lower": self.lower, "upper": self.upper, "method": self.display_method,
                         "confidence": self.confidence, "sides": "two-sided"},
            "verdict": None if v is None else {
                "verdict": v.verdict, "label": v.label, "bound": v.lower, "upper_bound": v.upper,
                "method": v.method, "confidence": v.confidence, "more_needed": v.more_needed,
                "settles_as": v.settles_as, "note": v.note},
            "statement": self.statement,
            "detail": self.detail,
            "villages": [dataclasses.asdict(row) for row in self.villages],
            "strata": self.strata,
            "notes": self.notes,
            "extra": self.extra,
        }


def _plain_note(note: str) -> str:
    """The Chinese part of a verdict note (the English Bonferroni remark is for auditors)."""
    return "；".join(part.strip() for part in note.split(";") if part.strip() and not part.strip().isascii())


def _target(target: str | Target | None) -> tuple[Target | None, str]:
    if target is None or target == "":
        return None, ""
    if isinstance(target, Target):
        return target, target.raw
    try:
        return parse_target(str(target)), str(target)
    except (TargetParseError, ValueError):
        return None, str(target)


def figure(
    cells: Iterable[Cell],
    *,
    target: str | Target | None = None,
    rate_method: str = "top2",
    population: int | None = None,
    village_populations: Mapping[Any, int | None] | None = None,
    excluded: int = 0,
    confidence: float = CONFIDENCE,
    kind: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Figure:
    """All figures of one indicator from its counts.

    Parameters
    ----------
    cells : iterable of (village, version, option, count)
        Answer counts with staff exclusions already applied; ``village`` is None
        for answers without a village. Options are the five-point scale and 不了解.
    target : str or Target, optional
        The indicator's 指标值 (``"≥95%"``; ``"≥90分"`` for the weighted method).
    rate_method : {'top2', 'weighted'}
    population : int, optional
        The respondent group's size, when known.
    village_populations : mapping village -> population (None when unknown)
        Every village of the unit, answered or not (for the stratified design).
    excluded : int
        Answers left out by staff (reported, not counted).
    kind : str, optional
        How the answers were obtained (``random_sample``, ``census``, ``self_selected``), carried through.
    extra : mapping, optional
        Further bounds computed elsewhere, carried through.
    """
    if rate_method not in ("top2", "weighted"):
        raise ValueError(f"unknown rate method {rate_method!r}")
    village_populations = dict(village_populations or {})
    counts: Counter[str] = Counter()
    versions: Counter[Any] = Counter()
    per_village: dict[Any, Counter[str]] = defaultdict(Counter)
    for village, version, option, count in cells:
        if option not in OPTIONS:
            raise ValueError(f"unknown answer {option!r}; expected one of {OPTIONS}")
        count = int(count)
        counts[option] += count
        versions[version] += count
        per_village[village][option] += count
    scale = FIVE_POINT
    total = sum(counts.values())
    valid = sum(counts[o] for o in scale)
    successes = counts[scale[0]] + counts[scale[1]]
    if population is None and village_populations and all(village_populations.values()):
        population = sum(village_populations.values())  # type: ignore[arg-type]
    parsed, target_raw = _target(target)
    result = Figure(
        rate_method=rate_method, counts={o: counts[o] for o in OPTIONS}, versions=dict(versions), total=total,
        valid_n=valid, dont_know=counts[DONT_KNOW], excluded=int(excluded), successes=successes,
        design="unknown", population=population, kind=kind, target_raw=target_raw, confidence=confidence,
        extra=dict(extra or {}),
    )
    result.villages = _villages(per_village, village_populations, confidence)
    if valid == 0:
        result.method_statement = "尚无有效答卷。"
        result.notes.append("尚无有效答卷，无法计算满意度。")
        return result
    result.method_statement = satisfaction_rate(dict(counts), exclude=(DONT_KNOW,), method=rate_method).statement()
    if population is not None and total > population:
        result.notes.append(f"答卷数（{total}）超过总体人数（{population}），请核对总体人数；本次按总体人数未知计算。")
        population = result.population = None
    _choose_design(result, per_village, village_populations, population)
    if rate_method == "weighted":
        _score(result, counts, parsed)
    else:
        _rate(result, per_village, village_populations, parsed)
    return result


def _strata(per_village: Mapping[Any, Counter[str]],
            village_populations: Mapping[Any, int | None]) -> list[tuple[int, int, int]] | None:
    scale = FIVE_POINT
    if None in per_village or not village_populations or not all(village_populations.values()):
        return None
    strata = []
    for village, answers in sorted(per_village.items(), key=lambda kv: str(kv[0])):
        n = sum(answers[o] for o in scale)
        if n == 0:
            continue
        N = village_populations.get(village)
        if not N or n > N:
            return None
        strata.append((int(N), n, answers[scale[0]] + answers[scale[1]]))
    return strata or None


def _choose_design(result: Figure, per_village: Mapping[Any, Counter[str]],
                   village_populations: Mapping[Any, int | None], population: int | None) -> None:
    if population is not None and result.total >= population:
        result.design = "census"
        return
    strata = _strata(per_village, village_populations)
    if strata is not None:
        fractions = [n / N for N, n, _ in strata]
        if len(strata) >= 2 and max(fractions) / min(fractions) > UNEVEN:
            result.design = "stratified"
            result.strata = strata
            covered = {v for v in per_village if v is not None}
            missing = [v for v, pop in village_populations.items() if pop and v not in covered]
            if missing:
                result.notes.append(f"有 {len(missing)} 个村没有有效答卷，分层估计只代表有答卷的村。")
            return
    if population is not None:
        result.design = "finite"


def _rate(result: Figure, per_village: Mapping[Any, Counter[str]],
          village_populations: Mapping[Any, int | None], target: Target | None) -> None:
    x, n, conf = result.successes, result.valid_n, result.confidence
    result.value = x / n
    try:
        target_fraction(target)  # type: ignore[arg-type]
        target_ok = True
    except (ValueError, TypeError):
        target_ok = False
        if result.target_raw:
            result.notes.append(f"目标“{result.target_raw}”不是满意率（%），不作判定。")
    if result.design == "census":
        result.lower = result.upper = result.value
        result.display_method = "census"
        if target_ok:
            result.verdict = verdict(x, n, target, population=n, confidence=conf)  # type: ignore[arg-type]
    elif result.design == "stratified":
        strata = result.strata
        assert strata is not None
        try:
            iv = stratified_interval(strata, method="wilson", confidence=conf)
        except IntervalUndefined:
            iv = stratified_interval(strata, method="wilson_kish", confidence=conf)
            result.notes.append("所有有效答卷都满意（方差为 0），展示区间改用按权重折算的有效样本量。")
        except ValueError:  # a village with a single answer has no variance estimate
            iv = stratified_interval(strata, method="wilson_kish", confidence=conf)
            result.notes.append("有的村只有 1 份有效答卷，无法估计方差，展示区间改用按权重折算的有效样本量。")
        result.value, result.lower, result.upper, result.display_method = iv.point, iv.lower, iv.upper, iv.method
        if target_ok:
            result.verdict = verdict(0, 0, target, strata=strata, confidence=conf)  # type: ignore[arg-type]
    elif result.design == "finite":
        iv = proportion_interval(x, n, method="exact_hypergeometric", population=result.population, confidence=conf)
        result.lower, result.upper, result.display_method = iv.lower, iv.upper, "exact_hypergeometric"
        if target_ok:
            result.verdict = verdict(x, n, target, population=result.population, confidence=conf)  # type: ignore[arg-type]
    else:
        iv = proportion_interval(x, n, method="wilson", confidence=conf)
        result.lower, result.upper, result.display_method = iv.lower, iv.upper, "wilson"
        if target_ok:
            result.verdict = verdict(x, n, target, confidence=conf)  # type: ignore[arg-type]
    if result.verdict is not None:
        result.bound = result.verdict.lower


def _score(result: Figure, counts: Counter[str], target: Target | None) -> None:
    conf = result.confidence
    census = result.design == "census"
    pop = result.valid_n if census else result.population
    two = score_interval(dict(counts), population=pop, confidence=conf)
    one = score_interval(dict(counts), population=pop, confidence=conf, sides="lower")
    result.value, result.lower, result.upper, result.display_method = two.point, two.lower, two.upper, "t"
    result.bound = one.lower
    if target is None or target.unit != "分" or target.value is None:
        result.notes.append(f"目标“{result.target_raw}”不是得分（分），加权得分不作判定。")
        return
    upper_one = score_interval(dict(counts), population=pop, confidence=1 - (1 - conf) * 2).upper
    state = "supported" if one.lower >= target.value else "contradicted" if upper_one < target.value else "inconclusive"
    result.verdict = Verdict(state, target.value / 100, two.point / 100, one.lower / 100, upper_one / 100, "t",
                             conf, result.valid_n, result.successes, pop, None,
                             "加权得分按近似方法判定，不估算还需多少答卷")


def _villages(per_village: Mapping[Any, Counter[str]], village_populations: Mapping[Any, int | None],
              confidence: float) -> list[VillageFigure]:
    scale = FIVE_POINT
    rows = []
    for village, answers in sorted(per_village.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        n = sum(answers[o] for o in scale)
        x = answers[scale[0]] + answers[scale[1]]
        pop = village_populations.get(village) if village is not None else None
        rate = lower = upper = None
        method = ""
        if n:
            if pop and n <= pop:
                iv = proportion_interval(x, n, method="exact_hypergeometric", population=pop, confidence=confidence)
                method = "exact_hypergeometric"
            else:
                iv = proportion_interval(x, n, method="wilson", confidence=confidence)
                method = "wilson"
            rate, lower, upper = iv.point, iv.lower, iv.upper
        rows.append(VillageFigure(village, pop, sum(answers.values()), n, x, answers[DONT_KNOW],
                                  rate, lower, upper, method))
    return rows


