"""Exclusions: leave a response out of the figures with a reason, and revert that (both on record)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Exclusion, Questionnaire, Response


class ExclusionError(ValueError):
    """An exclusion that cannot be recorded; the message is for staff."""


def exclude(session: Session, response: Response, reason: str, *, actor: str) -> Exclusion:
    """Leave a response out of the figures, with a reason (the response itself stays)."""
    from survey_app.services import audit_log

    reason = reason.strip()
    if not reason:
        raise ExclusionError("排除答卷必须填写理由。")
    active = session.scalar(select(Exclusion).where(Exclusion.response_id == response.id,
                                                    Exclusion.reverted_at.is_(None)))
    if active is not None:
        raise ExclusionError(f"回执码 {response.receipt} 的答卷已被排除（{active.reason}）。")
    record = Exclusion(response_id=response.id, reason=reason, excluded_by=actor)
    session.add(record)
    session.flush()
    audit_log.record(session, actor=actor, action="exclude_response", obj=response, reason=reason,
                     questionnaire_id=response.questionnaire_id, receipt=response.receipt)
    return record


def revert_exclusion(session: Session, record: Exclusion, reason: str, *, actor: str) -> Exclusion:
    """Count an excluded response again; the exclusion stays on record as reverted."""
    from survey_app.db import utcnow
    from survey_app.services import audit_log

    if record.reverted_at is not None:
        raise ExclusionError("该排除已撤销。")
    reason = reason.strip()
    if not reason:
        raise ExclusionError("撤销排除必须填写理由。")
    record.reverted_at, record.reverted_by, record.revert_reason = utcnow(), actor, reason
    session.flush()
    audit_log.record(session, actor=actor, action="revert_exclusion", obj=record, reason=reason,
                     response_id=record.response_id)
    return record


def exclusions_for(session: Session, questionnaire: Questionnaire) -> list[tuple[Exclusion, Response]]:
    rows = session.execute(
        select(Exclusion, Response).join(Response, Response.id == Exclusion.response_id)
        .where(Response.questionnaire_id == questionnaire.id).order_by(Exclusion.id)
    )
    return [(exclusion, response) for exclusion, response in rows]
