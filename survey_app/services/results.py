"""Results per satisfaction indicator: SQL aggregation, design choice, rates, intervals, verdicts.

Responses are never loaded row by row: counts come from ``GROUP BY village,
channel, answer`` in the database, and the statistics run on those counts
(:mod:`analysis`). Simulated (demo) responses and responses with an active
exclusion are left out of every real figure; both are counted and shown.

The design is chosen from what is known, and shown:

* **census**: the population N is known and everyone answered: the rate is exact;
* **stratified**: every village's population is known and villages were sampled
  unevenly (sampling fractions differ by more than half): p_st = Σ W_h p_h;
* **finite**: N is known (a simple random sample from a known frame): exact
  hypergeometric bounds;
* **unknown**: N is not known: Wilson to display, Clopper–Pearson for the verdict.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, cast, exists, func, select
from sqlalchemy.orm import Session

from analysis import (
    IntervalUndefined,
    Verdict,
    proportion_interval,
    satisfaction_rate,
    score_interval,
    stratified_interval,
    target_fraction,
    verdict,
)
from survey_app.models import (
    Channel,
    Exclusion,
    Indicator,
    Questionnaire,
    Response,
)
from survey_app.services.distribution import group_population
from survey_app.services.questionnaires import DONT_KNOW, LIKERT_OPTIONS

CONFIDENCE = 0.95
UNEVEN = 1.5
DESIGN_LABELS = {
    "census": "全面调查（总体中每个人都已作答，满意率无抽样误差）",
    "stratified": "按村分层抽样（各村抽样比例不同，按各村人数加权）",
    "finite": "简单随机抽样，总体人数已知（有限总体，超几何精确区间）",
    "unknown": "总体人数未知（Wilson 区间展示，Clopper–Pearson 精确下限判定）",
}
METHOD_LABELS = {"top2": "满意率：（非常满意+满意）/ 有效答卷", "weighted": "加权得分：100/80/60/40/20 分的平均"}


@dataclass
class VillageResult:
    village_id: int | None
    name: str
    population: int | None
    n: int
    successes: int
    dont_know: int
    rate: float | None
    lower: float | None
    upper: float | None
    method: str


@dataclass
class IndicatorResult:
    questionnaire: Questionnaire
    indicator: Indicator
    simulated: bool
    rate_method: str
    statement: str
    versions: list[int]
    counts: dict[str, int]
    channels: dict[str, int]
    total: int
    valid_n: int
    dont_know: int
    excluded: int
    successes: int
    design: str
    population: int | None
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    display_method: str = ""
    bound: float | None = None
    verdict: Verdict | None = None
    score: Any = None
    villages: list[VillageResult] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    #: (population_h, n_h, successes_h) per village when the design is stratified
    strata: list[tuple[int, int, int]] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def design_label(self) -> str:
        return DESIGN_LABELS[self.design]

    @property
    def actual_value(self) -> str:
        """实际完成值 as the self-evaluation table writes it."""
        if self.value is None:
            return ""
        return f"{self.value:.1f}分" if self.rate_method == "weighted" else f"{self.value * 100:.1f}%"

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "questionnaire_id": self.questionnaire.id,
            "project_code": self.indicator.project.code,
            "project": self.indicator.project.name,
            "indicator": self.indicator.name,
            "target": self.indicator.target_raw,
            "respondent_group": self.indicator.respondent_group.value if self.indicator.respondent_group else None,
            "simulated": self.simulated,
            "method": {"rate": self.rate_method, "statement": self.statement, "excluded_answers": [DONT_KNOW]},
            "versions": self.versions,
            "counts": self.counts,
            "channels": self.channels,
            "responses": self.total,
            "valid_n": self.valid_n,
            "dont_know": self.dont_know,
            "excluded_by_staff": self.excluded,
            "successes": self.successes,
            "design": self.design,
            "design_label": self.design_label,
            "population": self.population,
            "value": self.value,
            "actual_value": self.actual_value,
            "interval": {"lower": self.lower, "upper": self.upper, "method": self.display_method,
                         "confidence": CONFIDENCE, "sides": "two-sided"},
            "verdict": None if v is None else {
                "verdict": v.verdict, "label": v.label, "bound": v.lower, "upper_bound": v.upper,
                "method": v.method, "confidence": v.confidence, "more_needed": v.more_needed, "note": v.note},
            "villages": [vars(row) for row in self.villages],
            "strata": self.strata,
            "trend": self.trend,
            "notes": self.notes,
        }


def _active_exclusion():  # type: ignore[no-untyped-def]
    return exists().where(Exclusion.response_id == Response.id, Exclusion.reverted_at.is_(None))


def _base_filter(query, questionnaire: Questionnaire, simulated: bool):  # type: ignore[no-untyped-def]
    return query.where(Response.questionnaire_id == questionnaire.id, Response.simulated.is_(simulated))


def _day(session: Session):  # type: ignore[no-untyped-def]
    """The China-time day of a response: a date string on SQLite, a day number on PostgreSQL
    (integer arithmetic on the epoch is several times cheaper there than time-zone conversion)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(Response.submitted_at, "+8 hours")
    return (cast(func.extract("epoch", Response.submitted_at), BigInteger) + 8 * 3600) // 86400


