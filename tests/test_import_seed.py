"""Importing the seed township's target table."""

import json

from sqlalchemy import func, select

from survey_app.models import AuditEvent, Indicator, Project, Unit
from tests.conftest import SEED

EXPECTED_PROJECTS = [
    ("13043425P00442410076K", "村办公经费", 73.18),
    ("13043425P004424100750", "村干部工资", 411.56),
    ("13043425P00442410079E", "服务基层专项经费", 77.42),
    ("13043425P00442410080R", "自收自支人员补助", 101.08),
]


def _counts(session):
    return (
        session.scalar(select(func.count(Unit.id))),
        session.scalar(select(func.count(Project.id))),
        session.scalar(select(func.count(Indicator.id))),
    )


def test_seed_import_json_reports_unit_projects_and_indicators(cli, session):
    result = cli("import", str(SEED), "--year", "2024", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["status"] == "created"
    assert report["unit"] == {"code": "929001", "name": "魏县张二庄镇人民政府本级"}
    assert [(p["code"], p["name"], p["budget_wan"]) for p in report["projects"]] == EXPECTED_PROJECTS
    assert all(len(p["indicators"]) == 7 for p in report["projects"])
    assert sum(i["is_satisfaction"] for p in report["projects"] for i in p["indicators"]) == 4
    assert _counts(session) == (1, 4, 28)


def test_projects_json_schema_and_values(cli, seeded):
    result = cli("projects", "--json")
    assert result.exit_code == 0
    projects = json.loads(result.output)
    assert [(p["code"], p["name"], p["budget_wan"]) for p in projects] == EXPECTED_PROJECTS
    for p in projects:
        assert set(p) >= {"code", "name", "unit_code", "unit_name", "year", "budget_wan", "indicators"}
        assert p["unit_code"] == "929001" and p["year"] == 2024
        for i in p["indicators"]:
            assert set(i) >= {
                "level1", "level2", "name", "description", "target_raw", "target", "basis",
                "is_satisfaction", "respondent_group", "population",
            }
    office = projects[0]["indicators"]
    assert [(i["level1"], i["level2"], i["name"]) for i in office] == [
        ("产出指标", "数量指标", "发放村办公经费覆盖村数"),
        ("产出指标", "质量指标", "任务完成率"),
        ("产出指标", "时效指标", "村经费发放时间"),
        ("产出指标", "成本指标", "项目成本"),
        ("效益指标", "社会效益指标", "村办公经费正常发放，保障了村级组织正常运转"),
        ("效益指标", "可持续影响指标", "长期使用性"),
        ("满意度指标", "服务对象满意度指标", "群众满意度"),
    ]
    # the 社会效益 row is split by a stray blank line in the seed: its basis must still land
    assert office[4]["basis"] == "根据政府工作安排"
    assert office[4]["target"] == {"op": None, "value": None, "unit": None, "kind": "qualitative"}
    assert office[0]["target"] == {"op": "=", "value": 34.0, "unit": "个", "kind": "quantity"}
    assert office[2]["target"]["kind"] == "time"
    assert office[3]["target"] == {"op": "=", "value": 73.18, "unit": "万元", "kind": "quantity"}


def test_satisfaction_indicators_groups_and_populations(cli, seeded):
    projects = json.loads(cli("projects", "--json").output)
    satisfaction = [(p["name"], i) for p in projects for i in p["indicators"] if i["is_satisfaction"]]
    assert [(name, i["name"], i["target"], i["respondent_group"], i["population"], i["population_unit"])
            for name, i in satisfaction] == [
        ("村办公经费", "群众满意度", {"op": ">=", "value": 95.0, "unit": "%", "kind": "quantity"},
         "villagers", 34, "村"),
        ("村干部工资", "群众满意度", {"op": ">=", "value": 95.0, "unit": "%", "kind": "quantity"},
         "village_cadres", 197, "人"),
        ("服务基层专项经费", "镇干部满意度", {"op": ">=", "value": 95.0, "unit": "%", "kind": "quantity"},
         "township_cadres", None, None),
        ("自收自支人员补助", "镇干部满意度", {"op": ">=", "value": 95.0, "unit": "%", "kind": "quantity"},
         "township_cadres", 31, "人"),
    ]
    # project 2 is named 群众满意度 but described as 村干部因工资发放满意度: follow the description, flag it
    flagged = [i for _, i in satisfaction if i["group_conflict"]]
    assert len(flagged) == 1 and "村干部" in flagged[0]["group_conflict"]
    assert "村干部工资发放人数" in satisfaction[1][1]["population_source"]


def test_project_header_fields(seeded):
    project = seeded.scalar(select(Project).where(Project.code == "13043425P004424100750"))
    assert str(project.budget_wan) == "411.56" and str(project.fiscal_wan) == "411.56"
    assert project.other_wan is None
    assert project.fund_use.startswith("村干部工资411.56万元")
    assert '"' not in project.fund_use
    assert project.goal.startswith("1.村干部工资411.56万元")
    assert project.spending_plan == [
        {"label": "3月底", "percent": 25.0},
        {"label": "6月底", "percent": 50.0},
        {"label": "10月底", "percent": 75.0},
        {"label": "12月底", "percent": 100.0},
    ]


def test_reimport_is_idempotent_and_says_so(cli, seeded):
    events_before = seeded.scalar(select(func.count(AuditEvent.id)))
    result = cli("import", str(SEED), "--year", "2024", "--json")
    report = json.loads(result.output)
    assert report["status"] == "unchanged" and report["changes"] == [] and report["created"] == []
    assert "没有任何改动" in report["summary"]
    assert _counts(seeded) == (1, 4, 28)
    assert seeded.scalar(select(func.count(AuditEvent.id))) == events_before


def test_changed_table_reports_what_changed(cli, seeded, tmp_path):
    changed = SEED.read_text(encoding="utf-8").replace("411.56", "420.00").replace("197人", "198人", 1)
    path = tmp_path / "changed.txt"
    path.write_text(changed, encoding="utf-8")
    report = json.loads(cli("import", str(path), "--year", "2024", "--json").output)
    assert report["status"] == "updated"
    text = "\n".join(report["changes"])
    assert "预算数：411.56 → 420.00" in text
    assert "指标值：197人 → 198人" in text
    assert "调查对象总数：197 → 198" in text
    seeded.expire_all()
    project = seeded.scalar(select(Project).where(Project.code == "13043425P004424100750"))
    assert str(project.budget_wan) == "420.00"
    assert _counts(seeded) == (1, 4, 28)


def test_staff_population_survives_reimport(cli, seeded):
    indicator = seeded.scalar(select(Indicator).where(Indicator.name == "镇干部满意度").order_by(Indicator.id))
    indicator.population, indicator.population_unit, indicator.population_source = 40, "人", "staff"
    seeded.commit()
    report = json.loads(cli("import", str(SEED), "--year", "2024", "--json").output)
    assert report["status"] == "unchanged"
    seeded.refresh(indicator)
    assert indicator.population == 40


def test_dry_run_writes_nothing(cli, session):
    result = cli("import", str(SEED), "--dry-run", "--json")
    assert json.loads(result.output)["dry_run"] is True
    assert _counts(session) == (0, 0, 0)


def test_demo_command_loads_seed_and_prints_password(cli, session):
    result = cli("demo")
    assert result.exit_code == 0
    assert "用户名：demo" in result.output and "密码：" in result.output
    assert _counts(session) == (1, 4, 28)
    again = cli("demo")
    password = [line for line in result.output.splitlines() if "密码：" in line][0]
    assert password not in again.output  # a fresh password each time
    assert _counts(session) == (1, 4, 28)


def test_reimport_cannot_delete_an_indicator_with_a_questionnaire(cli, published, tmp_path, session):
    text = SEED.read_text(encoding="utf-8")
    start = text.index("\t满意度指标\n\t服务对象满意度指标\n\t群众满意度\n\t通过抽查问卷")
    end = text.index("\t通过问卷调查\n", start) + len("\t通过问卷调查\n")
    path = tmp_path / "without-satisfaction.txt"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    result = cli("import", str(path), "--year", "2024")
    assert result.exit_code == 1 and "已有问卷，重新导入时不能删除" in result.output
    assert _counts(session) == (1, 4, 28)
