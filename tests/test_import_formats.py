""".docx and .xlsx tables in layouts other than the seed, and malformed input."""

import io
import json

import docx
import openpyxl
import pytest
from sqlalchemy import func, select

from survey_app.importer import TableReadError, read_table
from survey_app.models import Indicator, Project, Unit
from survey_app.services.importing import import_file
from tests.conftest import SEED
from tests.fixtures.tables.make_tables import _vmerge

# -- builders ---------------------------------------------------------------------


def build_docx() -> bytes:
    """A 马踏镇-style table: unit in a paragraph, reordered columns, merged cells,
    satisfaction filed under 效益指标, extra 备注 column, a cell with a line break."""
    document = docx.Document()
    document.add_paragraph("2023年度项目支出绩效目标表")
    document.add_paragraph("单位名称：820001-井研县马踏镇人民政府")
    header = document.add_table(rows=3, cols=4)
    header.cell(0, 0).text = "项目名称"
    merged = header.cell(0, 1).merge(header.cell(0, 3))
    merged.text = "乡村道路养护"
    header.cell(1, 0).text = "项目编码"
    header.cell(1, 1).merge(header.cell(1, 3)).text = "511124230000000001"
    header.cell(2, 0).text = "年度资金总额"
    header.cell(2, 1).text = "1,250.5"
    header.cell(2, 2).text = "其他资金"
    header.cell(2, 3).text = "0"
    rows = [
        ("三级指标", "一级指标", "二级指标", "指标值", "绩效指标描述", "指标值确定依据", "备注"),
        ("养护道路里程", "产出指标", "数量指标", "≥35公里", "全年养护村道里程", "年度计划", ""),
        ("养护合格率", "", "质量指标", "不低于98%", "", "行业标准", ""),
        ("完成时间", "", "时效指标", "12月底前", "", "", ""),
        ("群众出行条件", "效益指标", "社会效益指标", "明显改善", "", "", ""),
        ("沿线群众满意度", "", "社会公众或服务对象满意度指标", "95%以上",
         "通过问卷调查沿线\n村民的满意度", "问卷调查", "抽样"),
    ]
    grid = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            grid.cell(r, c).text = value
    # 一级指标 merged vertically over rows 1-3 and 4-5 (Word leaves the continuation cells empty)
    _vmerge(grid.cell(1, 1), "restart")
    _vmerge(grid.cell(2, 1), "continue")
    _vmerge(grid.cell(3, 1), "continue")
    _vmerge(grid.cell(4, 1), "restart")
    _vmerge(grid.cell(5, 1), "continue")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build_xlsx() -> bytes:
    """Two sheets, one project each; split comparator/value/unit columns; 分值; merged 一级指标."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "项目1"
    second = workbook.create_sheet("项目2")
    for sheet, (code, name, budget, sat_name, sat_desc, people) in zip(
        (first, second),
        [
            ("P2024001", "农村饮水安全维护", 56.2, "受益群众满意度", "受益农户对供水的满意程度", None),
            ("P2024002", "村干部培训", 8, "参训村干部满意度", "参加培训的村干部满意度", 120),
        ],
        strict=True,
    ):
        sheet.append(["绩效目标申报表（2024年度）"])
        sheet.append(["预算单位", "430602-岳阳楼区某某街道办事处"])
        sheet.append(["项目名称", name, "项目编码", code])
        sheet.append(["预算金额", budget, "其中：财政拨款", budget])
        sheet.append([])
        sheet.append(["一级指标", "二级指标", "三级指标", "指标性质", "指标值", "度量单位", "分值", "指标值确定依据"])
        rows = [
            ("产出指标", "数量指标", "覆盖人数", "=", people or 3500, "人", 20, "花名册"),
            (None, "质量指标", "水质达标率", "≥", 95, "%", 15, "检测报告"),
            ("效益指标", "社会效益指标", sat_name, "≥", 90, "%", 10, "问卷"),
            (None, "可持续影响指标", "长效机制", None, "建立", None, 5, ""),
        ]
        start = sheet.max_row + 1
        for row in rows:
            sheet.append(list(row))
        sheet.merge_cells(start_row=start, start_column=1, end_row=start + 1, end_column=1)
        sheet.cell(start + 2, 3).value = sat_name
        sheet.append(["说明", sat_desc])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _counts(session):
    return tuple(session.scalar(select(func.count(m.id))) for m in (Unit, Project, Indicator))


# -- docx -----------------------------------------------------------------------------


def test_docx_with_merged_cells_and_other_column_order(session):
    plan = import_file(session, build_docx(), "马踏镇.docx", actor="t")
    session.commit()
    assert plan.table.unit_code == "820001" and plan.table.unit_name == "井研县马踏镇人民政府"
    assert plan.year == 2023
    project = session.scalar(select(Project))
    assert (project.code, project.name, str(project.budget_wan)) == ("511124230000000001", "乡村道路养护", "1250.50")
    rows = [(i.level1, i.level2, i.name, i.target_raw) for i in project.indicators]
    assert rows == [
        ("产出指标", "数量指标", "养护道路里程", "≥35公里"),
        ("产出指标", "质量指标", "养护合格率", "不低于98%"),
        ("产出指标", "时效指标", "完成时间", "12月底前"),
        ("效益指标", "社会效益指标", "群众出行条件", "明显改善"),
        ("效益指标", "社会公众或服务对象满意度指标", "沿线群众满意度", "95%以上"),
    ]
    sat = project.indicators[-1]
    assert sat.is_satisfaction and sat.respondent_group == "villagers"
    assert (sat.target_op, sat.target_value, sat.target_unit) == (">=", 95.0, "%")
    assert sat.description == "通过问卷调查沿线村民的满意度"  # line break inside the cell joined
    assert project.indicators[1].target_op == ">=" and project.indicators[1].target_value == 98.0


# -- xlsx ------------------------------------------------------------------------------


def test_xlsx_split_target_columns_two_sheets(session):
    plan = import_file(session, build_xlsx(), "岳阳楼区.xlsx", actor="t")
    session.commit()
    assert plan.year == 2024
    assert (plan.table.unit_code, plan.table.unit_name) == ("430602", "岳阳楼区某某街道办事处")
    projects = session.scalars(select(Project).order_by(Project.code)).all()
    assert [(p.code, p.name, float(p.budget_wan)) for p in projects] == [
        ("P2024001", "农村饮水安全维护", 56.2),
        ("P2024002", "村干部培训", 8.0),
    ]
    water = projects[0].indicators
    assert [(i.level1, i.level2, i.name) for i in water] == [
        ("产出指标", "数量指标", "覆盖人数"),
        ("产出指标", "质量指标", "水质达标率"),
        ("效益指标", "社会效益指标", "受益群众满意度"),
        ("效益指标", "可持续影响指标", "长效机制"),
    ]
    assert [i.points for i in water] == [20, 15, 10, 5]
    sat = water[2]
    assert sat.is_satisfaction and sat.target_raw == "≥90%"
    assert (sat.target_op, sat.target_value, sat.target_unit) == (">=", 90.0, "%")
    assert sat.respondent_group == "villagers"
    training_sat = projects[1].indicators[2]
    assert training_sat.respondent_group == "village_cadres"
    assert (training_sat.population, training_sat.population_unit) == (120, "人")
    assert water[3].target_kind == "qualitative"


def test_xlsx_reimport_unchanged(session):
    import_file(session, build_xlsx(), "a.xlsx", actor="t")
    session.commit()
    again = import_file(session, build_xlsx(), "a.xlsx", actor="t")
    assert again.status == "unchanged"


# -- malformed input ----------------------------------------------------------------------


def _broken_docx() -> bytes:
    return build_docx()[:2000]


def _no_indicator_rows() -> bytes:
    text = SEED.read_text(encoding="utf-8")
    return text[: text.index("\t一级指标")].encode("utf-8")


def _bad_satisfaction_target() -> bytes:
    return SEED.read_text(encoding="utf-8").replace("≥95%", "≥**%", 1).encode("utf-8")


def _bad_budget() -> bytes:
    return SEED.read_text(encoding="utf-8").replace("\t73.18\n", "\t七十三万\n", 1).encode("utf-8")


def _docx_without_grid() -> bytes:
    document = docx.Document()
    document.add_paragraph("这不是绩效目标表。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.txt", lambda: b"", "文件是空的"),
        ("blank.docx", lambda: b"   \n\n", "文件是空的"),
        ("picture.docx", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "不是有效的 .docx"),
        ("broken.pdf", lambda: b"%PDF-1.7\n...", "PDF 文件已损坏"),
        ("old.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "旧版"),
        ("broken.docx", _broken_docx, "损坏"),
        ("nogrid.docx", _docx_without_grid, "没有找到绩效目标表"),
        ("header-only.txt", _no_indicator_rows, "没有绩效指标行"),
        ("seed-bad-target.txt", _bad_satisfaction_target, "第 126 行"),
        ("seed-bad-budget.txt", _bad_budget, "第 46 行"),
    ],
)
def test_malformed_input_rejected_with_location_and_nothing_written(session, name, data, expected):
    with pytest.raises(TableReadError) as info:
        import_file(session, data(), name, actor="t")
    message = str(info.value)
    assert name in message and expected in message
    session.rollback()
    assert _counts(session) == (0, 0, 0)


def test_bad_target_message_names_indicator(seed_bytes):
    bad = seed_bytes.decode().replace("≥95%", "≥**%", 1).encode()
    with pytest.raises(TableReadError) as info:
        read_table(bad, "x.txt")
    assert "群众满意度" in str(info.value) and "占位符" in str(info.value)


def test_failed_import_leaves_previous_data_untouched(cli, seeded, tmp_path):
    before = _counts(seeded)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(_bad_budget())
    result = cli("import", str(bad), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["location"] == "第 46 行" and "预算数" in report["reason"]
    assert _counts(seeded) == before


def test_cli_reports_error_without_traceback(cli, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    result = cli("import", str(path))
    assert result.exit_code == 1
    assert "错误：empty.txt：文件是空的" in result.output
    assert "Traceback" not in result.output