def _day_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(value))).isoformat()


def _village_populations(questionnaire: Questionnaire) -> dict[int, int | None]:
    group = questionnaire.indicator.respondent_group
    return {v.id: group_population(v, group) for v in questionnaire.indicator.project.unit.villages}


def compute(session: Session, questionnaire: Questionnaire, *, simulated: bool = False,
            leave_out: set[int] | None = None) -> IndicatorResult:
    """All figures for one questionnaire's indicator, from SQL aggregates.

    ``leave_out``: response ids to leave out as well (the auditor's "without flagged responses").
    """
    indicator = questionnaire.indicator
    version = questionnaire.current_version
    rate_method = (version.content if version else questionnaire.draft).get("rate_method", "top2")
    # one pass over the responses: everything else is derived from these groups
    day = _day(session).label("day")
    rows = session.execute(
        _base_filter(select(Response.village_id, Response.channel, Response.satisfaction, Response.version_id, day,
                            func.count()), questionnaire, simulated)
        .where(~_active_exclusion(), Response.id.not_in(sorted(leave_out or ())))
        .group_by(Response.village_id, Response.channel, Response.satisfaction, Response.version_id, day)
    ).all()
    excluded = session.scalar(
        select(func.count(Exclusion.id)).join(Response, Response.id == Exclusion.response_id)
        .where(Response.questionnaire_id == questionnaire.id, Response.simulated.is_(simulated),
               Exclusion.reverted_at.is_(None))
    ) or 0
    numbers = {v.id: v.number for v in questionnaire.versions}
    counts: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    per_village: dict[int | None, Counter[str]] = defaultdict(Counter)
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    version_ids: set[int] = set()
    for village_id, channel, answer, version_id, day_value, count in rows:
        counts[answer] += count
        channels[Channel(channel).value] += count
        per_village[village_id][answer] += count
        per_day[_day_label(day_value)][answer] += count
        version_ids.add(version_id)
    versions = sorted(numbers[v] for v in version_ids if v in numbers)
    total = sum(counts.values())
    dont_know = counts[DONT_KNOW]
    scale = LIKERT_OPTIONS[:-1]
    valid = sum(counts[o] for o in scale)
    successes = counts[scale[0]] + counts[scale[1]]
    village_pops = _village_populations(questionnaire)
    population = None
    if indicator.population and indicator.population_unit == "人":
        population = indicator.population
    elif village_pops and all(village_pops.values()):
        population = sum(village_pops.values())  # type: ignore[arg-type]
    statement = (satisfaction_rate(dict(counts), exclude=(DONT_KNOW,), method=rate_method).statement()
                 if valid else "尚无有效答卷。")
    result = IndicatorResult(
        questionnaire=questionnaire, indicator=indicator, simulated=simulated, rate_method=rate_method,
        statement=statement, versions=versions, counts={o: counts[o] for o in LIKERT_OPTIONS},
        channels={c.value: channels[c.value] for c in Channel}, total=total, valid_n=valid, dont_know=dont_know,
        excluded=excluded, successes=successes, design="unknown", population=population,
    )
    result.villages = _villages(questionnaire, per_village, village_pops)
    result.trend = _trend(per_day)
    if valid == 0:
        result.notes.append("尚无有效答卷，无法计算满意度。")
        return result
    if population is not None and total > population:
        result.notes.append(f"答卷数（{total}）超过总体人数（{population}），请核对总体人数；本次按总体人数未知计算。")
        population = result.population = None
    _choose_design(result, per_village, village_pops, population)
    if rate_method == "weighted":
        _score(result, counts, population)
    else:
        _rate(result, per_village, village_pops)
    return result


