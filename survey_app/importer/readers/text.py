"""Text: the seed's rendering (one tab-indented line per cell) and delimited text.

Delimited text is what staff get by copying a table from a web page or PDF:
tab, comma or pipe separated, UTF-8 or GB18030/GBK, CRLF line ends, and rows
whose row-spanned cells are missing (they are padded on the left later).
"""

from __future__ import annotations

import csv
import re

from survey_app.importer import limits
from survey_app.importer.model import Cell, Row, TableReadError
from survey_app.importer.readers.zipcheck import too_many_rows

_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]]*\]")
_PIPE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}")


def decode(data: bytes, source: str) -> str:
    if len(data) > limits.MAX_TEXT_BYTES:
        raise TableReadError(
            f"文本文件有 {limits.size_text(len(data))}，超过 {limits.size_text(limits.MAX_TEXT_BYTES)} 的上限；"
            "请只保留绩效目标表的内容",
            source=source,
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        raise TableReadError("无法识别的文件格式（二进制文件）", source=source)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableReadError("无法识别的文本编码（请使用 UTF-8 或 GBK）", source=source)


def read(data: bytes, source: str) -> list[Row]:
    text = decode(data, source)
    lines = text.splitlines()
    if len(lines) > limits.MAX_ROWS * 2:
        raise too_many_rows(source, f"第 {limits.MAX_ROWS * 2} 行")
    nonempty = [line for line in lines if line.strip()]
    # the seed's rendering: one cell per tab-indented line (copied tables have tabs between cells instead)
    one_cell = sum(1 for line in nonempty if line.startswith("\t") and "\t" not in line[1:])
    delimited = sum(1 for line in nonempty if "\t" in line.strip("\t"))
    if nonempty and one_cell >= len(nonempty) / 3 and one_cell > delimited:
        return list(_read_cell_per_line(lines))
    return _read_delimited(lines, source)


def _read_cell_per_line(lines: list[str]):
    """Seed-style text: a tab-indented line is a cell; blank lines end rows."""
    cells: list[Cell] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        if line.startswith("\t"):
            if not cells:
                start = number
            cells.append(Cell(line[1:], f"第 {number} 行"))
            continue
        content = _BOOKMARK_RE.sub("", line).strip()
        if content and cells:
            # a line break inside a cell: the line continues the previous cell
            cells[-1].text += "\n" + content
            continue
        if cells:
            yield Row(cells, f"第 {start} 行")
            cells = []
        if content:
            yield Row([Cell(content, f"第 {number} 行")], f"第 {number} 行", paragraph=True)
    if cells:
        yield Row(cells, f"第 {start} 行")


def delimiter_of(lines: list[str]) -> str | None:
    """The separator most lines use: tab, pipe or comma (None for plain paragraphs)."""
    sample = [line for line in lines[:500] if line.strip()]
    best, best_count = None, 0
    for sep in ("\t", "|", ",", "，"):
        count = sum(1 for line in sample if sep in line)
        if count > best_count and count >= max(2, len(sample) // 4):
            best, best_count = sep, count
    return best


def _split(line: str, sep: str) -> list[str]:
    if sep == "|":
        stripped = line.strip()
        if stripped.startswith("|"):
            stripped = stripped[1:]
        if stripped.endswith("|"):
            stripped = stripped[:-1]
        return [part.strip() for part in stripped.split("|")]
    if sep == ",":
        return next(csv.reader([line]))
    return line.split(sep)


def _read_delimited(lines: list[str], source: str) -> list[Row]:
    sep = delimiter_of(lines)
    rows: list[Row] = []
    if sep == ",":
        # quoted fields may hold commas and line breaks
        records = csv.reader(lines)
        numbered = []
        number = 0
        for record in records:
            number = records.line_num
            numbered.append((number, record))
    else:
        numbered = [(n, _split(line, sep) if sep else [line]) for n, line in enumerate(lines, start=1)]
    for number, values in numbered:
        if sep == "|" and _PIPE_RULE_RE.match("|".join(values)):
            continue
        delimited = len(values) > 1
        values = [_BOOKMARK_RE.sub("", v)[: limits.MAX_CELL_CHARS] for v in values]
        if not any(v.strip() for v in values):
            rows.append(Row([], f"第 {number} 行"))
            continue
        if len(values) > limits.MAX_COLUMNS:
            from survey_app.importer.readers.zipcheck import too_many_columns

            raise too_many_columns(source, f"第 {number} 行", len(values))
        nonempty = [v for v in values if v.strip()]
        if len(nonempty) == 1 and not delimited:
            rows.append(Row([Cell(values[0].strip(), f"第 {number} 行")], f"第 {number} 行", paragraph=True))
            continue
        cells = [Cell(v, f"第 {number} 行第 {i} 列") for i, v in enumerate(values, start=1)]
        # a CSV file keeps every column (empty cells too); copied text may lose row-spanned cells
        rows.append(Row(cells, f"第 {number} 行", grid=sep == ","))
    return rows
