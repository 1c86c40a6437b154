"""Staff pages: login, project view, upload with preview, villages, users, errors."""

import io
import re

from sqlalchemy import func, select

from survey_app.models import AuditEvent, Indicator, Project, User, Village
from tests.conftest import SEED


def test_login_wrong_password_and_inactive(client, auth, users, session):
    response = auth.login("staff", "wrong password")
    assert response.status_code == 200 and "用户名或密码不正确" in response.get_data(as_text=True)
    users["staff"].active = False
    session.commit()
    response = auth.login("staff")
    assert "该账号已停用" in response.get_data(as_text=True)


def test_login_redirect_is_local_only(client, users):
    response = client.post(
        "/auth/login?next=https://evil.example/x", data={"username": "staff", "password": "correct horse battery"}
    )
    assert response.status_code == 302 and response.location == "/projects"


def test_project_list_and_page_show_seed(client, auth, seeded):
    auth.login("staff")
    html = client.get("/projects").get_data(as_text=True)
    for name in ("村办公经费", "村干部工资", "服务基层专项经费", "自收自支人员补助", "411.56", "663.24"):
        assert name in html
    project = seeded.scalar(select(Project).where(Project.name == "村干部工资"))
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert page.count('class="satisfaction"') == 1
    assert "村干部因工资发放满意度" in page and "≥95%" in page
    assert "197 人" in page and "村干部工资发放人数" in page
    assert "请确认" in page  # the name/description conflict is shown to staff


def test_staff_confirms_group_and_population(client, auth, seeded):
    auth.login("staff")
    indicator = seeded.scalar(select(Indicator).where(Indicator.name == "镇干部满意度").order_by(Indicator.id))
    prefix = f"i{indicator.id}-"
    response = client.post(
        f"/indicators/{indicator.id}",
        data={prefix + "respondent_group": "township_cadres", prefix + "population": "42",
              prefix + "population_unit": "人"},
    )
    assert response.status_code == 302
    seeded.expire_all()
    indicator = seeded.get(Indicator, indicator.id)
    assert indicator.population == 42 and indicator.population_source == "staff" and indicator.group_confirmed
    event = seeded.scalar(select(AuditEvent).where(AuditEvent.action == "update_indicator"))
    assert event.actor == "staff" and event.details["after"]["population"] == 42


