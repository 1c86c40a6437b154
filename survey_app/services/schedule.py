"""A questionnaire's schedule: opening and closing times, and closing at a target number of valid responses."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from survey_app.db import utcnow
from survey_app.models import Questionnaire, Response
from survey_app.services import audit_log
from survey_app.services.answers import CHINA
from survey_app.services.questionnaires import DONT_KNOW


class ScheduleError(ValueError):
    """A schedule that cannot be saved; the message is for staff."""


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def valid_count(session: Session, questionnaire: Questionnaire) -> int:
    """Valid responses as the figures count them (not 不了解, not excluded, not simulated, latest versions)."""
    from survey_app.services.answers import active_exclusion, superseded

    return session.scalar(select(func.count(Response.id)).where(
        Response.questionnaire_id == questionnaire.id, Response.simulated.is_(False),
        Response.satisfaction != DONT_KNOW, ~active_exclusion(), ~superseded())) or 0


def check_schedule(questionnaire: Questionnaire, now: dt.datetime | None = None) -> None:
    """Raise NotAccepting ('not_yet', 'ended' or 'target') when the schedule says the form is not open."""
    from survey_app.services.collection import NotAccepting

    now = now or utcnow()
    if questionnaire.opens_at is not None and now < _aware(questionnaire.opens_at):
        raise NotAccepting("not_yet", _aware(questionnaire.opens_at))
    if questionnaire.closes_at is not None and now >= _aware(questionnaire.closes_at):
        raise NotAccepting("ended", _aware(questionnaire.closes_at))
    if questionnaire.target_valid:
        session = object_session(questionnaire)
        if session is not None and valid_count(session, questionnaire) >= questionnaire.target_valid:
            raise NotAccepting("target")


def parse_local(text: str, what: str) -> dt.datetime | None:
    """'2024-05-01' or '2024-05-01T08:00' in China time, as UTC; empty means no limit."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"{what}“{text}”不是日期时间，请写成 2024-05-01 08:00 的形式。") from None
    return value.replace(tzinfo=CHINA).astimezone(dt.UTC)


def set_schedule(session: Session, questionnaire: Questionnaire, *, opens: str, closes: str, target: str,
                 actor: str) -> None:
    opens_at, closes_at = parse_local(opens, "开始时间"), parse_local(closes, "结束时间")
    if opens_at and closes_at and opens_at >= closes_at:
        raise ScheduleError("结束时间必须晚于开始时间。")
    target = (target or "").strip()
    if target and (not target.isdigit() or int(target) < 1):
        raise ScheduleError(f"目标有效答卷数“{target}”必须是正整数。")
    questionnaire.opens_at, questionnaire.closes_at = opens_at, closes_at
    questionnaire.target_valid = int(target) if target else None
    session.flush()
    audit_log.record(session, actor=actor, action="set_schedule", obj=questionnaire,
                     opens_at=opens_at.isoformat() if opens_at else None,
                     closes_at=closes_at.isoformat() if closes_at else None, target_valid=questionnaire.target_valid)
