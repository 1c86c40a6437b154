"""Text PDFs whose tables are drawn with lines (pdfplumber); scanned PDFs are refused."""

from __future__ import annotations

import io

from survey_app.importer import limits
from survey_app.importer.model import Cell, Row, TableReadError
from survey_app.importer.readers.zipcheck import check_cell_budget, too_many_rows


def read(data: bytes, source: str) -> list[Row]:
    import pdfplumber

    try:
        document = pdfplumber.open(io.BytesIO(data))
        pages = document.pages
    except Exception as exc:
        raise TableReadError(f"PDF 文件已损坏，无法打开（{type(exc).__name__}）", source=source) from exc
    rows: list[Row] = []
    table_no = 0
    budget = 0
    any_text = False
    try:
        if len(pages) > limits.MAX_PDF_PAGES:
            raise TableReadError(
                f"PDF 有 {len(pages)} 页，超过 {limits.MAX_PDF_PAGES} 页的上限；请只保留绩效目标表所在的页",
                source=source,
            )
        for page_no, page in enumerate(pages, start=1):
            if page.chars:
                any_text = True
            found = page.find_tables()
            boxes = [t.bbox for t in found]

            def outside(obj, boxes=boxes) -> bool:
                return not any(
                    b[0] <= obj.get("x0", 0) <= b[2] and b[1] <= obj.get("top", 0) <= b[3] for b in boxes
                )

            items: list[tuple[float, object]] = []
            for line in page.filter(outside).extract_text_lines():
                items.append((line["top"], line["text"]))
            for t in found:
                items.append((t.bbox[1], t))
            items.sort(key=lambda item: item[0])
            line_no = 0
            for _, item in items:
                if isinstance(item, str):
                    line_no += 1
                    loc = f"第 {page_no} 页第 {line_no} 行文字"
                    if item.strip():
                        rows.append(Row([Cell(item.strip(), loc)], loc, paragraph=True))
                    continue
                table_no += 1
                name = f"第 {table_no} 个表格"
                for r, values in enumerate(item.extract(), start=1):
                    cells = []
                    previous = None
                    for c, value in enumerate(values, start=1):
                        text = (value or "")[: limits.MAX_CELL_CHARS]
                        # pdfplumber gives None for the covered positions of a horizontally merged cell
                        spanned = value is None and previous is not None
                        cells.append(Cell(text, f"第 {page_no} 页{name}第 {r} 行第 {c} 列", spanned=spanned))
                        previous = value if value is not None else previous
                    budget += len(cells)
                    check_cell_budget(budget, source, f"第 {page_no} 页{name}")
                    rows.append(Row(cells, f"第 {page_no} 页{name}第 {r} 行", grid=True, table=name))
                    if len(rows) > limits.MAX_ROWS:
                        raise too_many_rows(source, f"第 {page_no} 页")
            page.flush_cache()
    finally:
        document.close()
    if not any_text:
        raise TableReadError(
            "这是扫描件（图片）PDF，里面没有可读取的文字；请导入原始的 Word/Excel 文件，"
            "或用“导入模板”把目标表填好后导入",
            source=source,
        )
    return rows
