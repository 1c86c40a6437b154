"""The county overview: every visible unit's satisfaction indicators on one page.

Per indicator: its status (没有问卷 / 收集中 / 答卷已够 / 已写回), the verdict and rate from
:func:`analysis.figure.figure` (through :func:`survey_app.services.results.compute_many`, one
aggregation for every questionnaire of the county), the response rate where a sampling frame or a
population exists, and the number of quality flags (:mod:`survey_app.services.flags`). The page
costs a fixed number of queries whatever the number of units (plus one design check per questionnaire
with a random draw).

Status, in order of precedence:

* 已写回 (``written``): a result has been written back onto the indicator (a ``Measurement``);
* 答卷已够 (``enough``): the verdict is settled (达标 or 未达标): more answers at the current rate
  would not change it;
* 收集中 (``collecting``): a published (or closed) questionnaire whose verdict is still open, or that
  has no valid answers yet;
* 没有问卷 (``none``): no questionnaire, or only an unpublished draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from survey_app.models import Indicator, Measurement, Project, Questionnaire, QuestionnaireStatus, Unit, User
from survey_app.services import sampling
from survey_app.services.flags import flag_counts
from survey_app.services.results import IndicatorResult, compute_many, drawn_questionnaires
from survey_app.services.scope import visible_units

STATUS_LABELS = {"none": "没有问卷", "collecting": "收集中", "enough": "答卷已够", "written": "已写回"}
#: verdicts from worst to best, for sorting (no verdict last)
VERDICT_ORDER = {"contradicted": 0, "inconclusive": 1, "supported": 2}


@dataclass
class OverviewRow:
    unit: Unit
    project: Project
    indicator: Indicator
    questionnaire: Questionnaire | None
    result: IndicatorResult | None
    status: str
    response_rate: float | None
    flags: int | None
    written_at: dt.datetime | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def verdict(self) -> str | None:
        v = self.result.verdict if self.result is not None else None
        return v.verdict if v is not None else None

    @property
    def valid_n(self) -> int:
        return self.result.valid_n if self.result is not None else 0


#: ?sort= names → the key each row sorts by (None sorts last either way)
SORT_KEYS: dict[str, Callable[[OverviewRow], Any]] = {
    "unit": lambda r: r.unit.code,
    "project": lambda r: r.project.name,
    "indicator": lambda r: r.indicator.name,
    "status": lambda r: list(STATUS_LABELS).index(r.status),
    "verdict": lambda r: VERDICT_ORDER.get(r.verdict or ""),
    "rate": lambda r: r.result.value if r.result is not None else None,
    "n": lambda r: r.valid_n if r.questionnaire is not None else None,
    "response_rate": lambda r: r.response_rate,
    "flags": lambda r: r.flags,
}
DEFAULT_SORT = "unit"


def _status(questionnaire: Questionnaire | None, result: IndicatorResult | None, written: bool) -> str:
    if written:
        return "written"
    if questionnaire is None or questionnaire.status == QuestionnaireStatus.DRAFT or result is None:
        return "none"
    verdict = result.verdict
    return "enough" if verdict is not None and verdict.verdict != "inconclusive" else "collecting"


def _response_rate(session: Session, questionnaire: Questionnaire, result: IndicatorResult, drawn: set[int]) -> float | None:
    """The response rate the sampling page shows: AAPOR RR1 of the drawn cards with a random draw,
    else valid answers over the population when the population is known (a census: 100%)."""
    if questionnaire.id in drawn:
        return sampling.design_assessment(session, questionnaire, result).response_rate
    if result.population and result.valid_n and result.valid_n <= result.population:
        return result.valid_n / result.population
    return None


def overview(session: Session, user: User, *, unit_code: str | None = None) -> list[OverviewRow]:
    """Every satisfaction indicator of the units ``user`` may see (only ``unit_code``'s when given), by unit."""
    units = {u.id: u for u in visible_units(session, user) if not unit_code or u.code == unit_code}
    if not units:
        return []
    indicators = session.scalars(
        select(Indicator).join(Project, Project.id == Indicator.project_id)
        .where(Indicator.is_satisfaction.is_(True), Project.unit_id.in_(sorted(units)))
        .options(selectinload(Indicator.project))
        .order_by(Project.unit_id, Project.year, Project.code, Indicator.position)
    ).all()
    by_indicator = {q.indicator_id: q for q in session.scalars(
        select(Questionnaire).where(Questionnaire.indicator_id.in_([i.id for i in indicators]))
        .options(selectinload(Questionnaire.versions)))}
    selectinload_villages(session, list(units))
    live = [q for q in by_indicator.values() if q.status != QuestionnaireStatus.DRAFT and q.versions]
    results = {r.questionnaire.id: r for r in compute_many(session, sorted(live, key=lambda q: q.id))}
    written = dict(session.execute(
        select(Measurement.indicator_id, func.max(Measurement.created_at))
        .where(Measurement.indicator_id.in_([i.id for i in indicators])).group_by(Measurement.indicator_id)).all())
    drawn = drawn_questionnaires(session, list(results))
    flags = flag_counts(session, sorted(results))
    rows = []
    for indicator in indicators:
        q = by_indicator.get(indicator.id)
        result = results.get(q.id) if q is not None else None
        rows.append(OverviewRow(
            unit=units[indicator.project.unit_id], project=indicator.project, indicator=indicator, questionnaire=q,
            result=result, status=_status(q, result, indicator.id in written),
            response_rate=_response_rate(session, q, result, drawn) if q is not None and result is not None else None,
            flags=flags.get(q.id) if q is not None and result is not None else None,
            written_at=written.get(indicator.id)))
    return rows


def selectinload_villages(session: Session, unit_ids: list[int]) -> None:
    """Load the units' villages in one query (the figure needs each village's population)."""
    session.scalars(select(Unit).where(Unit.id.in_(unit_ids)).options(selectinload(Unit.villages))).all()


def sort_rows(rows: list[OverviewRow], key: str | None) -> tuple[list[OverviewRow], str]:
    """``rows`` ordered by ``?sort=`` (a leading ``-``: descending; unknown names: by unit); rows without a
    value sort last either way. Returns the rows and the key used."""
    key = key if key and key.lstrip("-") in SORT_KEYS else DEFAULT_SORT
    get = SORT_KEYS[key.lstrip("-")]
    present = [r for r in rows if get(r) is not None]
    missing = [r for r in rows if get(r) is None]
    ordered = sorted(present, key=lambda r: (get(r), r.unit.code, r.project.code, r.indicator.position),
                     reverse=key.startswith("-"))
    return ordered + missing, key


def filter_status(rows: list[OverviewRow], status: str | None) -> list[OverviewRow]:
    return [r for r in rows if r.status == status] if status in STATUS_LABELS else rows


def status_counts(rows: list[OverviewRow]) -> Mapping[str, int]:
    return {status: sum(1 for r in rows if r.status == status) for status in STATUS_LABELS}
