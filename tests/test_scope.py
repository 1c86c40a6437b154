"""A county deployment: accounts see and change only their own units."""

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from survey_app.models import Indicator, Project, Questionnaire, Response, Unit
from tests.conftest import OTHER_UNIT_MARK, PASSWORD, other_unit_table


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


# -- the auditor's evidence bundle -----------------------------------------------------------------


@pytest.fixture
def answered(county, session):
    """Answers in both townships; the head published (so both units' chains are in it)."""
    from survey_app.services.exclusions import exclude
    from survey_app.services.integrity import publish_head
    from tests.factories import add_responses

    for unit in county.values():
        questionnaire = session.get(Questionnaire, _questionnaire_of(session, unit))
        add_responses(session, questionnaire, [(unit.villages[0], 3, 1, 1)])
        exclude(session, session.scalar(select(Response).where(Response.questionnaire_id == questionnaire.id)
                                        .limit(1)), "重复", actor="t")
    publish_head(session, actor="t")
    session.commit()
    return county


def _download_bundle(client, username, tmp_path):
    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    response = client.get("/audit/bundle.zip")
    assert response.status_code == 200
    path = tmp_path / f"{username}.zip"
    path.write_bytes(response.data)
    return path


def _published_root(session):
    from survey_app.models import PublishedHead

    return session.scalar(select(PublishedHead.root).order_by(PublishedHead.id.desc()).limit(1))


def test_a_scoped_bundle_holds_only_its_units_and_still_verifies_offline(client, session, answered, tmp_path, capsys):
    from analysis.cli import main
    from analysis.verify import verify_bundle

    path = _download_bundle(client, "auditor_a", tmp_path)
    report = verify_bundle(str(path), head=_published_root(session))
    assert report.ok, (report.problems, report.differences)
    assert report.units == ["929001"] and report.withheld_chains >= 1 and report.withheld_events >= 1
    assert report.checked_figures == 4  # unit a's four satisfaction indicators, not b's
    with zipfile.ZipFile(path) as archive:
        text = "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert OTHER_UNIT_MARK not in text and "929002" not in text.replace('"withheld_chains"', "")
    other = session.scalars(select(Response.receipt).join(Questionnaire).join(Indicator).join(Project)
                            .where(Project.unit_id == answered["b"].id)).all()
    assert other and not [r for r in other if r in text]
    assert manifest["scope"] == {"all_units": False, "units": ["929001"]}
    # the command-line verifier passes too, and says what it could not check
    assert main(["verify", str(path), "--head", _published_root(session)]) == 0
    assert "其他单位" in capsys.readouterr().out


def test_a_county_bundle_holds_every_unit_and_withholds_nothing(client, session, answered, tmp_path):
    from analysis.verify import verify_bundle

    path = _download_bundle(client, "auditor_all", tmp_path)
    report = verify_bundle(str(path), head=_published_root(session))
    assert report.ok and report.withheld_chains == 0 and report.withheld_events == 0
    assert report.checked_figures == 8
    assert OTHER_UNIT_MARK in zipfile.ZipFile(path).read("cards.csv").decode("utf-8")


@pytest.mark.parametrize("tamper", ["withheld_own_event", "mark_county_bundle", "hide_own_chain", "other_chain_head"])
def test_a_scoped_bundle_cannot_hide_what_it_is_about(client, session, answered, tmp_path, tamper):
    """Withholding is no hiding place: an event of the bundle's own unit withheld breaks the exclusion
    check, a county bundle may withhold nothing, a chain of the bundle's own questionnaires may not be
    called another unit's, and another unit's chain position must still give the published root."""
    from analysis.verify import verify_bundle
    from tests.test_integrity import _edit_csv, _rewrite

    scoped = tamper != "mark_county_bundle"
    path = _download_bundle(client, "auditor_a" if scoped else "auditor_all", tmp_path)
    own_chain = next(k for k in json.loads(zipfile.ZipFile(path).read("manifest.json"))["head"]["chains"]
                     if k.startswith(f"q{_questionnaire_of(session, answered['a'])}:"))

    def change(name, content):
        if name == "audit_log.csv" and tamper in ("withheld_own_event", "mark_county_bundle"):
            def hide(rows):
                target = next(r for r in rows if r["action"] == "exclude_response")
                return [{k: (v if k in ("id", "chain_seq", "prev_hash", "row_hash") else "") for k, v in r.items()}
                        | {"withheld": "1"} if r is target else r for r in rows]
            return _edit_csv(content, hide)
        if name == "manifest.json" and tamper in ("hide_own_chain", "other_chain_head"):
            manifest = json.loads(content)
            if tamper == "hide_own_chain":
                manifest["withheld_chains"].append(own_chain)
            else:
                key = manifest["withheld_chains"][0]
                manifest["head"]["chains"][key][0] += 1
            return json.dumps(manifest, ensure_ascii=False).encode()
        if name == "responses.csv" and tamper == "hide_own_chain":
            return _edit_csv(content, lambda rows: [r for r in rows if r["chain_key"] != own_chain])
        return content

    report = verify_bundle(_rewrite(path.read_bytes(), tmp_path, f"{tamper}.zip", change))
    assert not report.ok


