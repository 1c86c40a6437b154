"""Reading the answers: per-question counts with filters, cross-tabs, comments, the response list.

Everything is counted in the database (``GROUP BY``), never by loading responses.
Simulated responses are left out unless asked for; a paper form that was corrected
counts only in its latest version (see :mod:`survey_app.services.corrections`);
responses with an active exclusion are left out of the counts (and listed, marked,
in the response list).

The satisfaction rate per filter comes from :func:`satisfaction_figure`, which
calls the one figure function (:func:`analysis.figure.figure`); the rule itself
is never re-derived here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from survey_app.filters import CHINA
from survey_app.models import Channel, CommentFollowUp, Exclusion, Questionnaire, QuestionnaireVersion, Response
from survey_app.services.questionnaires import DONT_KNOW, LIKERT_OPTIONS

CONFIDENCE = 0.95
NO_VILLAGE = "未指定村"
NO_ANSWER = "未作答"


# -- the one adapter to the figure function ------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A satisfaction figure for a subset of responses: value, 95% interval, n."""

    method: str  # top2 | weighted
    value: float
    lower: float
    upper: float
    n: int
    successes: int
    interval_method: str

    @property
    def text(self) -> str:
        if self.method == "weighted":
            return f"{self.value:.1f}分"
        return f"{self.value * 100:.1f}%"


def satisfaction_figure(counts: Mapping[str, int], rate_method: str = "top2") -> Figure | None:
    """The satisfaction figure of ``counts`` (option → count); None without valid answers.

    The ONE place this module turns counts into a rate: it calls the analysis
    package's figure functions, so switching to the single pure figure function is
    a change of this body only.
    """
    from analysis.figure import figure

    cells = [(None, None, option, int(counts.get(option, 0))) for option in LIKERT_OPTIONS]
    if not sum(count for _, _, option, count in cells if option != DONT_KNOW):
        return None
    # a filtered subset is not a sample of a known population: the figure's "N unknown" design
    fig = figure(cells, rate_method=rate_method, confidence=CONFIDENCE)
    return Figure(rate_method, fig.value, fig.lower, fig.upper, fig.valid_n, fig.successes, fig.display_method)


# -- filters -----------------------------------------------------------------------------------


class FilterError(ValueError):
    """A filter value that cannot be read; the message is for staff."""


def _date(text: str, what: str) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{what}“{text}”不是日期，请写成 2024-05-01 的形式。") from None


