"""Every route against every role and every unit, generated from the URL map so no route is forgotten.

Roles: each route's ``role_required`` decides who may use it (401/403 otherwise). Units: a county
deployment holds several townships (the ``county`` fixture); every URL argument that names a row
must be resolved to its unit by ``services.scope.UNIT_OF`` (or be listed in ``NOT_UNIT_ROWS`` with
the reason it needs no unit check), a row of a unit the account may not see answers 404, and no
list page or export shows a scoped account another unit's names or answers.
"""

import io
import zipfile

import pytest
from sqlalchemy import select

from survey_app.models import Exclusion, Indicator, Link, LinkKind, Project, Questionnaire, Response, Unit, User, Village
from survey_app.services.scope import NOT_UNIT_ROWS, UNIT_OF
from tests.conftest import OTHER_UNIT_MARK

#: respondent pages need no login (tested in test_collection.py)
PUBLIC = {"static", "auth.login", "index", "respond.open_link", "respond.submit_link", "respond.receipt"}
#: POST routes that change only the caller's own account (like logging out): auditors may use them
OWN_ACCOUNT = {"auth.logout", "staff.change_password"}
#: URL arguments that are not rows, with the values a request uses
PLAIN_ARGS = {"kind": "responses", "fmt": "csv", "preview_id": 1}
#: per route, a value of a plain argument the route accepts (others answer 404 for an unknown format)
ROUTE_ARGS = {"staff.link_qr": {"fmt": "png"}}
#: every kind × format of the routes that take them (the list check opens each)
ALL_PLAIN = {"kind": ("responses", "cards", "exclusions", "audit_log", "versions"), "fmt": ("csv", "xlsx")}


