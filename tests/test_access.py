"""Every route against every role, generated from the URL map so no route is forgotten."""

import pytest
from sqlalchemy import select

from survey_app.models import Exclusion, Indicator, Link, Project, Questionnaire, Response, Unit, User, Village

#: respondent pages need no login (tested in test_collection.py)
PUBLIC = {"static", "auth.login", "index", "respond.open_link", "respond.submit_link", "respond.receipt"}
SAMPLE_METHOD_DATA = {"POST": {}}
#: POST routes that change only the caller's own account (like logging out): auditors may use them
OWN_ACCOUNT = {"auth.logout", "staff.change_password"}


def _sample_args(session) -> dict[str, int]:
    return {
        "project_id": session.scalar(select(Project.id)),
        "indicator_id": session.scalar(select(Indicator.id).where(Indicator.is_satisfaction)),
        "unit_id": session.scalar(select(Unit.id)),
        "village_id": session.scalar(select(Village.id)),
        "user_id": session.scalar(select(User.id).where(User.username == "staff")),
        "questionnaire_id": session.scalar(select(Questionnaire.id)),
        "link_id": session.scalar(select(Link.id).where(Link.card_no == 9)),
        "exclusion_id": session.scalar(select(Exclusion.id)),
        "response_id": session.scalar(select(Response.id)),
        "kind": "responses",
        "fmt": "csv",
        "preview_id": 1,
    }


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.fixture
def world(published, seeded, users):
    from tests.factories import add_responses

    q = published["村干部工资"]
    add_responses(seeded, q, [(q.indicator.project.unit.villages[0], 2, 0, 0)])
    from survey_app.services.exclusions import exclude

    exclude(seeded, seeded.scalar(select(Response)), "测试", actor="t")
    seeded.commit()
    return seeded


@pytest.mark.parametrize("role", [None, "admin", "staff", "auditor"])
def test_every_route_enforces_roles(app, client, auth, world, role):
    args = _sample_args(world)
    if role:
        assert auth.login(role).status_code == 302
    checked = 0
    for rule, method in _routes(app):
        view = app.view_functions[rule.endpoint]
        values = {}
        for name in rule.arguments:
            assert name in args, f"add a sample value for <{name}> used by {rule.rule}"
            values[name] = args[name]
        url = rule.build(values, append_unknown=False)[1]
        response = client.open(url, method=method, data={})
        if rule.endpoint == "auth.logout":
            assert response.status_code == 302
            if role:
                auth.login(role)
            continue
        allowed = getattr(view, "allowed_roles", None)
        assert allowed is not None, f"{rule.endpoint} has no role_required decorator"
        if role is None:
            assert response.status_code == 302 and "/auth/login" in response.location, rule.rule
        elif role in allowed:
            assert response.status_code not in (401, 403), (rule.rule, method, role)
        else:
            assert response.status_code == 403, (rule.rule, method, role, response.status_code)
        checked += 1
    assert checked >= 30


#: POST routes that only read what is sent (an uploaded bundle checked and forgotten): open to auditors
READ_ONLY_POSTS = {"auth.logout", "audit.verify_uploaded_bundle"}


def test_auditor_cannot_change_anything(app):
    """Every state-changing route excludes the auditor role."""
    for rule, method in _routes(app):
        if method == "POST" and rule.endpoint not in OWN_ACCOUNT and rule.endpoint not in READ_ONLY_POSTS:
            allowed = app.view_functions[rule.endpoint].allowed_roles
            assert "auditor" not in [r.value for r in allowed], rule.rule
