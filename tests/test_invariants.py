"""Invariants held by the schema itself (both databases), not only by Python checks."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from survey_app.models import QuestionnaireStatus, Response
from survey_app.models.survey import QuestionnaireStateError
from tests.factories import add_responses


@pytest.fixture
def one_response(published, session):
    q = published["村办公经费"]
    add_responses(session, q, [(None, 1, 0, 0)])
    return session.scalars(select(Response).where(Response.questionnaire_id == q.id)).first()


def _insert_exclusion(session, response_id, reverted=False):
    session.execute(text(
        "INSERT INTO exclusions (response_id, reason, excluded_by, excluded_at, reverted_at, reverted_by, revert_reason) "
        "VALUES (:r, '理由', 'x', CURRENT_TIMESTAMP, " + ("CURRENT_TIMESTAMP, 'x'" if reverted else "NULL, NULL")
        + ", '')"), {"r": response_id})


def test_only_one_active_exclusion_per_response(one_response, session):
    """Two staff excluding the same response at once: the second is refused by the database."""
    _insert_exclusion(session, one_response.id, reverted=True)
    _insert_exclusion(session, one_response.id)
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            _insert_exclusion(session, one_response.id)


@pytest.mark.parametrize("statement", [
    "UPDATE measurements SET verdict = 'bogus'",
    "UPDATE measurements SET design = 'bogus'",
])
def test_measurement_verdict_and_design_are_checked(statement, published, session):
    from survey_app.services.writeback import writeback

    q = published["村干部工资"]
    add_responses(session, q, [(None, 30, 0, 0)])
    writeback(session, q.indicator, actor="test")
    session.commit()
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text(statement))


def test_paper_entry_status_is_checked(published, session):
    q = published["村办公经费"]
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text(
                "INSERT INTO paper_entries (questionnaire_id, version_id, form_no, channel, answers, entered_by, "
                "entered_at, status) VALUES (:q, :v, '1', 'paper', '{}', 'x', CURRENT_TIMESTAMP, 'bogus')"),
                {"q": q.id, "v": q.current_version.id})


def test_questionnaire_state_transitions(published):
    q = published["村办公经费"]
    assert q.status == QuestionnaireStatus.PUBLISHED
    with pytest.raises(QuestionnaireStateError):
        q.move_to(QuestionnaireStatus.DRAFT)
    q.move_to(QuestionnaireStatus.CLOSED)
    with pytest.raises(QuestionnaireStateError):
        q.move_to(QuestionnaireStatus.DRAFT)
    q.move_to(QuestionnaireStatus.PUBLISHED)  # reopened
    q.status = QuestionnaireStatus.DRAFT
    with pytest.raises(QuestionnaireStateError, match="草稿"):
        q.move_to(QuestionnaireStatus.CLOSED)
