"""A county deployment: accounts see and change only their own units."""

from sqlalchemy import select

from survey_app.models import Questionnaire
from tests.conftest import PASSWORD


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
