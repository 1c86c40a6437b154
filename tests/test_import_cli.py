"""`survey-app import` options: --map, --sheet, --table, --fix, saved mappings, candidates when it cannot decide."""

import json

import openpyxl

from tests.fixtures.tables import make_tables as mt
from tests.fixtures.tables.needs_mapping import needs_mapping_xlsx


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_map_and_fix_options(cli, tmp_path, session):
    path = _write(tmp_path, "m.xlsx", needs_mapping_xlsx())
    plain = json.loads(cli("import", path, "--dry-run", "--json").output)
    sat = plain["projects"][0]["indicators"][1]
    assert sat["target_raw"] == "≥95" and sat["target"]["unit"] is None
    result = cli("import", path, "--dry-run", "--json", "--map", "计值符号=unit", "--fix", "工作表“目标”D5 单元格=30个")
    report = json.loads(result.output)
    first, sat = report["projects"][0]["indicators"]
    assert (sat["target"]["op"], sat["target"]["value"], sat["target"]["unit"]) == (">=", 95.0, "%")
    assert first["target"]["value"] == 30.0


def test_bad_map_lists_roles(cli, tmp_path):
    result = cli("import", _write(tmp_path, "m.xlsx", needs_mapping_xlsx()), "--map", "计值符号=单位")
    assert result.exit_code == 1 and "unit（度量单位）" in result.output and "op（比较符" in result.output


def test_sheet_option_and_candidates_when_sheet_missing(cli, tmp_path):
    workbook = openpyxl.load_workbook(__import__("io").BytesIO(mt.no_levels_xlsx()))
    workbook.create_sheet("说明").append(["这里是填表说明"])
    import io

    out = io.BytesIO()
    workbook.save(out)
    path = _write(tmp_path, "two.xlsx", out.getvalue())
    result = cli("import", path, "--dry-run", "--sheet", "不存在")
    assert result.exit_code == 1 and "没有工作表“不存在”" in result.output
    assert "工作表“Sheet1”" in result.output and "工作表“说明”" in result.output and "--sheet" in result.output
    ok = cli("import", path, "--dry-run", "--sheet", "Sheet1")
    assert ok.exit_code == 0 and "1 个项目" in ok.output


def test_table_option_picks_a_word_table(cli, tmp_path):
    path = _write(tmp_path, "stacked.docx", mt.stacked_docx())
    everything = cli("import", path, "--dry-run")
    assert "2 个项目" in everything.output
    only_second = cli("import", path, "--dry-run", "--table", "4", "--table", "5")
    assert only_second.exit_code == 0 and "1 个项目" in only_second.output and "路灯维护" in only_second.output


def test_cannot_decide_lists_candidate_tables(cli, tmp_path):
    import docx

    document = docx.Document()
    for _ in range(2):
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "名称", "数值"
    out = __import__("io").BytesIO()
    document.save(out)
    result = cli("import", _write(tmp_path, "x.docx", out.getvalue()))
    assert result.exit_code == 1 and "没有找到绩效目标表" in result.output
    assert "1. 第 1 个表格" in result.output and "2. 第 2 个表格" in result.output


def test_saved_mapping_reused(cli, tmp_path, session):
    path = _write(tmp_path, "m.xlsx", needs_mapping_xlsx())
    cli("import", path, "--map", "计值符号=unit", "--save-map")
    again = json.loads(cli("import", path, "--dry-run", "--json", "--unit-code", "929006", "--use-saved-map").output)
    assert again["projects"][0]["indicators"][1]["target"]["unit"] == "%"
