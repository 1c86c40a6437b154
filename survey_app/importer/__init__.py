"""Read performance target tables of any real layout into plain data.

* :mod:`readers` — one module per format, each giving rows of cells with places;
* :mod:`layout` — rows → tables → header map → records (the layout families);
* :mod:`interpret` — records → units, projects, indicators, targets, groups, populations;
* :mod:`limits` — every size limit in one place;
* :mod:`survey_app.services.importing` — plan and apply against the database.

Nothing here touches the database.
"""

from __future__ import annotations

from pathlib import PurePath

from survey_app.importer.interpret import infer_group, interpret
from survey_app.importer.layout import read_layout
from survey_app.importer.model import (
    Cell,
    ParsedIndicator,
    ParsedProject,
    ParsedTable,
    ReadOptions,
    Row,
    TableReadError,
)
from survey_app.importer.readers import read_rows, table_names

__all__ = [
    "Cell",
    "ParsedIndicator",
    "ParsedProject",
    "ParsedTable",
    "ReadOptions",
    "Row",
    "TableReadError",
    "infer_group",
    "read_rows",
    "read_table",
]


def read_table(
    data: bytes,
    filename: str,
    *,
    unit_code: str | None = None,
    unit_name: str | None = None,
    options: ReadOptions | None = None,
) -> ParsedTable:
    """Read a target table from ``data`` (the file's bytes) and interpret it."""
    source = PurePath(filename).name or filename
    options = options or ReadOptions()
    rows = read_rows(data, source, options)
    tables = table_names(rows)
    try:
        layout = read_layout(rows, source, options.mapping)
        table = interpret(layout, source, unit_code=unit_code, unit_name=unit_name)
    except TableReadError as exc:
        if not exc.candidates and len(tables) > 1 and not options.tables and not options.sheets:
            exc.candidates = tables  # staff can pick the table that is the target table
        raise
    table.tables = tables
    return table
