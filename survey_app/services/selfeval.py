"""The year-end self-evaluation table (绩效自评表): rows, weights, scores, staff entries.

Follows 财预〔2020〕10号 附件1; scores by :func:`analysis.score_indicator`; satisfaction rows take
the latest written-back measurement (:mod:`survey_app.services.writeback`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import TargetParseError, score_indicator
from survey_app.models import Indicator, IndicatorActual, Measurement, Project, SelfEvaluation
from survey_app.services import audit_log
from survey_app.services.writeback import DEFAULT_WEIGHTS, MET_PHRASES, WritebackError, footnote, latest_measurement


@dataclass
class EvalRow:
    indicator: Indicator
    level1: str
    level2: str
    name: str
    target: str
    actual: str
    points: float
    score: float | None
    deviation: str
    note: str = ""


@dataclass
class EvalTable:
    project: Project
    year: int
    initial_budget: Decimal | None
    full_year_budget: Decimal | None
    executed: Decimal | None
    execution_rate: float | None
    budget_points: float
    budget_score: float | None
    outcome: str
    supervisor: str = ""
    rows: list[EvalRow] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float | None:
        parts = [r.score for r in self.rows] + [self.budget_score]
        return None if any(p is None for p in parts) else round(sum(parts), 2)  # type: ignore[arg-type]

    @property
    def total_points(self) -> float:
        return round(sum(r.points for r in self.rows) + self.budget_points, 2)

    @property
    def incomplete(self) -> list[str]:
        missing = [f"{r.name}（得分）" for r in self.rows if r.score is None]
        if self.budget_score is None:
            missing.append("全年执行数")
        return missing


def clean_text(value: str | None) -> str:
    """Staff narrative as stored; empty for nothing (and for the literal "None" an earlier page saved back)."""
    return "" if value is None or value.strip() == "None" else value


def evaluation_entries(session: Session, project: Project) -> tuple[SelfEvaluation, dict[int, IndicatorActual]]:
    entry = session.scalar(select(SelfEvaluation).where(SelfEvaluation.project_id == project.id))
    if entry is None:
        entry = SelfEvaluation(project=project, initial_budget_wan=project.budget_wan,
                               full_year_budget_wan=project.budget_wan, weights=dict(DEFAULT_WEIGHTS), outcome="",
                               supervisor="")
    actuals = {a.indicator_id: a for a in session.scalars(
        select(IndicatorActual).where(IndicatorActual.indicator_id.in_([i.id for i in project.indicators])))}
    return entry, actuals


def _allocate(project: Project, weights: dict[str, Any]) -> dict[int, float]:
    """Points per indicator: the table's own 分值 when given, else the level weight split evenly."""
    if all(i.points is not None for i in project.indicators):
        return {i.id: float(i.points) for i in project.indicators}  # type: ignore[arg-type]
    by_level: dict[str, list[Indicator]] = {}
    for indicator in project.indicators:
        by_level.setdefault(indicator.level1, []).append(indicator)
    points: dict[int, float] = {}
    for level, indicators in by_level.items():
        key = next((k for k in weights if k != "预算执行率" and k[:2] == level[:2]), None)
        total = float(weights.get(key, 0.0)) if key else 0.0
        share = round(total / len(indicators), 2)
        for n, indicator in enumerate(indicators):
            points[indicator.id] = share if n < len(indicators) - 1 else round(total - share * (len(indicators) - 1), 2)
    return points


