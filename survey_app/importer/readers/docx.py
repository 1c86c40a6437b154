"""Word .docx: paragraphs and tables in document order, merged cells included."""

from __future__ import annotations

import io

from survey_app.importer import limits
from survey_app.importer.model import Cell, Row, TableReadError
from survey_app.importer.readers.zipcheck import check_cell_budget, open_zip, too_many_columns, too_many_rows


def read(data: bytes, source: str) -> list[Row]:
    open_zip(data, source)  # size checks before python-docx inflates anything
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for broken files
        raise TableReadError(f"Word 文件已损坏，无法打开（{type(exc).__name__}）", source=source) from exc
    rows: list[Row] = []
    table_no = 0
    paragraph_no = 0
    cells = 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            paragraph_no += 1
            text = block.text.strip()
            if text:
                loc = f"第 {paragraph_no} 段"
                rows.append(Row([Cell(text[: limits.MAX_CELL_CHARS], loc)], loc, paragraph=True))
        elif isinstance(block, Table):
            table_no += 1
            for row in _table_rows(block, table_no, source):
                cells += len(row.cells)
                check_cell_budget(cells, source, row.location)
                rows.append(row)
            if len(rows) > limits.MAX_ROWS:
                raise too_many_rows(source, f"第 {table_no} 个表格")
    return rows


def _table_rows(table, table_no: int, source: str):
    from docx.table import _Cell

    previous: dict[int, str] = {}
    name = f"第 {table_no} 个表格"
    for r, tr in enumerate(table._tbl.tr_lst, start=1):
        cells: list[Cell] = []
        grid = 0
        current: dict[int, str] = {}
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                # vertically merged: repeat the text above (levels carry down anyway)
                text = previous.get(grid, "")
            else:
                text = "\n".join(p.text for p in _Cell(tc, table).paragraphs)[: limits.MAX_CELL_CHARS]
            span = tc.grid_span
            if grid + span > limits.MAX_COLUMNS:
                raise too_many_columns(source, f"{name}第 {r} 行", grid + span)
            for i in range(span):
                loc = f"{name}第 {r} 行第 {grid + i + 1} 列"
                cells.append(Cell(text, loc, spanned=i > 0))
                current[grid + i] = text
            grid += span
        previous = current
        yield Row(cells, f"{name}第 {r} 行", grid=True, table=name)
