"""Old Excel .xls (Excel 97-2003, WPS) through xlrd, merged cells included."""

from __future__ import annotations

from survey_app.importer import limits
from survey_app.importer.model import Cell, Row, TableReadError
from survey_app.importer.readers.xlsx import cell_text, column_letter
from survey_app.importer.readers.zipcheck import check_cell_budget, too_many_columns, too_many_rows


def read(data: bytes, source: str) -> list[Row]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as exc:
        raise TableReadError(
            f"旧版 Excel 文件（.xls）已损坏或不是 Excel 文件，无法打开（{type(exc).__name__}）；"
            "可以用 Excel 或 WPS 另存为 .xlsx 后再导入",
            source=source,
        ) from exc
    rows: list[Row] = []
    budget = 0
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            table = f"工作表“{sheet.name}”"
            if sheet.nrows > limits.MAX_ROWS:
                raise too_many_rows(source, table)
            if sheet.ncols > limits.MAX_COLUMNS:
                raise too_many_columns(source, table, sheet.ncols)
            spanned = set()
            for rlo, _rhi, clo, chi in sheet.merged_cells:
                for col in range(clo + 1, chi):
                    spanned.add((rlo, col))
            for r in range(sheet.nrows):
                cells = []
                for c in range(sheet.ncols):
                    cell = sheet.cell(r, c)
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        value = cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode))
                    elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        value = ""
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        value = ""
                    else:
                        value = cell_text(cell.value)
                    cells.append(Cell(value, f"{table}{column_letter(c + 1)}{r + 1} 单元格", spanned=(r, c) in spanned))
                while cells and not cells[-1].text.strip() and not cells[-1].spanned:
                    cells.pop()
                budget += len(cells)
                check_cell_budget(budget, source, f"{table}第 {r + 1} 行")
                rows.append(Row(cells, f"{table}第 {r + 1} 行", grid=True, table=table))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return rows