# -- importing ---------------------------------------------------------------------------------------------


def _import(client, data: bytes, filename: str):
    response = client.post("/import", data={"file": (io.BytesIO(data), filename)},
                           content_type="multipart/form-data")
    return response


def _confirm(client, session, filename: str):
    from survey_app.models import ImportPreview

    preview = session.scalar(select(ImportPreview).order_by(ImportPreview.id.desc()).limit(1))
    return client.post("/import/confirm", data={"digest": preview.sha256, "filename": filename,
                                                "preview": preview.id})


def test_staff_importing_a_new_unit_is_granted_it(client, session, users):
    from survey_app.models import AuditEvent, User
    from survey_app.services.accounts import create_user

    create_user(session, "newcomer", PASSWORD, "staff", actor="test")
    session.commit()
    client.post("/auth/login", data={"username": "newcomer", "password": PASSWORD})
    assert _import(client, other_unit_table(), "李三庄镇.txt").status_code == 200
    assert _confirm(client, session, "李三庄镇.txt").status_code == 302
    session.expire_all()
    unit = session.scalar(select(Unit).where(Unit.code == "929002"))
    assert unit is not None and [u.code for u in session.scalar(select(User).where(User.username == "newcomer")).units] \
        == ["929002"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "grant_unit"))
    assert event.object_id == str(unit.id) and event.details["username"] == "newcomer"
    assert "李三庄" in client.get("/projects").get_data(as_text=True)


def test_staff_cannot_import_into_a_unit_they_may_not_see(client, session, county, seed_bytes):
    from survey_app.models import Project

    before = session.scalar(select(func.count(Project.id)))
    changed = seed_bytes.decode("utf-8").replace("73.18", "99.99").encode("utf-8")
    client.post("/auth/login", data={"username": "staff_b", "password": PASSWORD})
    preview = _import(client, changed, "张二庄镇.txt")
    assert preview.status_code == 422
    page = preview.get_data(as_text=True)
    assert "魏县张二庄镇人民政府本级（929001）" in page and "不在您的账号可管理的单位中" in page
    confirm = _confirm(client, session, "张二庄镇.txt")
    assert confirm.status_code == 302
    session.expire_all()
    assert session.scalar(select(func.count(Project.id))) == before
    assert "99.99" not in str([p.budget_wan for p in session.scalars(select(Project))])


def test_an_import_preview_is_seen_only_by_its_uploader(client, session, county, seed_bytes):
    from survey_app.models import ImportPreview

    client.post("/auth/login", data={"username": "staff_a", "password": PASSWORD})
    assert _import(client, seed_bytes, "张二庄镇.txt").status_code == 200
    preview = session.scalar(select(ImportPreview).order_by(ImportPreview.id.desc()).limit(1))
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "staff_b", "password": PASSWORD})
    page = client.get(f"/import/preview/{preview.id}", follow_redirects=True).get_data(as_text=True)
    assert "预览的文件已失效" in page and "张二庄镇" not in page.replace("张二庄镇.txt", "")
    refused = client.post("/import/confirm", data={"digest": preview.sha256, "filename": "x.txt",
                                                   "preview": preview.id}, follow_redirects=True)
    assert "预览的文件已失效" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(ImportPreview, preview.id) is not None  # not confirmed by someone else


# -- admin: accounts and units ------------------------------------------------------------------------------


