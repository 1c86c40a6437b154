"""Shared test factories: build responses, exclusions and the like in one line."""

from __future__ import annotations

from survey_app.models import Channel
from survey_app.services.collection import Answers, new_submission_key, submit


def add_responses(session, questionnaire, plan, *, channel=Channel.PAPER, simulated=False):
    """plan: list of (village or None, satisfied count, other count, dont_know count); commits."""
    version = questionnaire.current_version
    for village, satisfied, other, dont_know in plan:
        choices = ["满意"] * satisfied + ["不满意"] * other + ["不了解"] * dont_know
        for n, choice in enumerate(choices):
            if choice == "满意" and n % 3 == 0:
                choice = "非常满意"
            submit(session, link=None, version=version,
                   answers=Answers({"satisfaction": choice}, choice, "", village.id if village else None),
                   submission_key=new_submission_key(), channel=channel, entered_by="test", simulated=simulated)
    session.commit()


def exclude_all(session, questionnaire, answer, reason="测试", actor="test"):
    """Exclude every response of ``questionnaire`` with the given answer; returns how many."""
    from sqlalchemy import select

    from survey_app.models import Response
    from survey_app.services.exclusions import exclude

    rows = session.scalars(select(Response).where(Response.questionnaire_id == questionnaire.id,
                                                  Response.satisfaction == answer)).all()
    for response in rows:
        exclude(session, response, reason, actor=actor)
    session.commit()
    return len(rows)
