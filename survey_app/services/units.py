"""Units of a county deployment: what each holds and who sees it (``survey-app units``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from survey_app.models import (
    Indicator,
    Project,
    Questionnaire,
    QuestionnaireStatus,
    Response,
    Role,
    Unit,
    User,
    user_units,
)


@dataclass
class UnitSummary:
    code: str
    name: str
    projects: int = 0
    satisfaction_indicators: int = 0
    questionnaires_published: int = 0
    responses: int = 0
    #: usernames of the active accounts that see the unit (admins and every-unit accounts included)
    accounts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counts(session: Session, stmt: Any) -> dict[int, int]:
    return {unit_id: count for unit_id, count in session.execute(stmt)}


def unit_summaries(session: Session) -> list[UnitSummary]:
    """Every unit by code, with a handful of grouped queries (not one per unit)."""
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    projects = _counts(session, select(Project.unit_id, func.count()).group_by(Project.unit_id))
    indicators = _counts(session, select(Project.unit_id, func.count()).join(Indicator, Indicator.project_id == Project.id)
                         .where(Indicator.is_satisfaction.is_(True)).group_by(Project.unit_id))
    with_questionnaire = (select(Project.unit_id, func.count(Questionnaire.id))
                          .join(Indicator, Indicator.project_id == Project.id)
                          .join(Questionnaire, Questionnaire.indicator_id == Indicator.id))
    published = _counts(session, with_questionnaire.where(Questionnaire.status != QuestionnaireStatus.DRAFT)
                        .group_by(Project.unit_id))
    responses = _counts(session, select(Project.unit_id, func.count(Response.id))
                        .join(Indicator, Indicator.project_id == Project.id)
                        .join(Questionnaire, Questionnaire.indicator_id == Indicator.id)
                        .join(Response, Response.questionnaire_id == Questionnaire.id)
                        .where(Response.simulated.is_(False)).group_by(Project.unit_id))
    everyone = sorted(session.scalars(select(User.username).where(
        User.active.is_(True), or_(User.role == Role.ADMIN, User.all_units.is_(True)))))
    granted: dict[int, list[str]] = defaultdict(list)
    for unit_id, username in session.execute(
            select(user_units.c.unit_id, User.username).join(User, User.id == user_units.c.user_id)
            .where(User.active.is_(True), User.role != Role.ADMIN, User.all_units.is_(False))
            .order_by(User.username)):
        granted[unit_id].append(username)
    return [UnitSummary(code=u.code, name=u.name, projects=projects.get(u.id, 0),
                        satisfaction_indicators=indicators.get(u.id, 0),
                        questionnaires_published=published.get(u.id, 0), responses=responses.get(u.id, 0),
                        accounts=sorted([*everyone, *granted.get(u.id, [])]))
            for u in units]
