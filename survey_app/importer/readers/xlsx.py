"""Excel .xlsx, streamed: openpyxl's read-only sheet parser, one row at a time.

Only the cells present in the file are kept; a row or column number beyond the
limits (a cell at XFD1048576, a declared dimension or a merged range over the
whole sheet) is refused as soon as it is seen, before anything grows.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from survey_app.importer import limits
from survey_app.importer.model import Cell, Row, TableReadError
from survey_app.importer.readers.zipcheck import check_cell_budget, open_zip, too_many_columns, too_many_rows


def cell_text(value: object) -> str:
    """A cell value as the text a person sees (dates as 2024年6月30日)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.10f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return f"{value.year}年{value.month}月{value.day}日"
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)[: limits.MAX_CELL_CHARS]


def column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


_LETTERS: list[str] = []


def _letters(upto: int) -> list[str]:
    """Column letters indexed by column number (1-based), grown on demand."""
    if len(_LETTERS) <= upto:
        from openpyxl.utils import get_column_letter

        if not _LETTERS:
            _LETTERS.append("")
        _LETTERS.extend(get_column_letter(i) for i in range(len(_LETTERS), upto + 1))
    return _LETTERS


_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension ref="(?:[A-Z]+\d+:)?([A-Z]+)(\d+)"')


def _count_rows(archive, source: str) -> None:
    """Check the declared dimension and count <row> elements of every sheet by a raw scan
    (fast, constant memory) before parsing any."""
    from openpyxl.utils import column_index_from_string

    for info in archive.infolist():
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
            continue
        rows = cells = 0
        tail = b""
        part = f"“{info.filename.rsplit('/', 1)[-1]}”"
        with archive.open(info) as handle:
            first = True
            while chunk := handle.read(4 * 1024 * 1024):
                if first:
                    first = False
                    match = _DIMENSION_RE.search(chunk[:65536])
                    if match:
                        max_col = column_index_from_string(match.group(1).decode())
                        max_row = int(match.group(2))
                        if max_col > limits.MAX_COLUMNS:
                            raise too_many_columns(source, f"{part}（声明的范围到第 {match.group(1).decode()} 列）", max_col)
                        if max_row > limits.MAX_ROWS:
                            raise too_many_rows(source, f"{part}（声明的范围到第 {max_row:,} 行）")
                window = tail + chunk
                rows += window.count(b"<row") - tail.count(b"<row")
                cells += window.count(b"<c ") - tail.count(b"<c ")
                tail = window[-8:]
                if rows > limits.MAX_ROWS:
                    raise too_many_rows(source, part)
        check_cell_budget(cells, source, part)


def read(data: bytes, source: str) -> list[Row]:
    _count_rows(open_zip(data, source), source)
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise TableReadError(f"Excel 文件已损坏，无法打开（{type(exc).__name__}）", source=source) from exc
    try:
        if len(workbook.worksheets) > limits.MAX_SHEETS:
            raise TableReadError(f"工作簿有 {len(workbook.worksheets)} 个工作表，超过上限", source=source)
        rows: list[Row] = []
        budget = [0]
        for sheet in workbook.worksheets:
            if not hasattr(sheet, "_get_source"):
                continue  # chart sheets
            rows.extend(_sheet_rows(workbook, sheet, source, budget))
        return rows
    finally:
        workbook.close()


def _sheet_rows(workbook, sheet, source: str, budget: list[int]) -> list[Row]:
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._reader import WorkSheetParser

    table = f"工作表“{sheet.title}”"
    dense: list[tuple[int, list[Cell]]] = []
    with sheet._get_source() as src:
        parser = WorkSheetParser(
            src,
            workbook.shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for count, (number, values) in enumerate(parser.parse(), start=1):
            if number > limits.MAX_ROWS or count > limits.MAX_ROWS:
                raise too_many_rows(source, f"{table}第 {number:,} 行")
            cells: list[Cell] = []
            for value in values:
                column = value["column"]
                if column > limits.MAX_COLUMNS:
                    raise too_many_columns(source, f"{table}{column_letter(column)}{number} 单元格", column)
                raw = value["value"]
                text = raw[: limits.MAX_CELL_CHARS] if type(raw) is str else cell_text(raw)
                if not text and not cells:
                    continue
                letters = _letters(column)
                while len(cells) < column - 1:
                    filler = len(cells) + 1
                    cells.append(Cell("", f"{table}{letters[filler]}{number} 单元格"))
                cells.append(Cell(text, f"{table}{letters[column]}{number} 单元格"))
            while cells and not cells[-1].text.strip():
                cells.pop()
            budget[0] += len(cells)
            check_cell_budget(budget[0], source, f"{table}第 {number} 行")
            dense.append((number, cells))
        merged = parser.merged_cells.mergeCell if parser.merged_cells is not None else []
    by_number = {number: cells for number, cells in dense}
    for merge in merged:
        min_col, min_row, max_col, max_row = range_boundaries(merge.ref)
        if max_row > limits.MAX_ROWS or max_col > limits.MAX_COLUMNS:
            raise TableReadError(
                f"合并单元格 {merge.ref} 覆盖了几乎整个工作表，不是正常的表格；请取消这个合并后再导入",
                source=source,
                location=table,
            )
        cells = by_number.get(min_row)
        if cells is None or max_col == min_col:
            continue
        while len(cells) < max_col:
            filler = len(cells) + 1
            cells.append(Cell("", f"{table}{column_letter(filler)}{min_row} 单元格"))
        for col in range(min_col + 1, max_col + 1):
            cells[col - 1].spanned = True
    return [Row(cells, f"{table}第 {number} 行", grid=True, table=table) for number, cells in dense]
