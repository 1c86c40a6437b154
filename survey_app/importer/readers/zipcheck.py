"""Open .docx/.xlsx ZIPs only after checking their declared sizes (ZIP bombs)."""

from __future__ import annotations

import io
import zipfile

from survey_app.importer import limits
from survey_app.importer.model import TableReadError


def open_zip(data: bytes, source: str) -> zipfile.ZipFile:
    """A ZipFile whose parts all declare sane sizes.

    :mod:`zipfile` never returns more bytes than a part declares (a part that
    inflates further fails its length/CRC check), so checking the declared sizes
    bounds what reading can allocate.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TableReadError("文件已损坏：无法作为 .docx/.xlsx 打开", source=source) from exc
    if len(infos) > limits.MAX_ZIP_MEMBERS:
        raise TableReadError(f"文件内含 {len(infos)} 个部件，超过上限，不像是正常的 Word/Excel 文件", source=source)
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.MAX_PART_BYTES or (info.file_size > 1024 * 1024 and ratio > limits.MAX_ZIP_RATIO):
            raise TableReadError(
                f"文件中的“{info.filename}”解压后有 {limits.size_text(info.file_size)}"
                f"（压缩了 {ratio:.0f} 倍），超出正常表格的大小，已拒绝读取（疑似压缩炸弹）",
                source=source,
            )
    if total > limits.MAX_UNZIPPED_BYTES:
        raise TableReadError(
            f"文件解压后共 {limits.size_text(total)}，超过 {limits.size_text(limits.MAX_UNZIPPED_BYTES)} 的上限",
            source=source,
        )
    return archive


def too_many_rows(source: str, location: str) -> TableReadError:
    return TableReadError(
        f"行数超过 {limits.MAX_ROWS:,} 行的上限（一个县的目标表也不会这么多），请只保留绩效目标表后再导入",
        source=source,
        location=location,
    )


def too_many_columns(source: str, location: str, columns: int) -> TableReadError:
    return TableReadError(
        f"表格宽达 {columns:,} 列，超过 {limits.MAX_COLUMNS} 列的上限（绩效目标表不会这么宽）；"
        "请删除多余的列或另存为只含目标表的文件",
        source=source,
        location=location,
    )


def check_cell_budget(count: int, source: str, location: str) -> None:
    if count > limits.MAX_CELLS:
        raise TableReadError(
            f"单元格超过 {limits.MAX_CELLS:,} 个的上限，请只保留绩效目标表后再导入", source=source, location=location
        )