def test_upload_preview_then_confirm(client, auth, session):
    auth.login("staff")
    response = client.post(
        "/import", data={"file": (io.BytesIO(SEED.read_bytes()), "seed.txt"), "year": "2024"},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "新增项目 4 个" in html and "确认导入" in html
    assert session.scalar(select(func.count(Project.id))) == 0  # preview writes nothing
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', html).group(1)
    response = client.post(
        "/import/confirm", data={"digest": digest, "filename": "seed.txt", "year": "2024", "unit_code": "",
                                 "unit_name": ""}
    )
    assert response.status_code == 302
    assert session.scalar(select(func.count(Project.id))) == 4
    assert "新增项目 4 个" in client.get("/projects").get_data(as_text=True)
    # the same file again: the preview says nothing changes and offers no import button
    again = client.post(
        "/import", data={"file": (io.BytesIO(SEED.read_bytes()), "seed.txt"), "year": "2024"},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "没有任何改动" in again and "确认导入" not in again


def test_upload_error_names_place_and_writes_nothing(client, auth, session):
    auth.login("staff")
    bad = SEED.read_text(encoding="utf-8").replace("≥95%", "≥**%", 1).encode()
    response = client.post(
        "/import", data={"file": (io.BytesIO(bad), "坏表.txt")}, content_type="multipart/form-data"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "坏表.txt：第 126 行" in html and "没有写入任何内容" in html
    assert session.scalar(select(func.count(Project.id))) == 0


def test_confirm_with_forged_digest_is_rejected(client, auth, session):
    auth.login("staff")
    response = client.post("/import/confirm", data={"digest": "../../etc/passwd", "filename": "x.txt"})
    assert response.status_code == 400
    response = client.post("/import/confirm", data={"digest": "0" * 64, "filename": "x.txt"})
    assert response.status_code == 302 and session.scalar(select(func.count(Project.id))) == 0


def test_villages_add_edit_and_list_import(client, auth, seeded):
    auth.login("staff")
    unit_id = seeded.scalar(select(Project.unit_id))
    response = client.post(f"/units/{unit_id}/villages/new", data={"name": "东村", "population": "1200", "cadres": "5"})
    assert response.status_code == 302
    village = seeded.scalar(select(Village).where(Village.name == "东村"))
    assert (village.code, village.population, village.cadres) == ("001", 1200, 5)
    client.post(f"/villages/{village.id}/edit", data={"name": "东村", "population": "1300", "cadres": "6"})
    seeded.expire_all()
    assert seeded.get(Village, village.id).population == 1300
    response = client.post(f"/units/{unit_id}/villages/import", data={"text": "村名,村民人数,村干部人数\n西村,800,4\n东村,1250,6\n"})
    assert response.status_code == 302
    seeded.expire_all()
    assert seeded.scalar(select(func.count(Village.id))) == 2
    assert seeded.scalar(select(Village.population).where(Village.name == "东村")) == 1250
    # one bad line: nothing from the list is stored
    refused = client.post(f"/units/{unit_id}/villages/import", data={"text": "南村,900\n北村,很多\n"})
    seeded.expire_all()
    assert seeded.scalar(select(func.count(Village.id))) == 2
    assert "第 2 行：村民人数“很多”不是整数" in refused.get_data(as_text=True)
    page = client.get(f"/villages?unit={unit_id}").get_data(as_text=True)
    assert "2050" in page  # population total


def test_duplicate_village_name_rejected(client, auth, seeded):
    auth.login("staff")
    unit_id = seeded.scalar(select(Project.unit_id))
    client.post(f"/units/{unit_id}/villages/new", data={"name": "东村"})
    response = client.post(f"/units/{unit_id}/villages/new", data={"name": "东村"})
    assert "村名“东村”已存在" in response.get_data(as_text=True)


def test_admin_manages_users(client, auth, session):
    auth.login("admin")
    response = client.post("/users", data={"username": "wang", "role": "auditor", "password": "12345678"})
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.username == "wang"))
    assert user.role == "auditor" and user.check_password("12345678")
    assert "密码至少需要 8 个字符" in client.post(
        "/users", data={"username": "li", "role": "staff", "password": "short"}
    ).get_data(as_text=True)
    client.post(f"/users/{user.id}", data={f"u{user.id}-role": "staff", f"u{user.id}-password": ""})
    session.expire_all()
    user = session.get(User, user.id)
    assert user.role == "staff" and not user.active
    me = session.scalar(select(User).where(User.username == "admin"))
    response = client.post(f"/users/{me.id}", data={f"u{me.id}-role": "staff", f"u{me.id}-active": "y"})
    session.expire_all()
    assert session.get(User, me.id).role == "admin"


def test_error_pages_are_chinese(client, auth, users):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)
    auth.login("auditor")
    response = client.get("/import")
    assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)


def test_csrf_enforced_when_enabled(app, client, users):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/auth/login", data={"username": "staff", "password": "correct horse battery"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login", data={"username": "staff", "password": "correct horse battery", "csrf_token": token}
    )
    assert response.status_code == 302


def test_security_headers(client):
    response = client.get("/auth/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # same origin only: Flask-WTF's CSRF check needs the Referer behind HTTPS (respondent pages: no-referrer)
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_create_user_command(cli, session):
    result = cli("create-user", "zhang", "--role", "auditor", "--password-stdin", input="a long password\n")
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "zhang"))
    assert user.role == "auditor" and user.check_password("a long password")
    result = cli("create-user", "zhang", "--password-stdin", input="another password\n")
    assert result.exit_code == 1 and "已存在" in result.output
