"""Write results back onto indicators as dated measurements (the history stays).

The year-end self-evaluation table (绩效自评表) is in :mod:`survey_app.services.selfeval`
and its .xlsx/.docx exports in :mod:`survey_app.services.selfeval_export`.
The table follows 财预〔2020〕10号 附件1 (see ``docs/decisions.md``): a header block,
the budget block (年初预算数 | 全年预算数 | 全年执行数 | 分值 | 执行率 | 得分), and per
indicator 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差原因分析及改进措施. Satisfaction rows
take their actual value from the latest written-back measurement, with a footnote
stating n, the population, the method and the interval. Scores follow
:func:`analysis.score_indicator`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Indicator, Measurement, Project, Questionnaire
from survey_app.services import audit_log, sampling
from survey_app.services.results import CONFIDENCE, IndicatorResult, compute

DEFAULT_WEIGHTS = {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0, "预算执行率": 10.0}
MET_PHRASES = ("达成年度指标", "达成预期指标", "已完成", "完成", "是", "达到")


class WritebackError(ValueError):
    """A write-back that cannot be made; the message is for staff."""


def writeback(session: Session, indicator: Indicator, *, actor: str) -> Measurement:
    """Store the current result on the indicator as a new dated record (history kept)."""
    questionnaire = session.scalar(select(Questionnaire).where(Questionnaire.indicator_id == indicator.id))
    if questionnaire is None:
        raise WritebackError(f"“{indicator.name}”还没有问卷。")
    result = compute(session, questionnaire)
    if result.value is None:
        raise WritebackError(f"“{indicator.name}”还没有有效答卷，不能写回。")
    return _store(session, result, actor)


def _store(session: Session, result: IndicatorResult, actor: str) -> Measurement:
    v = result.verdict
    measurement = Measurement(
        indicator_id=result.indicator.id,
        actual_value=result.actual_value,
        value=result.value,
        lower=result.lower,
        upper=result.upper,
        bound=result.bound if result.bound is not None else result.lower,
        n=result.valid_n,
        excluded=result.excluded + result.dont_know,
        population=result.population,
        design=result.design,
        method=f"{result.display_method}; verdict: {v.method if v else 'none'}"[:64],
        confidence=CONFIDENCE,
        verdict=v.verdict if v else "none",
        versions=result.versions,
        details={**result.as_dict(),
                 "sampling": sampling.design_assessment(session, result.questionnaire, result).as_dict()},
        created_by=actor,
    )
    session.add(measurement)
    session.flush()
    audit_log.record(session, actor=actor, action="writeback", obj=result.indicator,
                     actual_value=measurement.actual_value, verdict=measurement.verdict, n=measurement.n)
    return measurement


def writeback_project(session: Session, project: Project, *, actor: str) -> list[Measurement]:
    stored = []
    for indicator in project.indicators:
        if not indicator.is_satisfaction:
            continue
        try:
            stored.append(writeback(session, indicator, actor=actor))
        except WritebackError:
            continue
    return stored


def latest_measurement(session: Session, indicator: Indicator) -> Measurement | None:
    return session.scalar(select(Measurement).where(Measurement.indicator_id == indicator.id)
                          .order_by(Measurement.id.desc()).limit(1))


def footnote(m: Measurement) -> str:
    """The figure as written back, in one plain Chinese sentence, for the table's footnote.

    The sentence is the figure function's own statement stored at write-back time
    (method names stay in ``details['detail']`` for auditors); the date is local."""
    from survey_app.filters import local_time
    versions = ",".join(str(x) for x in m.versions)
    statement = m.details.get("statement")
    if not statement:  # written back before statements were stored
        scale, unit = (100, "%") if m.actual_value.endswith("%") else (1, "分")
        population = f"总体 {m.population} 人" if m.population else "总体人数未知"
        statement = (f"{m.actual_value}：有效答卷 {m.n} 份，{population}；{int(m.confidence * 100)}% 置信区间 "
                     f"{m.lower * scale:.1f}{unit}–{m.upper * scale:.1f}{unit}；结论：{m.verdict_label}。")
    return (f"问卷调查，{statement}问卷版本 {versions}；{local_time(m.created_at)[:10]} 写回。"
            + sampling.design_footnote(m.details))