def build_table(session: Session, project: Project) -> EvalTable:
    entry, actuals = evaluation_entries(session, project)
    weights = {**DEFAULT_WEIGHTS, **(entry.weights or {})}
    points = _allocate(project, weights)
    rate = None
    budget_score = None
    budget_points = float(weights["预算执行率"])
    if entry.executed_wan is not None and entry.full_year_budget_wan:
        rate = float(entry.executed_wan) / float(entry.full_year_budget_wan)
        budget_score = round(min(rate, 1.0) * budget_points, 2)
    table = EvalTable(project, project.year, entry.initial_budget_wan, entry.full_year_budget_wan,
                      entry.executed_wan, rate, budget_points, budget_score, clean_text(entry.outcome),
                      clean_text(entry.supervisor))
    for indicator in project.indicators:
        row = EvalRow(indicator, indicator.level1, indicator.level2, indicator.name, indicator.target_raw, "",
                      points[indicator.id], None, "")
        staff = actuals.get(indicator.id)
        if indicator.is_satisfaction:
            m = latest_measurement(session, indicator)
            if m is not None:
                row.actual = m.actual_value
                mark = "①②③④⑤⑥⑦⑧⑨⑩"[min(len(table.footnotes), 9)]
                table.footnotes.append(f"{mark} {indicator.name}：{footnote(m)}")
                row.note = mark
                if m.verdict == "inconclusive" or (staff is None or not staff.deviation):
                    row.deviation = _auto_deviation(m, indicator)
        if staff is not None:
            row.actual = staff.actual or row.actual
            row.deviation = staff.deviation or row.deviation
        row.score = _score(indicator, row.actual, row.points, staff)
        table.rows.append(row)
    return table


def _auto_deviation(m: Measurement, indicator: Indicator) -> str:
    if m.verdict == "supported":
        return ""
    scale = 100 if "%" in m.actual_value else 1
    return (f"问卷调查满意度 {m.actual_value}，{int(m.confidence * 100)}% 单侧下限 {m.bound * scale:.1f}"
            f"{'%' if scale == 100 else '分'}，样本 {m.n} 份，"
            + ("尚不能证明达到目标，建议扩大调查样本。" if m.verdict == "inconclusive"
               else "低于目标，需分析原因并改进。"))


def scoring_target(indicator: Indicator) -> str:
    """The target as scored: a 成本指标 is a ceiling (spending less is not worse), so “411.56万元” means ≤."""
    raw = (indicator.target_raw or "").strip()
    if indicator.level2 == "成本指标" and raw and raw[0] not in "≤<≥>":
        return "≤" + raw.lstrip("=＝")
    return raw


def _score(indicator: Indicator, actual: str, points: float, staff: IndicatorActual | None) -> float | None:
    if staff is not None and staff.score is not None:
        return min(float(staff.score), points)
    if not actual:
        return None
    if indicator.target_kind == "quantity":
        try:
            return score_indicator(scoring_target(indicator), actual, points).score  # type: ignore[arg-type]
        except (ValueError, TargetParseError):
            return None
    if actual.strip() in MET_PHRASES:
        return points
    return None


def save_entries(session: Session, project: Project, *, actor: str, initial: Decimal | None,
                 full_year: Decimal | None, executed: Decimal | None, outcome: str,
                 weights: dict[str, float], actuals: dict[int, tuple[str, float | None, str]],
                 supervisor: str | None = None) -> None:
    """Store the staff-entered parts of the self-evaluation (flush only)."""
    if sum(weights.values()) <= 0:
        raise WritebackError("权重之和必须大于 0。")
    entry, existing = evaluation_entries(session, project)
    if entry.id is None:
        session.add(entry)
    entry.initial_budget_wan, entry.full_year_budget_wan, entry.executed_wan = initial, full_year, executed
    entry.outcome, entry.weights, entry.updated_by = clean_text(outcome), weights, actor
    if supervisor is not None:
        entry.supervisor = supervisor.strip()[:200]
    for indicator in project.indicators:
        if indicator.id not in actuals:
            continue
        actual, score, deviation = actuals[indicator.id]
        record = existing.get(indicator.id) or IndicatorActual(indicator_id=indicator.id)
        if record.id is None:
            session.add(record)
        record.actual, record.score, record.deviation, record.updated_by = actual, score, deviation, actor
    session.flush()
    audit_log.record(session, actor=actor, action="edit_self_evaluation", obj=project,
                     executed=str(executed) if executed is not None else None, weights=weights)