def _choose_design(result: IndicatorResult, per_village: dict[int | None, Counter[str]],
                   village_pops: dict[int, int | None], population: int | None) -> None:
    if population is not None and result.total >= population:
        result.design = "census"
        return
    strata = _strata(per_village, village_pops)
    if strata is not None:
        fractions = [n / N for N, n, _ in strata]
        if len(strata) >= 2 and max(fractions) / min(fractions) > UNEVEN:
            result.design = "stratified"
            covered = {vid for vid, c in per_village.items() if vid is not None}
            missing = [vid for vid, pop in village_pops.items() if pop and vid not in covered]
            if missing:
                result.notes.append(f"有 {len(missing)} 个村没有有效答卷，分层估计只代表有答卷的村。")
            return
    if population is not None:
        result.design = "finite"


def _strata(per_village: dict[int | None, Counter[str]],
            village_pops: dict[int, int | None]) -> list[tuple[int, int, int]] | None:
    scale = LIKERT_OPTIONS[:-1]
    if None in per_village or not village_pops or not all(village_pops.values()):
        return None
    strata = []
    for village_id, answers in per_village.items():
        n = sum(answers[o] for o in scale)
        if n == 0:
            continue
        N = village_pops.get(village_id)  # type: ignore[arg-type]
        if not N or n > N:
            return None
        strata.append((N, n, answers[scale[0]] + answers[scale[1]]))
    return strata or None


def _rate(result: IndicatorResult, per_village: dict[int | None, Counter[str]],
          village_pops: dict[int, int | None]) -> None:
    x, n, target = result.successes, result.valid_n, result.indicator.target
    result.value = x / n
    try:
        target_fraction(target)  # type: ignore[arg-type]
        target_ok = True
    except (ValueError, TypeError):
        target_ok = False
        result.notes.append(f"目标“{result.indicator.target_raw}”不是满意率（%），不作判定。")
    if result.design == "census":
        result.lower = result.upper = result.value
        result.display_method = "census"
        if target_ok:
            result.verdict = verdict(x, n, target, population=n, confidence=CONFIDENCE)  # type: ignore[arg-type]
    elif result.design == "stratified":
        strata = _strata(per_village, village_pops)
        assert strata is not None
        result.strata = strata
        try:
            iv = stratified_interval(strata, method="wilson", confidence=CONFIDENCE)
        except IntervalUndefined:
            iv = stratified_interval(strata, method="wilson_kish", confidence=CONFIDENCE)
            result.notes.append("所有有效答卷都满意（方差为 0），展示区间改用 Kish 有效样本量。")
        result.value, result.lower, result.upper, result.display_method = iv.point, iv.lower, iv.upper, iv.method
        if target_ok:
            result.verdict = verdict(0, 0, target, strata=strata, confidence=CONFIDENCE)  # type: ignore[arg-type]
    elif result.design == "finite":
        iv = proportion_interval(x, n, method="exact_hypergeometric", population=result.population,
                                 confidence=CONFIDENCE)
        result.lower, result.upper, result.display_method = iv.lower, iv.upper, "exact_hypergeometric"
        if target_ok:
            result.verdict = verdict(x, n, target, population=result.population, confidence=CONFIDENCE)  # type: ignore[arg-type]
    else:
        iv = proportion_interval(x, n, method="wilson", confidence=CONFIDENCE)
        result.lower, result.upper, result.display_method = iv.lower, iv.upper, "wilson"
        if target_ok:
            result.verdict = verdict(x, n, target, confidence=CONFIDENCE)  # type: ignore[arg-type]
    if result.verdict is not None:
        result.bound = result.verdict.lower


