"""Each reader on its own: rows of cells with places, merges, encodings and refusals."""

import datetime as dt

import openpyxl
import pytest

from survey_app.importer import TableReadError, read_rows
from survey_app.importer.readers import detect
from tests.conftest import SEED
from tests.fixtures.tables import make_tables as mt


def _texts(rows):
    return [[c.text for c in r.cells] for r in rows]


def test_detect_by_content_not_name():
    assert detect(mt.long_xlsx(1, 1), "a.txt") == "xlsx"
    assert detect(mt.stacked_docx(), "a.xlsx") == "docx"
    assert detect(mt.block_xls(), "a.xlsx") == "xls"
    assert detect(mt.table_pdf(), "a") == "pdf"
    assert detect(b"a\tb\n", "a.csv") == "text"


def test_seed_text_one_cell_per_line():
    rows = read_rows(SEED.read_bytes(), SEED.name)
    header = next(r for r in rows if [c.text for c in r.cells][:3] == ["一级指标", "二级指标", "三级指标"])
    assert header.location == "第 72 行" and header.cells[4].location == "第 76 行"


def test_gbk_tab_text_with_crlf_keeps_short_rows():
    rows = read_rows(mt.long_text_gbk(), "copied.txt")
    texts = _texts(rows)
    assert rows[0].paragraph and texts[0] == ["（2021年）某某乡项目支出绩效目标公开"]
    assert ["质量指标", "水质达标率", "≥98%"] in texts  # short row kept short (padded on the left later)
    assert rows[2].cells[1].location == "第 3 行第 2 列"
    assert not any("\r" in c for t in texts for c in t)


def test_csv_quoted_commas_and_empty_cells():
    rows = read_rows(mt.long_csv(), "long.csv")
    goal_row = next(r for r in rows if "村道养护1-1" in [c.text for c in r.cells])
    assert "养护村道30公里，确保畅通" in [c.text for c in goal_row.cells]
    assert all(len(r.cells) == 10 for r in rows if r.grid)


def test_csv_in_gb18030():
    rows = read_rows(mt.long_csv("gb18030"), "long.csv")
    assert any("村道养护1-1" in [c.text for c in r.cells] for r in rows)


def test_pipe_table_drops_rule_and_outer_pipes():
    texts = _texts(read_rows(mt.pipe_text(), "pipe.txt"))
    assert texts[2][0] == "项目名称" and texts[2][-1] == "指标值"
    assert not any(t and t[0].startswith("---") for t in texts)


def test_xlsx_streams_places_merges_and_dates():
    rows = read_rows(mt.stacked_xlsx(), "stacked.xlsx")
    assert rows[0].table == "工作表“目标表”"
    serial = next(r for r in rows if r.cells and r.cells[-1].text == "45473")
    assert serial.cells[-1].location == "工作表“目标表”D13 单元格"  # an unformatted serial stays a number here
    workbook = openpyxl.Workbook()
    workbook.active.append(["完成时间", dt.datetime(2024, 6, 30), 0.5, None, "x"])
    dated = read_rows(mt._xlsx(workbook), "d.xlsx")[0]
    assert [c.text for c in dated.cells] == ["完成时间", "2024年6月30日", "0.5", "", "x"]
    long_rows = read_rows(mt.long_xlsx(1, 1), "long.xlsx")
    title = long_rows[0]
    assert title.cells[0].text.startswith("某某县2024年度") and all(c.spanned for c in title.cells[1:])
    assert len(title.cells) == 10


def test_xls_reader_merges_and_places():
    rows = read_rows(mt.block_xls(), "old.xls")
    assert rows[0].table == "工作表“项目”"
    assert rows[0].cells[0].text == "2022年度项目支出绩效目标表" and rows[0].cells[1].spanned
    assert rows[5].cells[0].location == "工作表“项目”A6 单元格"


def test_docx_reader_tables_and_paragraphs_in_order():
    rows = read_rows(mt.stacked_docx(), "stacked.docx")
    assert rows[0].paragraph and "汇总" in rows[0].cells[0].text
    assert rows[1].table == "第 1 个表格"
    vmerged = next(r for r in rows if r.table == "第 3 个表格" and r.cells[1].text == "质量指标")
    assert vmerged.cells[0].text == "产出指标"  # vertical merge repeats the text above


def test_pdf_reader_lines_and_tables():
    rows = read_rows(mt.table_pdf(), "gk.pdf")
    texts = _texts(rows)
    assert ["2024年度项目支出绩效目标表"] in texts
    grid = [r for r in rows if r.grid]
    assert grid[0].table == "第 1 个表格" and [c.text for c in grid[2].cells] == ["一级指标", "二级指标", "三级指标", "指标值"]
    assert grid[0].cells[2].spanned


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (mt.scanned_pdf, "scan.pdf", "扫描件"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.doc", "另存为”.docx"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls", "旧版 Excel 文件（.xls）已损坏"),
    ],
)
def test_refusals_say_what_to_do(data, name, expected):
    with pytest.raises(TableReadError) as info:
        read_rows(data(), name)
    assert expected in str(info.value) and name in str(info.value)