def test_admin_creates_and_edits_an_accounts_units(client, auth, session, county):
    from survey_app.models import User

    auth.login("admin")
    a, b = county["a"], county["b"]
    page = client.get("/users").get_data(as_text=True)
    assert "可查看和管理的单位" in page and "李三庄镇人民政府本级（929002）" in page and "全部单位" in page
    created = client.post("/users", data={"username": "wang", "password": "a long password 1", "role": "staff",
                                          "units": [str(b.id)]}, follow_redirects=True)
    assert "可见：魏县李三庄镇人民政府本级" in created.get_data(as_text=True)
    wang = session.scalar(select(User).where(User.username == "wang"))
    assert [u.code for u in wang.units] == ["929002"] and not wang.all_units
    prefix = f"u{wang.id}-"
    client.post(f"/users/{wang.id}", data={prefix + "role": "staff", prefix + "active": "y",
                                           prefix + "units": [str(a.id), str(b.id)]})
    session.expire_all()
    assert sorted(u.code for u in session.get(User, wang.id).units) == ["929001", "929002"]
    client.post(f"/users/{wang.id}", data={prefix + "role": "auditor", prefix + "active": "y",
                                           prefix + "all_units": "y"})
    session.expire_all()
    assert session.get(User, wang.id).sees_every_unit
    # a unit id that does not exist is refused whole
    refused = client.post(f"/users/{wang.id}", data={prefix + "role": "staff", prefix + "active": "y",
                                                     prefix + "units": ["999999"]}, follow_redirects=True)
    assert "所选的单位有的不存在" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, wang.id).all_units
    units_page = client.get("/units").get_data(as_text=True)
    assert "929002" in units_page and "staff_b" in units_page and "李三庄镇" in units_page


def test_the_units_page_is_for_admins(client, auth, county):
    client.post("/auth/login", data={"username": "staff_a", "password": PASSWORD})
    assert client.get("/units").status_code == 403


def test_the_village_picker_offers_only_visible_units(client, county):
    client.post("/auth/login", data={"username": "staff_a", "password": PASSWORD})
    page = client.get("/villages").get_data(as_text=True)
    assert "张二庄镇" in page and "李三庄镇" not in page
    assert client.get(f"/villages?unit={county['b'].id}").status_code == 404


def test_a_questionnaire_and_a_village_of_two_units_in_one_url_are_not_found(client, session, county):
    from survey_app.services.accounts import create_user

    create_user(session, "both", PASSWORD, "staff", actor="t", units=[county["a"], county["b"]])
    session.commit()
    client.post("/auth/login", data={"username": "both", "password": PASSWORD})
    q = _questionnaire_of(session, county["a"])
    own, other = county["a"].villages[0].id, county["b"].villages[0].id
    assert client.get(f"/questionnaires/{q}/sampling/villages/{own}").status_code == 200
    assert client.get(f"/questionnaires/{q}/sampling/villages/{other}").status_code == 404


def test_audit_log_and_export_of_a_scoped_auditor(client, session, answered):
    client.post("/auth/login", data={"username": "auditor_a", "password": PASSWORD})
    log = client.get("/audit/log?per_page=200").get_data(as_text=True)
    assert "排除答卷" in log and OTHER_UNIT_MARK not in log and "创建账号" not in log
    other_q = _questionnaire_of(session, answered["b"])
    assert client.get(f"/audit/export/responses.csv?questionnaire={other_q}").status_code == 404
    own = client.get(f"/audit/export/responses.csv?questionnaire={_questionnaire_of(session, answered['a'])}")
    assert own.status_code == 200 and len(own.get_data(as_text=True).splitlines()) == 6


def test_the_live_check_shows_a_scoped_auditor_other_units_findings_as_a_count(client, session, answered):
    from sqlalchemy import update

    other_q = _questionnaire_of(session, answered["b"])
    target = session.scalar(select(Response).where(Response.questionnaire_id == other_q).limit(1))
    session.execute(update(Response).where(Response.id == target.id).values(satisfaction="非常满意", comment="改"))
    session.commit()
    client.post("/auth/login", data={"username": "auditor_a", "password": PASSWORD})
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "其他单位的记录中发现 1 个问题" in page and target.receipt not in page and "核验通过" not in page
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "auditor_all", "password": PASSWORD})
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "核验发现 1 个问题" in page and target.receipt in page and "其他单位的记录中" not in page