@dataclass
class Filters:
    """What a page shows: village, channel, identity, version, dates (China time), exclusion, flags, text."""

    village_id: int | None = None  # 0: responses without a village
    channel: str = ""
    identity: str = ""
    version: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    excluded: str = ""  # "" all, "yes" only excluded, "no" only counted
    flagged: bool = False
    search: str = ""
    simulated: bool = False
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Read filters from request arguments; unreadable ones are dropped and named in ``errors``."""
        out = cls()
        village = (args.get("village") or "").strip()
        if village:
            if village.isdigit():
                out.village_id = int(village)
            else:
                out.errors.append(f"村“{village}”无法识别。")
        channel = (args.get("channel") or "").strip()
        if channel:
            if channel in {c.value for c in Channel}:
                out.channel = channel
            else:
                out.errors.append(f"渠道“{channel}”无法识别。")
        out.identity = (args.get("identity") or "").strip()[:50]
        version = (args.get("version") or "").strip()
        if version:
            if version.isdigit():
                out.version = int(version)
            else:
                out.errors.append(f"问卷版本“{version}”无法识别。")
        for name, what in (("date_from", "开始日期"), ("date_to", "结束日期")):
            try:
                setattr(out, name, _date(args.get(name, ""), what))
            except FilterError as exc:
                out.errors.append(str(exc))
        if out.date_from and out.date_to and out.date_from > out.date_to:
            out.errors.append("开始日期晚于结束日期，已忽略日期筛选。")
            out.date_from = out.date_to = None
        out.excluded = args.get("excluded", "") if args.get("excluded") in ("yes", "no") else ""
        out.flagged = args.get("flagged") == "1"
        out.search = (args.get("q") or "").strip()[:100]
        out.simulated = args.get("simulated") == "1"
        return out

    @property
    def active(self) -> bool:
        return any((self.village_id is not None, self.channel, self.identity, self.version, self.date_from,
                    self.date_to, self.excluded, self.flagged, self.search))


def active_exclusion():  # type: ignore[no-untyped-def]
    return exists().where(Exclusion.response_id == Response.id, Exclusion.reverted_at.is_(None))


def superseded():  # type: ignore[no-untyped-def]
    """True for a response that a later correction replaced (figures use the latest version only)."""
    later = aliased(Response)
    return exists().where(later.supersedes_id == Response.id)


def identity_of():  # type: ignore[no-untyped-def]
    return Response.answers["identity"].as_string()


def _local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.UTC)


def where(session: Session, questionnaire: Questionnaire, filters: Filters, *, counted: bool = False) -> list[Any]:
    """The WHERE clauses for ``filters``; ``counted`` also leaves out excluded responses (as the figures do)."""
    clauses: list[Any] = [Response.questionnaire_id == questionnaire.id, Response.simulated.is_(filters.simulated),
                          ~superseded()]
    if filters.village_id is not None:
        clauses.append(Response.village_id.is_(None) if filters.village_id == 0
                       else Response.village_id == filters.village_id)
    if filters.channel:
        clauses.append(Response.channel == Channel(filters.channel))
    if filters.identity:
        clauses.append(identity_of() == filters.identity)
    if filters.version is not None:
        clauses.append(Response.version_id.in_(
            select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == questionnaire.id,
                                                  QuestionnaireVersion.number == filters.version)))
    if filters.date_from:
        clauses.append(Response.submitted_at >= _local_start(filters.date_from))
    if filters.date_to:
        clauses.append(Response.submitted_at < _local_start(filters.date_to + dt.timedelta(days=1)))
    if counted or filters.excluded == "no":
        clauses.append(~active_exclusion())
    elif filters.excluded == "yes":
        clauses.append(active_exclusion())
    if filters.flagged:
        from survey_app.services.flags import compute_flags, flagged_ids

        clauses.append(Response.id.in_(sorted(flagged_ids(compute_flags(session, questionnaire)))))
    if filters.search:
        clauses.append(Response.comment.contains(filters.search, autoescape=True))
    return clauses


# -- per-question results ------------------------------------------------------------------------


@dataclass
class OptionCount:
    option: str
    count: int
    share: float | None


@dataclass
class QuestionSummary:
    key: str
    kind: str
    text: str
    options: list[OptionCount]
    answered: int
    unanswered: int
    figure: Figure | None = None


def content_of(questionnaire: Questionnaire) -> dict[str, Any]:
    version = questionnaire.current_version
    return version.content if version is not None else questionnaire.draft


def village_names(questionnaire: Questionnaire) -> dict[int, str]:
    return {v.id: v.name for v in questionnaire.indicator.project.unit.villages}


def _grouped(session: Session, column: Any, clauses: list[Any]) -> dict[Any, int]:
    rows = session.execute(select(column, func.count()).where(*clauses).group_by(column)).all()
    return {value: count for value, count in rows}


def question_results(session: Session, questionnaire: Questionnaire, filters: Filters) -> tuple[int, list[QuestionSummary]]:
    """(responses counted, one summary per question) for the responses ``filters`` selects."""
    clauses = where(session, questionnaire, filters, counted=True)
    total = session.scalar(select(func.count(Response.id)).where(*clauses)) or 0
    content = content_of(questionnaire)
    rate_method = content.get("rate_method", "top2")
    out = []
    for question in content.get("questions", []):
        key, kind = question["key"], question["kind"]
        if kind == "text":
            answered = session.scalar(select(func.count(Response.id)).where(*clauses, Response.comment != "")) or 0
            out.append(QuestionSummary(key, kind, question["text"], [], answered, total - answered))
            continue
        if kind == "likert":
            counts = _grouped(session, Response.satisfaction, clauses)
            options = list(LIKERT_OPTIONS)
        elif kind == "village":
            names = village_names(questionnaire)
            raw = _grouped(session, Response.village_id, clauses)
            counts = {names.get(k, NO_VILLAGE) if k is not None else NO_VILLAGE: v for k, v in raw.items()}
            options = [names[k] for k in sorted(names, key=lambda i: names[i]) if names[k] in counts]
            if NO_VILLAGE in counts:
                options.append(NO_VILLAGE)
        else:
            counts = _grouped(session, Response.answers[key].as_string(), clauses)
            options = list(question.get("options") or [])
            options += sorted(str(k) for k in counts if k is not None and k not in options)
        answered = sum(v for k, v in counts.items() if k is not None)
        rows = [OptionCount(o, counts.get(o, 0), counts.get(o, 0) / answered if answered else None) for o in options]
        summary = QuestionSummary(key, kind, question["text"], rows, answered, total - answered)
        if kind == "likert":
            summary.figure = satisfaction_figure(counts, rate_method)
        out.append(summary)
    return total, out


@dataclass
class CrossRow:
    label: str
    counts: dict[str, int]
    total: int
    figure: Figure | None


def crosstab(session: Session, questionnaire: Questionnaire, filters: Filters, by: str) -> list[CrossRow]:
    """The satisfaction question by village (``by='village'``) or by respondent identity (``by='identity'``)."""
    clauses = where(session, questionnaire, filters, counted=True)
    column = Response.village_id if by == "village" else identity_of()
    rows = session.execute(select(column, Response.satisfaction, func.count()).where(*clauses)
                           .group_by(column, Response.satisfaction)).all()
    grouped: dict[Any, dict[str, int]] = {}
    for value, answer, count in rows:
        grouped.setdefault(value, {})[answer] = count
    rate_method = content_of(questionnaire).get("rate_method", "top2")
    names = village_names(questionnaire) if by == "village" else {}

    def label(value: Any) -> str:
        if by == "village":
            return names.get(value, NO_VILLAGE) if value is not None else NO_VILLAGE
        return str(value) if value else NO_ANSWER

    out = [CrossRow(label(v), {o: c.get(o, 0) for o in LIKERT_OPTIONS}, sum(c.values()),
                    satisfaction_figure(c, rate_method)) for v, c in grouped.items()]
    return sorted(out, key=lambda r: (r.label in (NO_VILLAGE, NO_ANSWER), r.label))


def identities(questionnaire: Questionnaire) -> list[str]:
    for question in content_of(questionnaire).get("questions", []):
        if question["key"] == "identity":
            return list(question.get("options") or [])
    return []


# -- comments ------------------------------------------------------------------------------------


def comments_query(session: Session, questionnaire: Questionnaire, filters: Filters) -> Select:
    """Responses with a comment, newest first (excluded ones too: a complaint stays a complaint)."""
    clauses = where(session, questionnaire, filters)
    return select(Response).where(*clauses, Response.comment != "").order_by(Response.submitted_at.desc(),
                                                                           Response.id.desc())


def latest_followups(session: Session, response_ids: list[int]) -> dict[int, CommentFollowUp]:
    rows = session.scalars(select(CommentFollowUp).where(CommentFollowUp.response_id.in_(response_ids))
                           .order_by(CommentFollowUp.id)).all()
    return {row.response_id: row for row in rows}


def follow_up(session: Session, response: Response, note: str, *, done: bool, actor: str) -> CommentFollowUp:
    """Record what was done about a comment (or reopen it); notes are kept, the latest one counts."""
    from survey_app.services import audit_log

    note = note.strip()
    if done and not note:
        raise ValueError("标记为已跟进时请写明做了什么（跟进说明）。")
    if len(note) > 1000:
        raise ValueError(f"跟进说明最多 1000 字，现在有 {len(note)} 字。")
    if not response.comment:
        raise ValueError(f"回执码 {response.receipt} 的答卷没有意见建议。")
    record = CommentFollowUp(response_id=response.id, note=note, done=done, by=actor)
    session.add(record)
    session.flush()
    audit_log.record(session, actor=actor, action="comment_followup" if done else "comment_reopen", obj=response,
                     note=note, questionnaire_id=response.questionnaire_id)
    return record


# -- the response list ---------------------------------------------------------------------------

SORTS = {"submitted_at": Response.submitted_at, "village": Response.village_id, "channel": Response.channel,
         "satisfaction": Response.satisfaction, "receipt": Response.receipt}


def responses_query(session: Session, questionnaire: Questionnaire, filters: Filters) -> Select:
    return select(Response).where(*where(session, questionnaire, filters))


def excluded_ids(session: Session, response_ids: list[int]) -> dict[int, Exclusion]:
    rows = session.scalars(select(Exclusion).where(Exclusion.response_id.in_(response_ids),
                                                   Exclusion.reverted_at.is_(None))).all()
    return {row.response_id: row for row in rows}