def _score(result: IndicatorResult, counts: Counter[str], population: int | None) -> None:
    census = result.design == "census"
    pop = result.valid_n if census else population
    two = score_interval(dict(counts), population=pop, confidence=CONFIDENCE)
    one = score_interval(dict(counts), population=pop, confidence=CONFIDENCE, sides="lower")
    result.value, result.lower, result.upper, result.display_method = two.point, two.lower, two.upper, "t"
    result.bound = one.lower
    target = result.indicator.target
    if target is None or target.unit != "分" or target.value is None:
        result.notes.append(f"目标“{result.indicator.target_raw}”不是得分（分），加权得分不作判定。")
        return
    upper_one = score_interval(dict(counts), population=pop, confidence=1 - (1 - CONFIDENCE) * 2).upper
    state = "supported" if one.lower >= target.value else "contradicted" if upper_one < target.value else "inconclusive"
    result.verdict = Verdict(state, target.value / 100, two.point / 100, one.lower / 100, upper_one / 100, "t",
                             CONFIDENCE, result.valid_n, result.successes, pop, None,
                             "加权得分按 t 区间判定（近似方法）")


def _villages(questionnaire: Questionnaire, per_village: dict[int | None, Counter[str]],
              village_pops: dict[int, int | None]) -> list[VillageResult]:
    scale = LIKERT_OPTIONS[:-1]
    names = {v.id: v.name for v in questionnaire.indicator.project.unit.villages}
    rows = []
    for village_id, answers in sorted(per_village.items(), key=lambda kv: (kv[0] is None, names.get(kv[0], ""))):
        n = sum(answers[o] for o in scale)
        x = answers[scale[0]] + answers[scale[1]]
        pop = village_pops.get(village_id) if village_id is not None else None
        rate = lower = upper = None
        method = ""
        if n:
            if pop and n <= pop:
                iv = proportion_interval(x, n, method="exact_hypergeometric", population=pop)
                method = "exact_hypergeometric"
            else:
                iv = proportion_interval(x, n, method="wilson")
                method = "wilson"
            rate, lower, upper = iv.point, iv.lower, iv.upper
        rows.append(VillageResult(village_id, names.get(village_id, "未指定村"), pop, n, x, answers[DONT_KNOW],
                                  rate, lower, upper, method))
    return rows


def _trend(per_day: dict[str, Counter[str]]) -> list[dict[str, Any]]:
    """Cumulative rate by day (China time) as responses arrived."""
    out, cum_x, cum_n = [], 0, 0
    for day_value in sorted(per_day):
        answers = per_day[day_value]
        cum_x += answers[LIKERT_OPTIONS[0]] + answers[LIKERT_OPTIONS[1]]
        cum_n += sum(answers[o] for o in LIKERT_OPTIONS[:-1])
        out.append({"date": day_value, "n": cum_n, "rate": (cum_x / cum_n) if cum_n else None})
    return out


def compute_all(session: Session, *, project_code: str | None = None, simulated: bool = False) -> list[IndicatorResult]:
    query = select(Questionnaire).order_by(Questionnaire.id)
    results = []
    for questionnaire in session.scalars(query):
        if project_code and questionnaire.indicator.project.code != project_code:
            continue
        results.append(compute(session, questionnaire, simulated=simulated))
    return results
