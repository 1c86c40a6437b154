"""Readers: one per format, each turning a file's bytes into rows of cells with places.

:func:`read_rows` detects the format by content (not only by the file name),
reads it within the limits of :mod:`survey_app.importer.limits`, keeps only
the sheets/tables staff chose and applies their single-cell corrections.
"""

from __future__ import annotations

from pathlib import PurePath

from survey_app.importer import limits
from survey_app.importer.model import ReadOptions, Row, TableReadError
from survey_app.importer.readers import docx as docx_reader
from survey_app.importer.readers import pdf as pdf_reader
from survey_app.importer.readers import text as text_reader
from survey_app.importer.readers import xls as xls_reader
from survey_app.importer.readers import xlsx as xlsx_reader
from survey_app.importer.readers.zipcheck import open_zip

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def detect(data: bytes, source: str) -> str:
    """The format of ``data``: text, docx, xlsx, xls, pdf (or a refusal)."""
    if not data or not data.strip():
        raise TableReadError("文件是空的", source=source)
    if len(data) > limits.MAX_FILE_BYTES:
        raise TableReadError(
            f"文件太大（{limits.size_text(len(data))}），超过了 {limits.size_text(limits.MAX_FILE_BYTES)} 的上限；"
            "请只保留绩效目标表所在的工作表或页后再导入",
            source=source,
        )
    suffix = PurePath(source).suffix.lower()
    if data[:4] == b"PK\x03\x04":
        names = set(open_zip(data, source).namelist())
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise TableReadError("这是一个压缩文件，但不是 Word(.docx) 或 Excel(.xlsx) 文件", source=source)
    if data[:8] == OLE_MAGIC:
        if suffix == ".doc" or b"W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t" in data[:200_000]:
            raise TableReadError(
                "这是旧版 Word 文件（.doc），无法直接读取：请用 Word 或 WPS 打开，"
                "“另存为”.docx 格式后再导入",
                source=source,
            )
        return "xls"
    if data[:5] == b"%PDF-":
        return "pdf"
    if suffix in (".docx", ".xlsx", ".xls"):
        raise TableReadError(f"文件已损坏：不是有效的 {suffix} 文件", source=source)
    return "text"


READERS = {
    "text": text_reader.read,
    "docx": docx_reader.read,
    "xlsx": xlsx_reader.read,
    "xls": xls_reader.read,
    "pdf": pdf_reader.read,
}


def read_rows(data: bytes, source: str, options: ReadOptions | None = None) -> list[Row]:
    """Rows of every table in the file, filtered and corrected by ``options``."""
    options = options or ReadOptions()
    rows = READERS[detect(data, source)](data, source)
    tables = table_names(rows)
    if options.sheets:
        wanted = set(options.sheets)
        known = {t for t in tables}
        missing = [s for s in options.sheets if s not in known and f"工作表“{s}”" not in known]
        if missing:
            raise TableReadError(
                f"文件中没有工作表“{'、'.join(missing)}”", source=source, candidates=tables
            )
        rows = [r for r in rows if not r.table or r.table in wanted or r.table.removeprefix("工作表“").removesuffix("”") in wanted]
    if options.tables:
        numbers = {n: name for n, name in enumerate(tables, start=1)}
        bad = [n for n in options.tables if n not in numbers]
        if bad:
            raise TableReadError(
                f"文件中只有 {len(tables)} 个表，没有第 {'、'.join(map(str, bad))} 个", source=source, candidates=tables
            )
        keep = {numbers[n] for n in options.tables}
        rows = [r for r in rows if not r.table or r.table in keep]  # paragraphs (titles, unit lines) stay
    if options.corrections:
        found = set()
        for row in rows:
            for cell in row.cells:
                if cell.location in options.corrections:
                    cell.text = options.corrections[cell.location]
                    found.add(cell.location)
        unknown = [place for place in options.corrections if place not in found]
        if unknown:
            raise TableReadError(f"要更正的单元格不存在：{'、'.join(unknown)}", source=source)
    return rows


def table_names(rows: list[Row]) -> list[str]:
    """The tables of a row stream, in reading order."""
    seen: dict[str, None] = {}
    for row in rows:
        if row.table:
            seen.setdefault(row.table, None)
    return list(seen)
