"""The command line in a county deployment: `units`, and `--unit CODE` on every command that reads or
writes a unit's data (another unit's questionnaire or project is refused; a project code of two units
is never guessed)."""

import json

import pytest
from sqlalchemy import func, select

from survey_app.models import Indicator, Measurement, Project, Questionnaire


def _questionnaire_of(session, unit) -> int:
    return session.scalar(select(Questionnaire.id).join(Indicator).join(Project)
                          .where(Project.unit_id == unit.id).order_by(Questionnaire.id).limit(1))


def _project_code(session, unit) -> str:
    return session.scalar(select(Project.code).join(Indicator).join(Questionnaire, Questionnaire.indicator_id == Indicator.id)
                          .where(Project.unit_id == unit.id).order_by(Project.id).limit(1))


@pytest.fixture
def run(runner):
    """Invoke a command; returns (exit code, stdout, stderr)."""
    from survey_app.cli import main

    def invoke(*args: str):
        result = runner.invoke(main, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_units_lists_every_unit_with_counts_and_accounts(run, county, session):
    code, out, _ = run("units", "--json")
    assert code == 0
    rows = {row["code"]: row for row in json.loads(out)}
    assert set(rows) == {"929001", "929002"}
    for unit in county.values():
        row = rows[unit.code]
        assert row["name"] == unit.name
        assert row["projects"] == session.scalar(select(func.count(Project.id)).where(Project.unit_id == unit.id))
        assert row["satisfaction_indicators"] >= row["questionnaires_published"] > 0
        assert row["responses"] == 0
    assert rows["929001"]["accounts"] == ["auditor_a", "auditor_all", "staff_a"]
    assert rows["929002"]["accounts"] == ["auditor_all", "auditor_b", "staff_b"]
    code, text, _ = run("units")
    assert code == 0 and "929002 魏县李三庄镇人民政府本级" in text and "staff_b" in text


def test_another_units_questionnaire_is_refused(run, county, session, tmp_path):
    other = _questionnaire_of(session, county["a"])
    target = tmp_path / "out.csv"
    for args in (["links", "--questionnaire", str(other)],
                 ["export", "--questionnaire", str(other), "--format", "csv", str(target)]):
        code, out, err = run(*args, "--unit", "929002")
        assert code == 1 and out == ""
        assert (f"问卷 {other} 属于单位 929001 魏县张二庄镇人民政府本级，"
                "不属于 --unit 指定的单位 929002 魏县李三庄镇人民政府本级") in err
    assert not target.exists()
    code, out, _ = run("links", "--questionnaire", str(other), "--unit", "929001", "--json")
    assert code == 0 and json.loads(out)


def test_unknown_unit_code_is_a_clear_error(run, county):
    code, _, err = run("projects", "--unit", "999999")
    assert code == 1 and "没有编码为“999999”的单位" in err and "929001" in err


def test_projects_by_unit_and_hidden_alias(run, county):
    _, out, _ = run("projects", "--unit", "929002", "--json")
    assert {p["unit_code"] for p in json.loads(out)} == {"929002"}
    _, alias, _ = run("projects", "--unit-code", "929002", "--json")
    assert alias == out
    _, helptext, _ = run("projects", "--help")
    assert "--unit CODE" in helptext and "--unit-code" not in helptext


def test_a_project_code_of_two_units_is_never_guessed(run, county, session):
    code_a = _project_code(session, county["a"])
    assert code_a == _project_code(session, county["b"])  # the county fixture repeats the seed's codes
    for command in ("results", "writeback"):
        code, out, err = run(command, "--project", code_a)
        assert code == 1 and out == ""
        assert f"项目编码 {code_a} 在 2 个单位中都有：929001 魏县张二庄镇人民政府本级、929002 魏县李三庄镇人民政府本级" in err
        assert "--unit" in err
    assert session.scalar(select(func.count(Measurement.id))) == 0


def test_results_and_writeback_with_unit(run, county, session):
    b = county["b"]
    code_b = _project_code(session, b)
    code, out, _ = run("results", "--project", code_b, "--unit", "929002", "--json")
    assert code == 0
    rows = json.loads(out)
    own = set(session.scalars(select(Questionnaire.id).join(Indicator).join(Project).where(Project.unit_id == b.id)))
    assert rows and {r["questionnaire_id"] for r in rows} <= own
    _, everything, _ = run("results", "--unit", "929002", "--json")
    assert {r["questionnaire_id"] for r in json.loads(everything)} == own
    # no answers yet: nothing to write back, but the project was found in the right unit
    code, _, err = run("writeback", "--project", code_b, "--unit", "929002")
    assert code == 1 and "没有可写回的结果" in err


def test_project_missing_from_the_named_unit(run, county, session):
    code, _, err = run("results", "--project", "NO-SUCH", "--unit", "929001")
    assert code == 1 and "单位 929001 魏县张二庄镇人民政府本级 没有项目编码为 NO-SUCH 的项目" in err


def test_import_with_unit_refuses_a_file_of_another_unit(run, county, session, tmp_path):
    from tests.conftest import SEED

    path = tmp_path / "张二庄镇.txt"
    path.write_bytes(SEED.read_bytes())  # names unit 929001
    before = session.scalar(select(func.count(Project.id)))
    code, _, err = run("import", str(path), "--unit", "929002", "--year", "2025")
    assert code == 1 and "929001" in err and "没有导入任何内容" in err
    session.expire_all()
    assert session.scalar(select(func.count(Project.id))) == before


def test_verify_with_unit_reports_that_units_chains(run, county, session):
    from sqlalchemy import text

    from survey_app.models import Response
    from tests.factories import add_responses

    for unit in county.values():
        add_responses(session, session.get(Questionnaire, _questionnaire_of(session, unit)), [(None, 3, 1, 0)])
    code, out, _ = run("verify", "--unit", "929002", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["unit"] == {"code": "929002", "name": "魏县李三庄镇人民政府本级"}
    code, text_out, _ = run("verify", "--unit", "929002")
    assert code == 0 and text_out.startswith("单位 929002 魏县李三庄镇人民政府本级") and "真实答卷 4 条" in text_out
    # a row of unit A changed behind the app's back: B's report counts it, and the check still fails
    victim = session.scalar(select(Response.id).where(Response.questionnaire_id == _questionnaire_of(session, county["a"]))
                            .limit(1))
    session.execute(text("UPDATE responses SET satisfaction = '非常不满意' WHERE id = :id"), {"id": victim})
    session.commit()
    code, out, _ = run("verify", "--unit", "929002", "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"] and report["problems"] == [] and report["problems_in_other_units"] >= 1
    code, out, _ = run("verify", "--unit", "929001", "--json")
    assert code == 1 and json.loads(out)["problems"]


def test_bundle_with_unit_holds_only_that_unit_and_verifies_offline(run, county, session, tmp_path):
    import zipfile

    from analysis.verify import verify_bundle
    from tests.conftest import OTHER_UNIT_MARK
    from tests.factories import add_responses

    for unit in county.values():
        add_responses(session, session.get(Questionnaire, _questionnaire_of(session, unit)), [(None, 3, 1, 0)])
    target = tmp_path / "a.zip"
    code, out, _ = run("bundle", str(target), "--unit", "929001")
    assert code == 0 and target.exists()
    report = verify_bundle(str(target))
    assert report.ok, (report.problems, report.differences)
    assert report.units == ["929001"] and report.withheld_chains >= 1
    with zipfile.ZipFile(target) as archive:
        assert OTHER_UNIT_MARK not in archive.read("cards.csv").decode("utf-8")
