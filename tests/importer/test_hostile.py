"""Hostile uploads are refused fast, with a Chinese reason and bounded memory.

Each file is read in a child process under a timeout; the child reports how much
its peak resident memory grew while reading. On the code before the importer
package each of these hung past the timeout or grew by gigabytes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pytest

from survey_app.importer import limits

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds: a generous bound for a refusal that takes well under one
MAX_GROWTH_MB = 200

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from survey_app.importer import TableReadError, read_table
    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        read_table(data, sys.argv[2])
        error = None
    except TableReadError as exc:
        error = str(exc)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"error": error, "growth_mb": (after - before) / 1024, "seconds": time.perf_counter() - start}))
    """
)


def read_isolated(tmp_path: Path, data: bytes, name: str) -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), name], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _small_workbook() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["项目名称", "村道养护"])
    sheet.append(["一级指标", "二级指标", "三级指标", "指标值"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _rewrite_sheet(data: bytes, edit) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = edit(content.decode()).encode()
            target.writestr(info.filename, content)
    return out.getvalue()


def cell_at_xfd1048576() -> bytes:
    def edit(xml: str) -> str:
        xml = xml.replace('<dimension ref="A1:D2"/>', '<dimension ref="A1:XFD1048576"/>')
        return xml.replace(
            "</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
        )

    return _rewrite_sheet(_small_workbook(), edit)


def merge_over_whole_sheet() -> bytes:
    def edit(xml: str) -> str:
        return xml.replace("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>')

    return _rewrite_sheet(_small_workbook(), edit)


def million_rows() -> bytes:
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>行{n}</t></is></c></row>' for n in range(1, 1_000_001))

    def edit(xml: str) -> str:
        xml = xml.replace('<dimension ref="A1:D2"/>', "")
        start, end = xml.index("<sheetData>"), xml.index("</sheetData>")
        return xml[: start + len("<sheetData>")] + rows + xml[end:]

    return _rewrite_sheet(_small_workbook(), edit)


def docx_bomb(inflated: int = 1024 * 1024 * 1024) -> bytes:
    """A .docx whose document.xml is ~1 MB compressed and 1 GB inflated."""
    import docx

    document = docx.Document()
    document.add_paragraph("x")
    plain = io.BytesIO()
    document.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info.filename, source.read(info.filename))
        info = zipfile.ZipInfo("word/document.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with target.open(info, "w", force_zip64=True) as handle:
            chunk = b" " * (8 * 1024 * 1024)
            for _ in range(inflated // len(chunk)):
                handle.write(chunk)
    return out.getvalue()


def test_cell_at_xfd1048576_refused(tmp_path):
    data = cell_at_xfd1048576()
    assert len(data) < 10_000
    report = read_isolated(tmp_path, data, "bomb.xlsx")
    assert "XFD" in report["error"] and "列" in report["error"] and "上限" in report["error"]
    assert report["growth_mb"] < MAX_GROWTH_MB


def test_cell_at_xfd1048576_without_dimension_refused(tmp_path):
    data = _rewrite_sheet(cell_at_xfd1048576(), lambda xml: xml.replace('<dimension ref="A1:XFD1048576"/>', ""))
    report = read_isolated(tmp_path, data, "bomb.xlsx")
    assert "行数超过" in report["error"] or "列的上限" in report["error"]
    assert report["growth_mb"] < MAX_GROWTH_MB


def test_merge_over_whole_sheet_refused(tmp_path):
    report = read_isolated(tmp_path, merge_over_whole_sheet(), "merge.xlsx")
    assert "合并单元格 A1:XFD1048576" in report["error"]
    assert report["growth_mb"] < MAX_GROWTH_MB


def test_million_row_sheet_refused(tmp_path):
    report = read_isolated(tmp_path, million_rows(), "rows.xlsx")
    assert f"{limits.MAX_ROWS:,}" in report["error"] and "行" in report["error"]
    assert report["growth_mb"] < MAX_GROWTH_MB * 2


def test_19_mb_text_refused(tmp_path):
    data = ("一级指标\t二级指标\t三级指标\t指标值\n" * 410_000).encode()
    assert len(data) > 19 * 1024 * 1024
    report = read_isolated(tmp_path, data, "big.txt")
    assert "超过" in report["error"] and "MB" in report["error"]
    assert report["growth_mb"] < MAX_GROWTH_MB


BOMB = ROOT / "tests" / "fixtures" / "tables" / "bomb_1gb.docx"  # docx_bomb() output, shipped: building it takes ~20 s


def test_docx_zip_bomb_refused(tmp_path):
    data = BOMB.read_bytes()
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").file_size >= 1024**3
    assert len(data) < 3 * 1024 * 1024
    report = read_isolated(tmp_path, data, "bomb.docx")
    assert "压缩炸弹" in report["error"] or "超过" in report["error"]
    assert report["growth_mb"] < MAX_GROWTH_MB


def test_upload_over_file_limit_refused_before_reading():
    from survey_app.importer import TableReadError, read_table

    with pytest.raises(TableReadError) as info:
        read_table(b"PK\x03\x04" + b"\x00" * (limits.MAX_FILE_BYTES + 1), "big.xlsx")
    assert "文件太大" in str(info.value)
