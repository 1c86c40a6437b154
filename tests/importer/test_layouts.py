"""Each layout family, in the formats it really comes in: projects, budgets (万元), years, indicators,
satisfaction targets and groups, and what must not become a project."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from survey_app.importer import TableReadError, read_table
from survey_app.models import Indicator, Project, Unit
from survey_app.services.importing import import_file
from tests.fixtures.tables import make_tables as mt


def _sat(project):
    return [(i.name, i.target.op, i.target.value, i.target.unit, i.respondent_group.value)
            for i in project.indicators if i.is_satisfaction]


# -- long format ---------------------------------------------------------------------------


def test_long_xlsx_many_units_merged_project_cells_subtotals_skipped():
    table = read_table(mt.long_xlsx(units=3, projects=2), "county.xlsx")
    assert table.layout == "长表" and table.year == 2024
    assert table.units == [("820001", "某某东镇人民政府"), ("821002", "某某西镇人民政府"), ("822003", "某某南镇人民政府")]
    assert [p.name for p in table.projects] == [f"村道养护{u}-{p}" for u in (1, 2, 3) for p in (1, 2)]
    assert not any(p.name in ("小计", "合计") or "部门" in p.name for p in table.projects)
    first, second = table.projects[:2]
    assert first.budget_wan == Decimal("150.00") and second.budget_wan == Decimal("81.00")  # "150万" and 81
    assert first.code_generated and first.code.startswith("AUTO-") and first.code != second.code
    assert [len(p.indicators) for p in table.projects] == [4] * 6
    assert first.indicators[0].target_raw == "大于等于30公里" and first.indicators[0].target.op == ">="
    assert first.indicators[2].target.kind == "qualitative" and first.indicators[2].target_raw == "明显改善"
    assert _sat(first) == [("沿线群众满意度", ">=", 90.0, "%", "villagers")]
    assert first.places["name"] == "工作表“项目支出绩效目标”B5 单元格"
    assert first.indicators[3].target_location == "工作表“项目支出绩效目标”I8 单元格"


def test_long_format_many_units_imports_every_unit(session):
    plan = import_file(session, mt.long_xlsx(units=3, projects=2), "county.xlsx", actor="t")
    session.commit()
    assert plan.summary().startswith("新增单位 3 个；新增项目 6 个")
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    assert [(u.code, len(u.projects)) for u in units] == [("820001", 2), ("821002", 2), ("822003", 2)]
    assert session.scalar(select(func.count(Indicator.id))) == 24
    again = import_file(session, mt.long_xlsx(units=3, projects=2), "county.xlsx", actor="t")
    assert again.status == "unchanged"


def test_long_csv_and_copied_gbk_text():
    csv_table = read_table(mt.long_csv(), "long.csv")
    assert csv_table.year == 2023 and len(csv_table.projects) == 2
    assert csv_table.projects[0].goal == "养护村道30公里，确保畅通"
    assert [i.level1 for i in csv_table.projects[0].indicators] == ["产出指标", "产出指标", "效益指标", "满意度指标"]
    text = read_table(mt.long_text_gbk(), "网页复制.txt")
    assert text.year == 2021 and text.units == [("015001", "某某乡人民政府")]
    water, env = text.projects
    assert (water.name, water.budget_wan, len(water.indicators)) == ("农村饮水维护", Decimal("56.20"), 3)
    assert [i.level2 for i in water.indicators] == ["数量指标", "质量指标", "服务对象满意度指标"]
    assert _sat(water) == [("受益群众满意度", ">=", 90.0, "%", "villagers")]
    assert _sat(env) == [("村民满意度", ">=", 95.0, "%", "villagers")]


def test_pipe_text_repeated_project_rows_one_project():
    table = read_table(mt.pipe_text(), "pipe.txt")
    (project,) = table.projects
    assert (project.code, project.budget_wan, len(project.indicators)) == ("433001240001", Decimal("1234.50"), 2)
    assert table.units == [("433001", "某某街道办事处")]


# -- stacked tables --------------------------------------------------------------------------


def test_stacked_xlsx_rollup_skipped_amounts_in_yuan_date_serial():
    table = read_table(mt.stacked_xlsx(), "stacked.xlsx")
    assert [(p.name, p.budget_wan) for p in table.projects] == [("道路维修", Decimal("50.00")), ("学校修缮", Decimal("30.00"))]
    assert table.units == [("813", "某某镇人民政府")]
    timing = table.projects[0].indicators[1]
    assert timing.target_raw == "2024年6月30日" and timing.target.kind == "time"
    assert _sat(table.projects[1]) == [("学生家长满意度", ">=", 90.0, "%", "other")]


def test_stacked_docx_rollup_skipped_empty_code_fund_label_not_fund_use():
    table = read_table(mt.stacked_docx(), "stacked.docx")
    assert [p.name for p in table.projects] == ["垃圾清运", "路灯维护"]
    first = table.projects[0]
    assert (first.budget_wan, first.fiscal_wan) == (Decimal("30.00"), Decimal("30.00"))
    assert first.fund_use == ""  # 项目资金（万元） 其中：财政拨款 is not a fund use
    assert [i.level1 for i in first.indicators] == ["产出指标", "产出指标", "满意度指标"]


# -- grids without levels, annual vs long-term ---------------------------------------------------


def test_grid_without_level_columns_comparator_by_contents():
    (project,) = read_table(mt.no_levels_xlsx(), "no_levels.xlsx").projects
    assert [(i.level1, i.name, i.target.op, i.target.value, i.target.unit) for i in project.indicators] == [
        ("", "补贴发放面积", ">=", 12000.0, "亩"),
        ("", "发放准确率", "=", 100.0, "%"),
        ("", "受益农户满意度", ">=", 95.0, "%"),
    ]
    assert [i.points for i in project.indicators] == [30, 30, 40]
    assert project.budget_wan == Decimal("88.50")


def test_same_header_means_direction_in_another_province():
    (project,) = read_table(mt.direction_docx(), "direction.docx").projects
    ops = [(i.name, i.target.op, i.target.value, i.target.unit) for i in project.indicators]
    assert ops == [("服务老人数", ">=", 200.0, "人"), ("人均成本", "<=", 2000.0, "元"), ("老人满意度", ">=", 90.0, "%")]


def test_annual_taken_beside_longterm_under_two_row_header():
    table = read_table(mt.annual_longterm_docx(), "annual.docx")
    (project,) = table.projects
    assert [i.target_raw for i in project.indicators] == ["10个", "明显", "≥90%"]
    assert project.goal == "五年内全面改善人居环境"


def test_longterm_grid_skipped_annual_grid_taken():
    table = read_table(mt.longterm_then_annual_xlsx(), "two_grids.xlsx")
    (project,) = table.projects
    assert [i.target_raw for i in project.indicators] == ["10公里", "≥88%"]
    assert any("中长期" in w for w in table.warnings)


# -- whole department, self-evaluation, xls, pdf ---------------------------------------------------


def test_whole_department_table_unit_is_subject_budget_optional():
    table = read_table(mt.department_docx(), "department.docx")
    (project,) = table.projects
    assert table.layout == "部门整体表" and project.budget_wan is None
    assert project.name == "某某镇人民政府部门整体支出" and project.unit_code == "929004"
    assert _sat(project) == [("镇干部满意度", ">=", 90.0, "%", "township_cadres"), ("群众满意度", ">=", 85.0, "%", "villagers")]


def test_self_evaluation_target_not_actual_footer_not_project():
    table = read_table(mt.self_evaluation_xlsx(), "自评表.xlsx")
    (project,) = table.projects
    assert table.year == 2023 and project.budget_wan == Decimal("100.00") and project.fiscal_wan == Decimal("100.00")
    assert project.goal == "建成示范点2个"
    assert [i.target_raw for i in project.indicators] == ["2个", "≥50人", "≥90%"]
    assert project.unit_code == "433003"


def test_old_excel_xls_block():
    table = read_table(mt.block_xls(), "old.xls")
    (project,) = table.projects
    assert table.year == 2022 and table.units == [("515001", "某某县教育局")]
    assert [(i.level1, i.level2) for i in project.indicators][:2] == [("产出指标", "数量指标"), ("产出指标", "质量指标")]
    assert project.budget_wan == Decimal("45.50")


def test_text_pdf_with_lines():
    table = read_table(mt.table_pdf(), "公开.pdf")
    (project,) = table.projects
    assert table.year == 2024 and table.units == [("929005", "某某镇人民政府")]
    assert (project.name, project.budget_wan) == ("便民服务中心运行", Decimal("35.00"))
    assert _sat(project) == [("办事群众满意度", ">=", 95.0, "%", "villagers")]


# -- failing layouts name the family and the place ---------------------------------------------------


def test_long_row_without_project_names_the_place():
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["单位名称", "项目名称", "三级指标", "指标值"])
    sheet.append(["929001某某镇人民政府", "", "覆盖村数", "3个"])
    with pytest.raises(TableReadError) as info:
        read_table(mt._xlsx(workbook), "bad.xlsx")
    assert "长表" in str(info.value) and "工作表“Sheet”第 2 行" in str(info.value)


def test_grid_without_project_names_the_families():
    with pytest.raises(TableReadError) as info:
        read_table("一级指标\t二级指标\t三级指标\t指标值\n产出指标\t数量指标\t村数\t3个\n".encode(), "g.txt")
    assert "第 1 行" in str(info.value) and "长表" in str(info.value) and "部门整体支出表" in str(info.value)


def test_amount_forms():
    from survey_app.importer.cells import NotANumber, amount_wan

    assert amount_wan("150万") == (Decimal("150.00"), False)
    assert amount_wan("1,234.5") == (Decimal("1234.50"), False)
    assert amount_wan("486000", "元") == (Decimal("48.60"), True)
    assert amount_wan("486000元") == (Decimal("48.60"), True)
    with pytest.raises(NotANumber):
        amount_wan("七十三万")


def test_project_saved_in_database_keeps_budget_and_generated_code(session):
    import_file(session, mt.stacked_xlsx(), "stacked.xlsx", actor="t")
    session.commit()
    stored = session.scalars(select(Project).order_by(Project.id)).all()
    assert [(p.name, p.year, str(p.budget_wan)) for p in stored] == [("道路维修", 2023, "50.00"), ("学校修缮", 2023, "30.00")]


def test_whole_department_table_imports_without_budget(session):
    import_file(session, mt.department_docx(), "department.docx", actor="t")
    session.commit()
    project = session.scalar(select(Project))
    assert project.budget_wan is None and project.unit.code == "929004" and len(project.indicators) == 3


def test_direction_written_in_value_and_template_rows_with_scoring_text():
    text = "\n".join([
        "2024年度项目支出绩效目标表",
        "单位名称：929007某某镇人民政府",
        "项目名称\t文化活动",
        "预算数\t12",
        "一级指标\t二级指标\t三级指标\t指标值\t评(扣)分标准",
        "产出指标\t数量指标\t举办场次\t正向6场\t少一场扣1分",
        "\t经济效益指标\t\t\t未填写不得分",
        "\t社会效益指标\t群众文化生活满意度\t正向90%\t",
        "\t成本指标\t人均成本\t反向 50元\t",
    ]).encode()
    (project,) = read_table(text, "文化.txt").projects
    assert [(i.name, i.target.op, i.target.value, i.target.unit) for i in project.indicators] == [
        ("举办场次", ">=", 6.0, "场"), ("群众文化生活满意度", ">=", 90.0, "%"), ("人均成本", "<=", 50.0, "元"),
    ]
    assert project.indicators[1].is_satisfaction and project.indicators[1].level2 == "社会效益指标"
