"""Every size limit of the importer, in one place.

A county workbook (2,000 projects, 30,000 indicator rows) fits well inside
these; hostile files (a cell at XFD1048576, a merge over the whole sheet, a
ZIP bomb, a million-row sheet) hit one of them within seconds, before memory
grows. The messages name the limit in Chinese.
"""

from __future__ import annotations

#: bytes of one uploaded file
MAX_FILE_BYTES = 20 * 1024 * 1024
#: bytes of a text (.txt/.csv/pasted) file; text is decoded and split in memory
MAX_TEXT_BYTES = 8 * 1024 * 1024
#: rows of one sheet, table or text file (a county workbook has ~35,000)
MAX_ROWS = 100_000
#: columns of one sheet (real tables have fewer than 40; Excel allows 16,384)
MAX_COLUMNS = 256
#: cells kept from one file (rows x columns actually present)
MAX_CELLS = 2_000_000
#: characters of one cell
MAX_CELL_CHARS = 20_000
#: declared uncompressed bytes of all parts of a .docx/.xlsx
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: declared uncompressed bytes of one part (one sheet, document.xml)
MAX_PART_BYTES = 120 * 1024 * 1024
#: uncompressed/compressed ratio above which a part is a ZIP bomb (XML compresses ~10-30x)
MAX_ZIP_RATIO = 200
#: parts in a ZIP
MAX_ZIP_MEMBERS = 2_000
#: pages of a PDF
MAX_PDF_PAGES = 200
#: sheets in a workbook
MAX_SHEETS = 200
#: how long a pending upload preview is kept in the database
PREVIEW_TTL_HOURS = 24


def size_text(n: int) -> str:
    """A byte count in Chinese (``20 MB``)."""
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"
