"""Layout: rows → tables → header map → records (raw projects with places).

Families recognised (see README "导入目标表"):

* block format: a key/value header per project (项目名称, 预算数 …) then an indicator grid;
* long format: one row per indicator, project (unit, code, budget …) in columns;
* stacked tables on one sheet / in one document, roll-ups (汇总) skipped;
* grids without level columns; annual and long-term targets side by side (annual taken);
* whole-department tables (the unit is the subject);
* self-evaluation forms (target and actual columns; footer rows end the grid).

Nothing here converts values: :mod:`interpret` does that, with the places kept here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from survey_app.importer.cells import clean, is_unit_line, key, key_and_suffixes, split_unit, year_in
from survey_app.importer.columns import (
    FOOTER_RE,
    HEADER_WORDS,
    NOTE_RE,
    SUBTOTAL_RE,
    column_role,
    contents_role,
    key_of,
)
from survey_app.importer.model import Cell, Row, TableReadError

INDICATOR_ROLES = ("level1", "level2", "name", "target", "op", "unit", "direction", "value_type", "points",
                   "description", "note", "basis")
LONG_ROLES = ("project", "code", "unit_col", "budget", "fiscal", "other", "goal", "year_col")


@dataclass(slots=True)
class Field:
    text: str
    place: str
    #: money unit declared by a header suffix or a 金额单位 line (万元/元)
    money_unit: str = ""


@dataclass(slots=True)
class RawIndicator:
    values: dict[str, Field]
    level1: str
    level2: str
    location: str


@dataclass
class RawProject:
    fields: dict[str, Field] = field(default_factory=dict)
    spending_plan: list[tuple[str, str]] = field(default_factory=list)
    plan_place: str = ""
    unit: Field | None = None
    year: int | None = None
    location: str = ""
    indicators: list[RawIndicator] = field(default_factory=list)
    family: str = "块状表"


@dataclass
class LayoutResult:
    projects: list[RawProject]
    units: list[Field]
    years: list[int]
    warnings: list[str]
    families: list[str]
    unknown_columns: list[tuple[str, str]]
    headers_seen: list[str]


class Layout:
    def __init__(self, rows: list[Row], source: str, mapping: dict[str, str] | None = None) -> None:
        self.rows = rows
        self.source = source
        self.mapping = mapping or {}
        self.projects: list[RawProject] = []
        self.project: RawProject | None = None
        self.columns: dict[str, int] | None = None
        #: (the columns dict it was made from, its (role, column) pairs that carry values), see _values
        self._value_columns: tuple[object, list[tuple[str, int]]] = (None, [])
        self.long = False
        self.width = 0
        self.level1 = ""
        self.level2 = ""
        self.unit: Field | None = None
        self.units: list[Field] = []
        self.warnings: list[str] = []
        self.expect: str | None = None
        self.expect_first_only = False
        self.plan_labels: list[str] = []
        self.years: list[int] = []
        self.year: int | None = None
        self.money_unit = "万元"
        self.table = None
        self.rollup = False
        self.notes = False
        self.long_grid = False
        self.department = False
        self.unknown: list[tuple[str, str]] = []
        self.headers_seen: list[str] = []
        self.long_projects: dict[tuple, RawProject] = {}
        self.long_fill: dict[str, Field] = {}
        self.header_texts: list[str] = []

    def error(self, message: str, location: str) -> TableReadError:
        return TableReadError(message, source=self.source, location=location)

    def warn(self, message: str, location: str) -> None:
        self.warnings.append(f"{self.source}：{location}：{message}")

    # -- driver

    def run(self) -> LayoutResult:
        index = 0
        while index < len(self.rows):
            row = self.rows[index]
            if row.table != self.table:
                self.new_table(row)
            index += self.handle(index, row)
        self.finish_project()
        families = sorted({p.family for p in self.projects})
        return LayoutResult(self.projects, self.units, self.years, self.warnings, families, self.unknown, self.headers_seen)

    def new_table(self, row: Row) -> None:
        self.table = row.table
        self.columns = None
        self.long = False
        self.notes = False
        self.long_grid = False
        self.expect = None

    # -- projects

    def start_project(self, location: str, family: str = "块状表") -> RawProject:
        self.finish_project()
        self.project = RawProject(location=location, unit=self.unit, year=self.year, family=family)
        self.columns = None
        return self.project

    def finish_project(self) -> None:
        project = self.project
        if project is None:
            return
        self.project = None
        self.columns = None
        if not project.indicators and not project.fields.get("name") and not project.fields.get("code"):
            return  # a key row that started nothing (e.g. 金额单位 line)
        if self.rollup or _is_subtotal(project):
            return
        self.projects.append(project)

    def handle(self, index: int, row: Row) -> int:
        texts = [clean(c.text) for c in row.cells]
        nonempty = [t for t in texts if t]
        if not nonempty:
            return 1
        if len(nonempty) == 1 and (row.paragraph or not self.columns or _GRID_LABEL_RE.search(key(nonempty[0]))):
            if self.title(nonempty[0], row):
                if not (self.long and is_unit_line(nonempty[0])):
                    self.columns = None  # a title ends the grid above it
                return 1
        if self.rollup:
            return 1  # a roll-up (汇总) table: not projects
        first = nonempty[0]
        if FOOTER_RE.match(first) and (self.columns is not None or self.project is not None):
            self.columns = None
            self.notes = True
            return 1
        if NOTE_RE.match(first) and (len(nonempty) <= 2 or first.startswith("填表说明")):
            self.columns = None
            self.notes = True
            return 1
        if row.paragraph:
            self.columns = None
            if not self.unit_line(nonempty, row) and self.keys_in(texts):
                self.project_row(row, texts)
            return 1
        header, consumed = self._header(index)
        if self.columns is not None and header is None and not self.keys_in(texts):
            if self.notes:
                return 1
            return self.long_row(index, row) if self.long else self.indicator_row(index, row)
        if header is not None:
            return self.start_grid(index, header, consumed)
        if self.unit_line(nonempty, row):
            return 1
        if self.notes and not self.keys_in(texts):
            return 1
        self.notes = False
        self.project_row(row, texts)
        return 1

    def title(self, text: str, row: Row) -> bool:
        """A title or a single-cell line: year, money unit, roll-up, long-term grid label, unit."""
        year = year_in(text)
        if year and ("年" in text) and (row.paragraph or "表" in text or "年度" in text or len(text) > 6):
            if year not in self.years:
                self.years.append(year)
            self.year = year
        k = key(text)
        money = re.search(r"(?:金额)?单位[:：]?\s*(万元|元)", re.sub(r"\s", "", text))
        if money and len(k) <= 12:
            self.money_unit = money.group(1)
            return True
        if "表" in text and ("汇总" in text or "项目库" in text):
            self.finish_project()
            self.rollup = True
            return True
        if "表" in text and len(text) < 60:
            was = self.rollup
            self.rollup = False
            self.notes = False
            if "部门整体" in text or "整体支出" in text:
                self.finish_project()
                self.department = True
            elif was or "项目" in text:
                self.department = False
            return True
        label = _GRID_LABEL_RE.search(k)
        if label and len(k) <= 20:
            self.long_grid = label.group(1) != "年度"
            return True
        if row.paragraph and is_unit_line(text):
            self.set_unit(Field(text, row.cells[0].location))
            return True
        return False

    def set_unit(self, unit: Field) -> None:
        self.unit = unit
        if not any(u.text == unit.text for u in self.units):
            self.units.append(unit)
        if self.project is not None and not self.project.indicators:
            self.project.unit = unit

    def unit_line(self, nonempty: list[str], row: Row) -> bool:
        """A unit line (929001某某镇人民政府本级), possibly beside 单位：万元."""
        unit_cells = [t for t in nonempty if is_unit_line(t)]
        rest = [t for t in nonempty if t not in unit_cells]
        money = [re.search(r"(?:金额)?单位[:：]\s*(万元|元)$", t) for t in rest]
        if len(unit_cells) != 1 or not all(money):
            return False
        for match in money:
            self.money_unit = match.group(1)  # type: ignore[union-attr]
        cell = next(c for c in row.cells if clean(c.text) == unit_cells[0])
        if self.long:
            self.long_fill["unit_col"] = Field(unit_cells[0], cell.location)
            self.set_unit(Field(unit_cells[0], cell.location))
            return True
        self.finish_project()
        self.set_unit(Field(unit_cells[0], cell.location))
        return True

    def keys_in(self, texts: list[str]) -> set[str]:
        found = set()
        for text in texts:
            label = re.split(r"[:：]", text, maxsplit=1)[0] if re.search(r"[:：]", text) else text
            name, _ = key_of(label)
            if name is None and label != text:
                name, _ = key_of(text)
            if name is not None:
                found.add(name)
        return found

    def project_row(self, row: Row, texts: list[str]) -> None:
        cells = [c for c in row.cells if not c.spanned]
        values = [clean(c.text) for c in cells]
        pairs: list[tuple[str, str, Cell, list[str]]] = []
        i = 0
        found_key = False
        labels_after = False
        while i < len(values):
            text = values[i]
            label, inline = text, None
            match = re.match(r"^([^:：]{1,20})[:：](.*)$", text, re.S)
            if match and key_of(match.group(1))[0] is not None:
                label, inline = match.group(1), match.group(2)
            name, suffixes = key_of(label)
            if name is not None:
                found_key = True
                if inline is not None and inline.strip():
                    pairs.append((name, inline.strip(), cells[i], suffixes))
                    i += 1
                    continue
                j = i + 1
                while j < len(values) and not values[j]:
                    j += 1
                if j < len(values) and key_of(values[j])[0] is None and key(values[j]) not in HEADER_WORDS:
                    pairs.append((name, values[j], cells[j], suffixes))
                    i = j + 1
                    continue
                if j < len(values) and key(values[j]) in HEADER_WORDS:
                    labels_after = True
                pairs.append((name, "", cells[i], suffixes))
            i += 1
        if not found_key:
            self.free_row(row, values)
            return
        self.expect = None
        self.expect_first_only = labels_after
        for name, value, cell, suffixes in pairs:
            self.apply_key(name, value, cell, row, values, suffixes)

    def apply_key(self, name: str, value: str, cell: Cell, row: Row, values: list[str], suffixes: list[str]) -> None:
        money = next((s for s in suffixes if s in ("万元", "元")), "") or self.money_unit
        if name == "unit":
            if value:
                self.set_unit(Field(value, cell.location))
                if self.department and self.project is None:
                    self.start_department(value, cell)
            return
        if name == "year":
            year = year_in(value + "年") if value else None
            if year:
                self.year = year
                if year not in self.years:
                    self.years.append(year)
                if self.project is not None:
                    self.project.year = year
            return
        if name == "money_label":
            if money != self.money_unit:
                self.money_unit = money
            return
        if name == "department":
            if value:
                self.set_unit(Field(value, cell.location))
                self.start_department(value, cell)
            return
        if name in ("code", "name"):
            project = self.project
            if (project is None or name in project.fields or project.indicators) and (value or name == "name"):
                project = self.start_project(row.location)
            if not value:
                if name == "code":
                    return  # codes are optional: a project is known by unit, name and year
                raise self.error("项目名称为空", cell.location)
            project.fields[name] = Field(value, cell.location)
            return
        project = self.project
        if project is None:
            if self.department and self.unit is not None:
                project = self.start_department(self.unit.text, cell)
            else:
                project = self.start_project(row.location)
        if name in ("budget", "fiscal", "other"):
            if value and name not in project.fields:
                project.fields[name] = Field(value, cell.location, money)
        elif name == "fund_header":
            self.expect = "fund_use"
            if value and not re.fullmatch(r"[\d.,\s万元]+", value):
                project.fields["fund_use"] = Field(value, cell.location)
                self.expect = None
        elif name == "plan":
            start = values.index(next(v for v in values if key(v).startswith("资金支出计划")))
            self.plan_labels = [v for v in values[start + 1 :] if v]
            self.expect = "plan"
        elif name == "goal":
            if value:
                project.fields["goal"] = Field(value, cell.location)
            else:
                self.expect = "goal"

    def start_department(self, unit_text: str, cell: Cell) -> RawProject:
        project = self.start_project(cell.location, family="部门整体表")
        project.unit = self.unit
        _, unit_name = split_unit(unit_text)
        project.fields["name"] = Field(f"{unit_name}部门整体支出", cell.location)
        return project

    def free_row(self, row: Row, values: list[str]) -> None:
        """A row without keys: the continuation of the previous key row."""
        project = self.project
        texts = [v for v in values if v]
        cells = [c for c in row.cells if clean(c.text)]
        if project is None or self.expect is None:
            return
        place = cells[0].location if cells else row.location
        if self.expect == "fund_use":
            project.fields["fund_use"] = Field(" ".join(texts), place)
        elif self.expect == "plan":
            percents = [t for t in texts if re.fullmatch(r"\d+(\.\d+)?\s*[%％]?", t)]
            labels = self.plan_labels or [f"第{i + 1}期" for i in range(len(percents))]
            if len(percents) != len(labels):
                raise self.error(f"资金支出计划有 {len(labels)} 个时间点，但有 {len(percents)} 个百分比", row.location)
            project.spending_plan = list(zip(labels, percents, strict=True))
            project.plan_place = row.location
        elif self.expect == "goal":
            project.fields["goal"] = Field(texts[0] if self.expect_first_only else " ".join(texts), place)
        self.expect = None

    # -- grids

    def _header(self, index: int) -> tuple[dict[str, int] | None, int]:
        """The header map at ``index`` (one row, or two rows of a merged header) and rows it takes."""
        row = self.rows[index]
        texts = _spread(row)
        roles = [column_role(t, self.mapping) if t else None for t in texts]
        if not any(r in ("name", "target", "long_target") for r in roles):
            return None, 1  # fast path: no header word at all (most rows)
        header = self.header_map(texts)
        if header is not None:
            return header, 1
        if index + 1 < len(self.rows) and not self.rows[index + 1].paragraph and row.grid:
            below = _spread(self.rows[index + 1])
            width = max(len(texts), len(below))
            texts += [""] * (width - len(texts))
            below += [""] * (width - len(below))
            joined = [(b or t) if column_role(b, self.mapping) else (t + b) for t, b in zip(texts, below, strict=True)]
            header = self.header_map(joined)
            if header is not None and any(below):
                return header, 2
        return None, 1

    def header_map(self, texts: list[str]) -> dict[str, int] | None:
        mapping: dict[str, int] = {}
        for index, text in enumerate(texts):
            role = column_role(text, self.mapping) if text else None
            if role and role not in mapping:
                mapping[role] = index
        if "target" not in mapping and "long_target" in mapping and "name" in mapping:
            mapping["target"] = mapping.pop("long_target")  # only a long-term column: better than nothing
        if "name" in mapping and "target" in mapping:
            mapping["_texts"] = texts  # type: ignore[assignment]
            return mapping
        return None

    def start_grid(self, index: int, header: dict[str, int], consumed: int) -> int:
        texts: list[str] = header.pop("_texts")  # type: ignore[arg-type]
        row = self.rows[index]
        self.notes = False
        self.headers_seen.append(row.location)
        # columns whose header is ambiguous or unknown: judge by what they hold
        body = self._body_after(index + consumed)
        for col, text in enumerate(texts):
            if not text:
                continue
            role = column_role(text, self.mapping)
            if key(text) in self.mapping:
                continue
            if role in ("ambiguous", None, "op", "direction"):
                by_contents = contents_role([r.cells[col].text for r in body if col < len(r.cells)])
                if by_contents and (by_contents not in header or header[by_contents] == col):
                    for other, c in list(header.items()):
                        if c == col:
                            header.pop(other)
                    header[by_contents] = col
                elif role is None:
                    place = row.cells[col].location if col < len(row.cells) else row.location
                    if not _label_column(text):
                        self.unknown.append((text, place))
        header.pop("ambiguous", None)
        self.long = "project" in header
        self.columns = header
        self.header_texts = texts
        self.width = len(texts)
        self.level1 = self.level2 = ""
        self.expect = None
        if self.long:
            self.finish_project()
            self.long_fill = {}
            if self.unit is not None:
                self.long_fill["unit_col"] = self.unit
            return consumed
        if self.project is None:
            if self.department and self.unit is not None:
                self.start_department(self.unit.text, row.cells[0])
            else:
                raise TableReadError(
                    "指标表前没有项目名称（也不是每行带项目名称的长表）；如果这是部门整体支出表，"
                    "请在表前写明“部门（单位）名称”",
                    source=self.source,
                    location=row.location,
                )
        if self.long_grid:
            self.warn("中长期（实施期）指标表未导入，只导入年度指标", row.location)
        return consumed

    def _body_after(self, start: int) -> list[Row]:
        body = []
        for row in self.rows[start : start + 200]:
            if row.paragraph or row.table != self.rows[start - 1].table:
                break
            body.append(row)
        return body

    def _cells(self, index: int, row: Row) -> tuple[list[Cell], int]:
        assert self.columns is not None
        cells = list(row.cells)
        consumed = 1
        while len(cells) > self.width and not clean(cells[-1].text):
            cells.pop()
        if row.grid:
            cells += [Cell("", row.location) for _ in range(self.width - len(cells))]
        if len(cells) < self.width and index + 1 < len(self.rows):
            nxt = self.rows[index + 1]
            if not nxt.paragraph and len(cells) + len(nxt.cells) == self.width:
                # a row broken in two by a stray line break (the seed's 社会效益 row)
                cells = cells + nxt.cells
                consumed = 2
        if len(cells) < self.width:
            # merged (row-spanned) cells missing from copied text: the missing cells are the leading ones
            missing = self.width - len(cells)
            cells = [Cell("", row.location) for _ in range(missing)] + cells
        if len(cells) > self.width:
            raise self.error(f"该行有 {len(cells)} 个单元格，但表头只有 {self.width} 列", row.location)
        return cells, consumed

    def indicator_row(self, index: int, row: Row) -> int:
        assert self.columns is not None
        cells, consumed = self._cells(index, row)
        if self.long_grid:
            return consumed
        values = self._values(cells)
        name = values.get("name")
        target = values.get("target")
        if not (name and name.text) and not (target and target.text):
            self._carry_levels(values)
            return consumed  # an empty template row (e.g. 经济效益指标 with no indicator)
        if self.project is None:
            raise self.error("指标行前没有项目", row.location)
        self._carry_levels(values)
        self.project.indicators.append(RawIndicator(values, self.level1, self.level2, row.location))
        return consumed

    def _values(self, cells: list[Cell]) -> dict[str, Field]:
        assert self.columns is not None
        if self._value_columns[0] is not self.columns:
            wanted = [(r, c) for r, c in self.columns.items() if r not in ("ignore", "score", "actual", "long_target")]
            self._value_columns = (self.columns, wanted)
        width = len(cells)
        out = {}
        for role, col in self._value_columns[1]:
            if col < width:
                cell = cells[col]
                out[role] = Field(clean(cell.text), cell.location)
        return out

    def _carry_levels(self, values: dict[str, Field]) -> None:
        level1 = values["level1"].text if "level1" in values else ""
        level2 = values["level2"].text if "level2" in values else ""
        if level1:
            if level1 != self.level1:
                self.level2 = ""
            self.level1 = level1
        if level2:
            self.level2 = level2

    def long_row(self, index: int, row: Row) -> int:
        """One row of a long-format table: project fields in columns, filled down when merged."""
        assert self.columns is not None
        cells, consumed = self._cells(index, row)
        values = self._values(cells)
        project_text = values["project"].text if "project" in values else ""
        name = values.get("name")
        target = values.get("target")
        has_indicator = bool((name and name.text) or (target and target.text))
        if SUBTOTAL_RE.match(key(project_text)) or (project_text and is_unit_line(project_text) and not has_indicator):
            if is_unit_line(project_text):
                unit = Field(project_text, values["project"].place)
                self.long_fill = {"unit_col": unit}
                self.set_unit(unit)
            return consumed
        if "unit_col" in values and values["unit_col"].text and not has_indicator and not project_text:
            unit = values["unit_col"]
            self.long_fill = {"unit_col": unit}
            self.set_unit(unit)
            return consumed
        for role in LONG_ROLES:
            if role in values and values[role].text:
                if role == "project" and self.long_fill.get("project", Field("", "")).text != values[role].text:
                    # a new project: its own budget, code and goal (not the previous project's)
                    for stale in ("code", "budget", "fiscal", "other", "goal"):
                        self.long_fill.pop(stale, None)
                    self.level1 = self.level2 = ""
                if role == "unit_col" and self.long_fill.get("unit_col", Field("", "")).text != values[role].text:
                    self.set_unit(values[role])
                self.long_fill[role] = values[role]
        if not has_indicator:
            self._carry_levels(values)
            return consumed
        if "project" not in self.long_fill:
            raise self.error("这一行没有项目名称（长表的每个指标行都要有所属项目）", row.location)
        unit = self.long_fill.get("unit_col")
        code = self.long_fill.get("code")
        ident = (unit.text if unit else "", self.long_fill["project"].text, code.text if code else "")
        project = self.long_projects.get(ident)
        if project is None:
            project = RawProject(location=row.location, unit=unit, year=self.year, family="长表")
            project.fields["name"] = self.long_fill["project"]
            self.long_projects[ident] = project
            self.projects.append(project)
        for role in ("code", "budget", "fiscal", "other", "goal"):
            if role in self.long_fill and role not in project.fields:
                project.fields[role] = Field(self.long_fill[role].text, self.long_fill[role].place, self._money_of(role))
        if "year_col" in self.long_fill and project.year is None:
            project.year = year_in(self.long_fill["year_col"].text + "年")
        self._carry_levels(values)
        project.indicators.append(RawIndicator(values, self.level1, self.level2, row.location))
        return consumed

    def _money_of(self, role: str) -> str:
        """万元/元 from the column header's suffix (预算数(元)), else the declared money unit."""
        if self.columns is None or role not in self.columns:
            return self.money_unit
        _, suffixes = key_and_suffixes(self.header_texts[self.columns[role]])
        return next((s for s in suffixes if s in ("万元", "元")), self.money_unit)


_GRID_LABEL_RE = re.compile(r"^(中长期|长期|实施期|年度)(绩效)?(目标|指标)(表)?$")


def _spread(row: Row) -> list[str]:
    """Row texts with a horizontally merged cell's text repeated over its span."""
    out: list[str] = []
    for cell in row.cells:
        out.append(out[-1] if cell.spanned and out else clean(cell.text))
    return out


def _label_column(text: str) -> bool:
    k = key(text)
    return "绩效指标" in k or "目标" in k or k in ("内容", "项目")


def _is_subtotal(project: RawProject) -> bool:
    name = project.fields.get("name")
    return bool(name and SUBTOTAL_RE.match(key(name.text)) and not project.indicators)


def read_layout(rows: list[Row], source: str, mapping: dict[str, str] | None = None) -> LayoutResult:
    return Layout(rows, source, mapping).run()
