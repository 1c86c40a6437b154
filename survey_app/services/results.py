"""Results per satisfaction indicator: SQL aggregation fed to the one figure function.

Responses are never loaded row by row: counts come from ``GROUP BY village,
channel, answer, version, day`` in the database (read from a covering index; ``day`` is
the China-time day, a generated column), and every figure (design,
rate, interval, verdict, more-needed, statement) comes from
:func:`analysis.figure.figure` on those counts. Simulated (demo) responses and
responses with an active exclusion are left out of every real figure; both are
counted and shown.

With a random draw (a ``SampleDraw`` with its seed), only the answers through
drawn cards count (online, or a paper/interview entry carrying a drawn card):
the other answers of that questionnaire (posters, paper without a drawn card)
are self-selected and are counted as ``left_out``, unless staff switched on
``Questionnaire.pool_posters``. The offline verifier applies the same rule to
the raw rows (``analysis.verify``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, cast, exists, func, literal, literal_column, or_, select, union, union_all
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from analysis.figure import CONFIDENCE, DESIGN_LABELS, Figure, VillageFigure, figure
from survey_app.models import (
    Channel,
    Exclusion,
    Indicator,
    Link,
    Project,
    Questionnaire,
    Response,
    SampleDraw,
    Unit,
)
from survey_app.services.answers import superseded
from survey_app.services.distribution import group_population

__all__ = ["CONFIDENCE", "DESIGN_LABELS", "IndicatorResult", "compute", "compute_all", "compute_many", "figure_inputs"]


@dataclass(frozen=True)
class VillageResult(VillageFigure):
    """A village's figure with the village's name."""

    name: str = ""

    @property
    def village_id(self) -> int | None:
        return self.village

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "village_id": self.village}


@dataclass
class IndicatorResult:
    """One indicator's figure (:class:`analysis.figure.Figure`) with what the pages add around it:
    names, channels and the day-by-day trend. Figure attributes are read through."""

    questionnaire: Questionnaire
    indicator: Indicator
    simulated: bool
    figure: Figure
    channels: dict[str, int]
    villages: list[VillageResult] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    #: answers left out of a random sample's figure (self-selected: posters, paper without a drawn card)
    left_out: int = 0
    #: a random draw whose figure pools self-selected answers by staff choice
    pooled: bool = False

    def __getattr__(self, name: str) -> Any:
        if name == "figure":  # not yet set (copy/pickle)
            raise AttributeError(name)
        return getattr(self.figure, name)

    @property
    def statement(self) -> str:
        """The method in one sentence (the figure itself is ``figure.statement``)."""
        return self.figure.method_statement

    @property
    def versions(self) -> list[int]:
        return sorted(v for v in self.figure.versions if v is not None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "questionnaire_id": self.questionnaire.id,
            "project_code": self.indicator.project.code,
            "project": self.indicator.project.name,
            "indicator": self.indicator.name,
            "target": self.indicator.target_raw,
            "respondent_group": self.indicator.respondent_group.value if self.indicator.respondent_group else None,
            "simulated": self.simulated,
            **self.figure.as_dict(),
            "versions": self.versions,
            "inputs": figure_inputs(self.questionnaire),
            "channels": self.channels,
            "villages": [row.as_dict() for row in self.villages],
            "trend": self.trend,
            "left_out": self.left_out,
            "pooled": self.pooled,
        }


def _removed():  # type: ignore[no-untyped-def]
    """Ids of the responses no figure counts: actively excluded, or superseded by a correction.
    Few, and read from two small indexes (the partial unique index of active exclusions, the
    UNIQUE ``supersedes_id``); never NULL, so ``NOT IN`` is safe."""
    later = aliased(Response)
    return union(select(Exclusion.response_id.label("id")).where(Exclusion.reverted_at.is_(None)),
                 select(later.supersedes_id).where(later.supersedes_id.is_not(None)))


def _day_label(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _village_populations(questionnaire: Questionnaire) -> dict[int, int | None]:
    group = questionnaire.indicator.respondent_group
    return {v.id: group_population(v, group) for v in questionnaire.indicator.project.unit.villages}


def figure_inputs(questionnaire: Questionnaire) -> dict[str, Any]:
    """What the figure rests on besides the answers: method, target and populations (exported in
    audit bundles so that the offline verifier recomputes the design itself)."""
    indicator = questionnaire.indicator
    version = questionnaire.current_version
    rate_method = (version.content if version else questionnaire.draft).get("rate_method", "top2")
    population = indicator.population if indicator.population and indicator.population_unit == "人" else None
    return {"rate_method": rate_method, "target": indicator.target_raw, "population": population,
            "village_populations": {str(k): v for k, v in _village_populations(questionnaire).items()},
            "confidence": CONFIDENCE, "pool_posters": bool(questionnaire.pool_posters)}


def drawn_questionnaires(session: Session, questionnaire_ids: list[int]) -> set[int]:
    """The questionnaires with a performed random draw."""
    return set(session.scalars(select(SampleDraw.questionnaire_id).where(
        SampleDraw.questionnaire_id.in_(questionnaire_ids), SampleDraw.seed.is_not(None))))


def _drawn_card():  # type: ignore[no-untyped-def]
    """A response through a drawn card of its own questionnaire."""
    return Response.card_id.in_(select(Link.id).where(Link.position.is_not(None),
                                                      Link.questionnaire_id == Response.questionnaire_id))


#: the aggregation's keys, in the order of the covering index ``ix_responses_figures``
_KEYS = (Response.questionnaire_id, Response.village_id, Response.channel, Response.satisfaction,
         Response.version_id, Response.day)


def _aggregate(session: Session, questionnaire_ids: list[int], simulated: bool, leave_out: set[int] | None,
               sample_only: set[int]) -> tuple[dict[int, list[Any]], dict[int, int], dict[int, int]]:
    """One pass over the responses of the given questionnaires: groups per questionnaire, the
    count of actively excluded responses per questionnaire, and (for the questionnaires in
    ``sample_only``) the count of answers not through a drawn card, left out of the figure.

    The groups are counted over every matching row straight from the covering index, and the few
    removed rows (excluded, superseded) are subtracted, in one statement (one snapshot): exact,
    and several times cheaper than testing each row for an exclusion and a correction
    (benchmarks/results.md)."""
    kept = [Response.id.not_in(sorted(leave_out))] if leave_out else []  # no empty-set test per row
    in_sample = _drawn_card()
    # questionnaires without a draw are read from the covering index alone; the drawn card test
    # (a column the index lacks) applies to the questionnaires with one only
    plain = [q_id for q_id in questionnaire_ids if q_id not in sample_only]
    drawn = [q_id for q_id in questionnaire_ids if q_id in sample_only]
    wheres = [[Response.questionnaire_id.in_(ids), Response.simulated.is_(simulated), *kept, *extra]
              for ids, extra in ((plain, []), (drawn, [in_sample])) if ids]
    removed = _removed().subquery("removed")
    # the removed rows are driven by their ids (looked up by primary key), not by another scan of
    # the questionnaires' rows; not grouped, so that SQLite has no reason to walk the index instead
    parts = [select(*_KEYS, func.count().label("n")).where(*where).group_by(*_KEYS) for where in wheres]
    parts += [select(*_KEYS, literal(-1)).select_from(removed).join(Response, Response.id == removed.c.id).where(*where)
              for where in wheres]
    both = union_all(*parts).subquery()
    total = cast(func.sum(both.c.n), BigInteger)  # PostgreSQL's sum of bigint is numeric
    net = select(*both.c[:len(_KEYS)], total).group_by(*both.c[:len(_KEYS)]).having(total > 0)
    groups: dict[int, list[Any]] = defaultdict(list)
    for q_id, *row in session.execute(net):
        groups[q_id].append(row)
    left_out: dict[int, int] = {}
    if sample_only:
        left_out = dict(session.execute(
            select(Response.questionnaire_id, func.count())
            .where(Response.questionnaire_id.in_(sorted(sample_only)), Response.simulated.is_(simulated),
                   Response.id.not_in(_removed()), Response.id.not_in(sorted(leave_out or ())),
                   or_(Response.card_id.is_(None), ~in_sample))  # NOT IN is unknown for NULL
            .group_by(Response.questionnaire_id)).all())
    # driven by the few active exclusions, each response looked up by primary key: "+ 0" keeps the
    # planner from walking the questionnaires' part of the figures index instead (SQLite did)
    excluded = Counter(session.scalars(
        select(Response.questionnaire_id).select_from(Exclusion).join(Response, Response.id == Exclusion.response_id)
        .where((Response.questionnaire_id + literal_column("0")).in_(questionnaire_ids),
               Response.simulated.is_(simulated), Exclusion.reverted_at.is_(None), ~superseded())))
    return groups, dict(excluded), left_out


def _sample_only(session: Session, questionnaires: list[Questionnaire]) -> tuple[set[int], set[int]]:
    """(questionnaires whose figure counts drawn-card answers only, questionnaires pooled by staff choice)."""
    drawn = drawn_questionnaires(session, [q.id for q in questionnaires])
    pooled = {q.id for q in questionnaires if q.id in drawn and q.pool_posters}
    return drawn - pooled, pooled


def compute(session: Session, questionnaire: Questionnaire, *, simulated: bool = False,
            leave_out: set[int] | None = None) -> IndicatorResult:
    """All figures for one questionnaire's indicator, from SQL aggregates.

    ``leave_out``: response ids to leave out as well (the auditor's "without flagged responses").
    """
    sample_only, pooled = _sample_only(session, [questionnaire])
    groups, excluded, left_out = _aggregate(session, [questionnaire.id], simulated, leave_out, sample_only)
    return _result(questionnaire, groups.get(questionnaire.id, []), excluded.get(questionnaire.id, 0), simulated,
                   left_out=left_out.get(questionnaire.id, 0), pooled=questionnaire.id in pooled)


def _result(questionnaire: Questionnaire, rows: list[Any], excluded: int, simulated: bool, *,
            left_out: int = 0, pooled: bool = False) -> IndicatorResult:
    """The figure function on one questionnaire's groups, with names, channels and the trend around it."""
    numbers = {v.id: v.number for v in questionnaire.versions}
    cells: Counter[tuple[Any, Any, str]] = Counter()
    channels: Counter[Any] = Counter()
    per_day: dict[Any, Counter[str]] = defaultdict(Counter)
    for village_id, channel, answer, version_id, day_value, count in rows:
        cells[(village_id, numbers.get(version_id), answer)] += count
        channels[channel] += count
        per_day[day_value][answer] += count
    inputs = figure_inputs(questionnaire)
    village_pops = _village_populations(questionnaire)
    result = figure([(*key, count) for key, count in cells.items()], target=questionnaire.indicator.target_raw,
                    rate_method=inputs["rate_method"], population=inputs["population"],
                    village_populations=village_pops, excluded=excluded, confidence=CONFIDENCE)
    names = {v.id: v.name for v in questionnaire.indicator.project.unit.villages}
    villages = sorted((VillageResult(**_fields_of(v), name=names.get(v.village, "未指定村")) for v in result.villages),
                      key=lambda v: (v.village is None, v.name))
    return IndicatorResult(questionnaire=questionnaire, indicator=questionnaire.indicator, simulated=simulated,
                           figure=result, channels={c.value: channels[c] for c in Channel},
                           villages=villages, trend=_trend(per_day), left_out=left_out, pooled=pooled)


_VILLAGE_FIELDS = [f.name for f in dataclasses.fields(VillageFigure)]


def _fields_of(village: VillageFigure) -> dict[str, Any]:
    """The village figure's fields, shallow (``dataclasses.asdict`` deep-copies: slow per village)."""
    return {name: getattr(village, name) for name in _VILLAGE_FIELDS}


def _trend(per_day: dict[Any, Counter[str]]) -> list[dict[str, Any]]:
    """Cumulative satisfaction rate (top two options) by day, China time, as responses arrived."""
    out: list[dict[str, Any]] = []
    cumulative: Counter[str] = Counter()
    for day_value in sorted(per_day):
        cumulative.update(per_day[day_value])
        day_figure = figure([(None, None, option, count) for option, count in cumulative.items()],
                            rate_method="top2")
        out.append({"date": _day_label(day_value), "n": day_figure.valid_n, "rate": day_figure.value})
    return out


#: what the figures read around each questionnaire, loaded with it (no lazy load per indicator)
_AROUND = (selectinload(Questionnaire.versions),
           joinedload(Questionnaire.indicator).joinedload(Indicator.project).joinedload(Project.unit)
           .selectinload(Unit.villages))


def compute_all(session: Session, *, project_code: str | None = None, simulated: bool = False,
                unit_ids: Collection[int] | None = None) -> list[IndicatorResult]:
    """Every questionnaire's figures from one aggregation over all their responses (``unit_ids``: only
    these units' questionnaires)."""
    query = select(Questionnaire).options(*_AROUND).order_by(Questionnaire.id)
    if unit_ids is not None:
        query = (query.join(Indicator, Indicator.id == Questionnaire.indicator_id)
                 .join(Project, Project.id == Indicator.project_id).where(Project.unit_id.in_(sorted(unit_ids))))
    questionnaires = [q for q in session.scalars(query)
                      if not project_code or q.indicator.project.code == project_code]
    return compute_many(session, questionnaires, simulated=simulated)


def compute_many(session: Session, questionnaires: list[Questionnaire], *,
                 simulated: bool = False) -> list[IndicatorResult]:
    """The figures of the given questionnaires, in their order, from one aggregation."""
    if not questionnaires:
        return []
    sample_only, pooled = _sample_only(session, questionnaires)
    groups, excluded, left_out = _aggregate(session, [q.id for q in questionnaires], simulated, None, sample_only)
    return [_result(q, groups.get(q.id, []), excluded.get(q.id, 0), simulated, left_out=left_out.get(q.id, 0),
                    pooled=q.id in pooled) for q in questionnaires]


def with_simulated(session: Session, questionnaire_ids: list[int]) -> set[int]:
    """The questionnaires that have simulated (demo) answers: one index probe each."""
    if not questionnaire_ids:
        return set()
    has = exists().where(Response.questionnaire_id == Questionnaire.id, Response.simulated.is_(True))
    return set(session.scalars(select(Questionnaire.id).where(Questionnaire.id.in_(questionnaire_ids), has)))
