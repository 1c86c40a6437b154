"""Exports of the self-evaluation table: .xlsx (one sheet per project) and .docx (宋体, A4)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from survey_app.services.cellsafe import clean_text, safe_cell
from survey_app.services.selfeval import EvalTable

TITLE = "项目支出绩效自评表（{year}年度）"
HEAD = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
FONT = "宋体"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _wan(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _number(value: Decimal | float | None) -> float | None:
    """A number cell (None leaves the cell empty)."""
    return None if value is None else float(value)


def _fill_sheet(ws, table: EvalTable) -> None:  # type: ignore[no-untyped-def]
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    left = Alignment(wrap_text=True, vertical="center", horizontal="left")
    project = table.project
    ws.merge_cells("A1:H1")
    ws["A1"] = safe_cell(TITLE.format(year=table.year))
    ws["A1"].font = Font(name=FONT, size=16, bold=True)
    ws["A1"].alignment = wrap
    rows: list[list[Any]] = [
        ["项目名称", project.name, None, None, "项目编码", project.code, None, None],
        ["主管部门", table.supervisor or None, None, None, "实施单位", project.unit.name, None, None],
        ["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分", None],
        ["年度资金总额", _number(table.initial_budget), _number(table.full_year_budget), _number(table.executed),
         _number(table.budget_points), _number(table.execution_rate), _number(table.budget_score), None],
        ["年度总体目标", project.goal, None, None, "实际完成情况", table.outcome, None, None],
        HEAD,
    ]
    start = 2
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(start + offset, col, safe_cell(value))
    for col in (2, 3, 4):  # budget figures are numbers, shown with two decimals
        ws.cell(5, col).number_format = "0.00"
    ws.cell(5, 6).number_format = "0.00%"
    ws.cell(5, 7).number_format = "0.00"
    for r in (2, 3, 6):
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=4)
        ws.merge_cells(start_row=r, start_column=6, end_row=r, end_column=8)
    ws.merge_cells(start_row=4, start_column=7, end_row=4, end_column=8)
    ws.merge_cells(start_row=5, start_column=7, end_row=5, end_column=8)
    first = start + len(rows)
    for n, row in enumerate(table.rows):
        r = first + n
        values = [row.level1, row.level2, row.name + (row.note or ""), row.target, row.actual, row.points,
                  row.score if row.score is not None else "待评分", row.deviation]
        for col, value in enumerate(values, start=1):
            ws.cell(r, col, safe_cell(value))
    for column, top, bottom in _level_runs(table):
        ws.merge_cells(start_row=first + top, start_column=column + 1, end_row=first + bottom, end_column=column + 1)
    total_row = first + len(table.rows)
    ws.cell(total_row, 1, "总分")
    ws.merge_cells(start_row=total_row, start_column=1, end_row=total_row, end_column=5)
    ws.cell(total_row, 6, table.total_points)
    ws.cell(total_row, 7, table.total if table.total is not None else "待评分")
    last = total_row
    for note in table.footnotes:
        last += 1
        ws.cell(last, 1, safe_cell(note))
        ws.merge_cells(start_row=last, start_column=1, end_row=last, end_column=8)
        ws.cell(last, 1).alignment = left
    for row_cells in ws.iter_rows(min_row=2, max_row=total_row, max_col=8):
        for cell in row_cells:
            cell.border = border
            cell.alignment = wrap
            cell.font = Font(name=FONT, size=10, bold=cell.row in (4, 7) or cell.row == total_row)
    for note_row in range(total_row + 1, last + 1):
        ws.cell(note_row, 1).font = Font(name=FONT, size=9)
    for col, width in enumerate((12, 16, 26, 14, 14, 8, 8, 34), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "7:7"


def _level_runs(table: EvalTable) -> list[tuple[int, int, int]]:
    """(column, first row, last row) of each run of equal level-1 / level-2 cells, to merge.

    Row numbers count from 0 within the indicator rows; level 2 runs never cross a level 1 change.
    """
    runs = []
    for column, keys in ((0, [r.level1 for r in table.rows]), (1, [r.level1 + "|" + r.level2 for r in table.rows])):
        start = 0
        for i in range(1, len(keys) + 1):
            if i == len(keys) or keys[i] != keys[start]:
                if i - start > 1:
                    runs.append((column, start, i - 1))
                start = i
    return runs


def export_xlsx(tables: list[EvalTable]) -> bytes:
    """One sheet per project (a whole-unit workbook when several are given)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for table in tables:
        name = "".join(ch for ch in clean_text(table.project.name) if ch not in "[]:*?/\\'")[:28] or "项目"
        base, n = name, 2
        while name in used:
            name, n = f"{base}{n}", n + 1
        used.add(name)
        _fill_sheet(workbook.create_sheet(name), table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_docx(table: EvalTable) -> bytes:
    """The self-evaluation table of one project as a Word document (A4, 宋体)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height, section.orientation = Mm(210), Mm(297), WD_ORIENT.PORTRAIT
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    title = document.add_paragraph(clean_text(TITLE.format(year=table.year)))
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.runs[0].font.size = Pt(16)
    title.runs[0].bold = True
    project = table.project
    n_rows = 6 + len(table.rows) + 1
    grid = document.add_table(rows=n_rows, cols=8)
    grid.style = "Table Grid"

    def put(r: int, c: int, text: Any, c2: int | None = None) -> None:
        cell = grid.cell(r, c)
        if c2 is not None and c2 != c:
            cell = cell.merge(grid.cell(r, c2))
        # Word runs no formulas: only the characters its XML cannot hold are removed
        cell.text = "" if text is None else clean_text(str(text))

    put(0, 0, "项目名称"), put(0, 1, project.name, 3), put(0, 4, "项目编码"), put(0, 5, project.code, 7)
    put(1, 0, "主管部门"), put(1, 1, table.supervisor, 3), put(1, 4, "实施单位"), put(1, 5, project.unit.name, 7)
    for c, text in enumerate(["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率"]):
        put(2, c, text)
    put(2, 6, "得分", 7)
    put(3, 0, "年度资金总额"), put(3, 1, _wan(table.initial_budget)), put(3, 2, _wan(table.full_year_budget))
    put(3, 3, _wan(table.executed)), put(3, 4, _fmt(table.budget_points))
    put(3, 5, "" if table.execution_rate is None else f"{table.execution_rate * 100:.2f}%")
    put(3, 6, _fmt(table.budget_score), 7)
    put(4, 0, "年度总体目标"), put(4, 1, project.goal, 3), put(4, 4, "实际完成情况"), put(4, 5, table.outcome, 7)
    for c, text in enumerate(HEAD):
        put(5, c, text)
    for n, row in enumerate(table.rows):
        r = 6 + n
        values = [row.level1, row.level2, row.name + (row.note or ""), row.target, row.actual, _fmt(row.points),
                  _fmt(row.score) if row.score is not None else "待评分", row.deviation]
        for c, value in enumerate(values):
            put(r, c, value)
    for column, top, bottom in _level_runs(table):
        text = grid.cell(6 + top, column).text
        grid.cell(6 + top, column).merge(grid.cell(6 + bottom, column)).text = text
    last = n_rows - 1
    put(last, 0, "总分", 4)
    put(last, 5, _fmt(table.total_points))
    put(last, 6, _fmt(table.total) if table.total is not None else "待评分", 7)
    for note in table.footnotes:
        p = document.add_paragraph(clean_text(note))
        p.runs[0].font.size = Pt(9)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
