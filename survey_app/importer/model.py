"""The importer's plain data: cells with places, grids, and parsed projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from analysis import Target
from survey_app.models.budget import RespondentGroup


class TableReadError(ValueError):
    """A table that cannot be read; the message says where (file, place, cell)."""

    def __init__(self, message: str, *, source: str = "", location: str = "", candidates: list[str] | None = None) -> None:
        self.source = source
        self.location = location
        self.reason = message
        #: choices the user can make to resolve the error (sheets, tables, header rows)
        self.candidates = candidates or []
        where = "：".join(p for p in (source, location) if p)
        super().__init__(f"{where}：{message}" if where else message)


@dataclass(slots=True)
class Cell:
    text: str
    #: human place, also the key of a correction: 工作表“项目1”B7 / 第 2 个表格第 3 行第 4 列 / 第 46 行
    location: str
    #: True for the 2nd.. grid positions of a horizontally merged cell
    spanned: bool = False


@dataclass(slots=True)
class Row:
    cells: list[Cell]
    location: str
    paragraph: bool = False
    #: True for rows whose cells sit in fixed grid columns (.docx/.xlsx/.xls/.pdf/delimited text)
    grid: bool = False
    #: the table (sheet, Word table, PDF table) the row belongs to, e.g. 工作表“项目1”
    table: str = ""

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.cells]


@dataclass
class ParsedIndicator:
    position: int
    level1: str
    level2: str
    name: str
    description: str
    target_raw: str
    target: Target | None
    basis: str
    points: float | None
    is_satisfaction: bool
    respondent_group: RespondentGroup | None
    respondent_label: str
    group_conflict: str
    location: str
    population: int | None = None
    population_unit: str | None = None
    population_source: str = ""
    #: the cell the target was read from
    target_location: str = ""


@dataclass
class ParsedProject:
    code: str = ""
    name: str = ""
    budget_wan: Decimal | None = None
    fiscal_wan: Decimal | None = None
    other_wan: Decimal | None = None
    fund_use: str = ""
    goal: str = ""
    spending_plan: list[dict[str, object]] = field(default_factory=list)
    indicators: list[ParsedIndicator] = field(default_factory=list)
    location: str = ""
    year: int | None = None
    unit_code: str = ""
    unit_name: str = ""
    #: True when the code was made from unit, name and year (the table has none)
    code_generated: bool = False
    #: field -> place it was read from (项目名称 -> 工作表“项目1”B3)
    places: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedTable:
    source: str
    unit_code: str
    unit_name: str
    projects: list[ParsedProject]
    warnings: list[str]
    year: int | None = None
    #: the layout family found (块状表 / 长表 / ...), for the preview and error messages
    layout: str = ""
    #: header cells of indicator grids that no rule recognised: (header text, place)
    unknown_columns: list[tuple[str, str]] = field(default_factory=list)
    #: the tables read (sheet names, Word/PDF tables), for --sheet/--table
    tables: list[str] = field(default_factory=list)

    @property
    def units(self) -> list[tuple[str, str]]:
        """Every (code, name) of the file, in order of first appearance."""
        seen: dict[str, str] = {}
        for p in self.projects:
            seen.setdefault(p.unit_code or self.unit_code, p.unit_name or self.unit_name)
        return list(seen.items()) or [(self.unit_code, self.unit_name)]


@dataclass
class ReadOptions:
    """Choices staff make when the importer cannot decide (web preview and CLI)."""

    #: header text (normalised by :func:`cells.key`) -> column role (target, unit, op, direction, ignore, ...)
    mapping: dict[str, str] = field(default_factory=dict)
    #: read only these sheets (names) / tables (1-based numbers, in reading order)
    sheets: list[str] = field(default_factory=list)
    tables: list[int] = field(default_factory=list)
    #: cell place -> corrected text
    corrections: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"mapping": self.mapping, "sheets": self.sheets, "tables": self.tables, "corrections": self.corrections}

    @classmethod
    def from_json(cls, data: dict | None) -> ReadOptions:
        data = data or {}
        return cls(
            mapping={str(k): str(v) for k, v in (data.get("mapping") or {}).items()},
            sheets=[str(s) for s in data.get("sheets") or []],
            tables=[int(t) for t in data.get("tables") or []],
            corrections={str(k): str(v) for k, v in (data.get("corrections") or {}).items()},
        )
