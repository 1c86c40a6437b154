"""A county deployment: accounts see and change only their own units."""

import pytest
from sqlalchemy import select

from survey_app.models import Questionnaire, Unit
from tests.conftest import PASSWORD, SEED


def other_unit_table() -> bytes:
    """The seed table as another township's (unit 929002)."""
    text = SEED.read_text(encoding="utf-8")
    return text.replace("929001", "929002").replace("张二庄镇", "李三庄镇").encode("utf-8")


@pytest.fixture
def county(published, session):
    """Two townships, each with published questionnaires, and one staff account for each."""
    from survey_app.services.accounts import create_user
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file

    import_file(session, other_unit_table(), "李三庄镇.txt", actor="test", year=2024)
    session.commit()
    a = session.scalar(select(Unit).where(Unit.code == "929001"))
    b = session.scalar(select(Unit).where(Unit.code == "929002"))
    ensure_demo_villages(session, b)
    publish_demo_questionnaires(session, b)
    create_user(session, "staff_a", PASSWORD, "staff", actor="test", units=[a])
    create_user(session, "staff_b", PASSWORD, "staff", actor="test", units=[b])
    session.commit()
    return {"a": a, "b": b}


def _questionnaire_of(session, unit):
    from survey_app.models import Indicator, Project

    return session.scalar(
        select(Questionnaire.id).join(Indicator).join(Project).where(Project.unit_id == unit.id).limit(1)
    )


def test_a_row_of_another_unit_is_not_found(client, session, county):
    client.post("/auth/login", data={"username": "staff_a", "password": PASSWORD})
    own, other = _questionnaire_of(session, county["a"]), _questionnaire_of(session, county["b"])
    assert client.get(f"/questionnaires/{own}/results").status_code == 200
    assert client.get(f"/questionnaires/{other}/results").status_code == 404
    assert client.get(f"/units/{county['b'].id}/self-evaluation.xlsx").status_code == 404
    assert client.get("/questionnaires/999999/results").status_code == 404