def _rows_of(session, unit: Unit) -> dict[str, int]:
    """One row of ``unit`` for every URL argument naming a row (plus the plain arguments)."""
    questionnaires = select(Questionnaire.id).join(Indicator).join(Project).where(Project.unit_id == unit.id)
    questionnaire_id = session.scalar(questionnaires.join(Response, Response.questionnaire_id == Questionnaire.id)
                                      .limit(1))
    response_id = session.scalar(select(Response.id).where(Response.questionnaire_id == questionnaire_id).limit(1))
    return {
        "unit_id": unit.id,
        "project_id": session.scalar(select(Project.id).where(Project.unit_id == unit.id).limit(1)),
        "indicator_id": session.scalar(select(Indicator.id).join(Project).where(
            Project.unit_id == unit.id, Indicator.is_satisfaction).limit(1)),
        "village_id": session.scalar(select(Village.id).where(Village.unit_id == unit.id).limit(1)),
        "questionnaire_id": questionnaire_id,
        "link_id": session.scalar(select(Link.id).where(Link.questionnaire_id == questionnaire_id,
                                                        Link.kind == LinkKind.CARD).limit(1)),
        "response_id": response_id,
        "exclusion_id": session.scalar(select(Exclusion.id).join(Response).where(
            Response.questionnaire_id == questionnaire_id).limit(1)),
        "user_id": session.scalar(select(User.id).where(User.username == "staff")),
        **PLAIN_ARGS,
    }


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, args) -> str:
    values = {name: ROUTE_ARGS.get(rule.endpoint, {}).get(name, args[name]) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _names_rows(rule) -> bool:
    return any(name in UNIT_OF for name in rule.arguments)


@pytest.fixture
def world(county, users, session):
    """The county with answers in both townships and one exclusion in each (committed)."""
    from survey_app.services.exclusions import exclude
    from tests.factories import add_responses

    for unit in county.values():
        questionnaire = session.scalar(select(Questionnaire).join(Indicator).join(Project).where(
            Project.unit_id == unit.id, Project.name.contains("村干部工资")))
        add_responses(session, questionnaire, [(unit.villages[0], 2, 1, 0)])
        exclude(session, session.scalar(select(Response).where(Response.questionnaire_id == questionnaire.id)
                                        .limit(1)), "测试", actor="t")
    session.commit()
    return {name: _rows_of(session, unit) for name, unit in county.items()}


def test_every_url_argument_is_scoped(app):
    """A new route whose URL names a row must say which unit the row belongs to (or why none)."""
    for rule in app.url_map.iter_rules():
        for name in rule.arguments:
            assert name in UNIT_OF or name in NOT_UNIT_ROWS, (
                f"<{name}> in {rule.rule}: add it to services.scope.UNIT_OF (the row's unit) or NOT_UNIT_ROWS")


@pytest.mark.parametrize("role", [None, "admin", "staff", "auditor"])
def test_every_route_enforces_roles(app, client, auth, world, role):
    args = world["a"]
    if role:
        assert auth.login(role).status_code == 302
    checked = 0
    for rule, method in _routes(app):
        view = app.view_functions[rule.endpoint]
        response = client.open(_url(rule, args), method=method, data={})
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


@pytest.mark.parametrize("username", ["staff_a", "auditor_a", "auditor_all"])
def test_an_account_uses_the_rows_of_its_units(app, client, auth, world, username):
    """(a) staff and auditor of the row's unit, (c) an auditor of every unit: allowed wherever the role is."""
    auth.login(username)
    checked = 0
    for rule, method in _routes(app):
        if not _names_rows(rule) or rule.endpoint == "auth.logout":
            continue
        allowed = [r.value for r in app.view_functions[rule.endpoint].allowed_roles]
        if username.split("_")[0] not in allowed:
            continue
        response = client.open(_url(rule, world["a"]), method=method, data={})
        assert response.status_code not in (401, 403, 404), (rule.rule, method, username, response.status_code)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("username", ["staff_b", "auditor_b"])
def test_a_row_of_another_unit_is_not_found(app, client, auth, world, username):
    """(b) an account of another township: every route naming a row of unit a answers 404, every method."""
    auth.login(username)
    checked = 0
    for rule, method in _routes(app):
        if not _names_rows(rule):
            continue
        response = client.open(_url(rule, world["a"]), method=method, data={})
        assert response.status_code == 404, (rule.rule, method, username, response.status_code)
        checked += 1
    assert checked >= 40


def _text(response) -> str:
    """A page, a CSV or every member of a ZIP/XLSX/DOCX as one text."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"\n".join(archive.read(name) for name in archive.namelist())
    return data.decode("utf-8", errors="replace")


def _plain_urls(rule):
    """The URLs of a route without row arguments: every kind × format it takes."""
    if not rule.arguments:
        yield rule.build({}, append_unknown=False)[1]
        return
    if rule.endpoint == "audit.export":
        for kind in ALL_PLAIN["kind"]:
            for fmt in ALL_PLAIN["fmt"]:
                yield rule.build({"kind": kind, "fmt": fmt}, append_unknown=False)[1]


@pytest.mark.parametrize("username", ["staff_a", "auditor_a"])
def test_lists_and_exports_show_only_the_accounts_units(app, client, auth, world, session, username):
    """Every GET route without a row argument (lists, overviews, exports, the audit bundle): no name of
    the other township and none of its receipts for an account of the first."""
    other_receipts = session.scalars(select(Response.receipt).join(Questionnaire).join(Indicator).join(Project)
                                     .where(Project.unit_id == world["b"]["unit_id"])).all()
    assert other_receipts
    auth.login(username)
    opened = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in PUBLIC or rule.endpoint == "auth.logout" or _names_rows(rule):
            continue
        for url in _plain_urls(rule):
            response = client.get(url)
            if response.status_code in (302, 403):
                continue
            text = _text(response)
            assert OTHER_UNIT_MARK not in text, (url, username)
            leaked = [r for r in other_receipts if r in text]
            assert not leaked, (url, username, leaked)
            opened += 1
    assert opened >= 12
    # the same lists do show the account's own unit
    assert "张二庄镇" in client.get("/villages").get_data(as_text=True) or "演示村01" in client.get("/villages").get_data(
        as_text=True)


def test_an_auditor_of_every_unit_sees_both_townships(client, auth, world):
    auth.login("auditor_all")
    text = client.get("/projects?per_page=100").get_data(as_text=True)
    assert OTHER_UNIT_MARK in text and "张二庄镇" in text


#: POST routes that only read what is sent (an uploaded bundle checked and forgotten): open to auditors
READ_ONLY_POSTS = {"auth.logout", "audit.verify_uploaded_bundle"}


def test_auditor_cannot_change_anything(app):
    """Every state-changing route excludes the auditor role."""
    for rule, method in _routes(app):
        if method == "POST" and rule.endpoint not in OWN_ACCOUNT and rule.endpoint not in READ_ONLY_POSTS:
            allowed = app.view_functions[rule.endpoint].allowed_roles
            assert "auditor" not in [r.value for r in allowed], rule.rule
