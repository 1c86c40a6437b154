"""Read performance target tables (text, .docx, .xlsx) into plain data.

Reading has two stages:

1. A format reader turns the file into a stream of :class:`Row` objects
   (cells with their location in the file). Text renderings like the seed put
   one cell per tab-indented line and separate rows by blank lines; .docx and
   .xlsx tables are read cell by cell, merged cells included.
2. :func:`interpret` walks the stream with a small state machine: project
   header keys (项目编码, 项目名称, 预算数, ...) start a project; a header row
   with 三级指标 and 指标值 (or their synonyms) starts an indicator grid whose
   columns are found by name, not position.

Nothing here touches the database. Every problem raises
:class:`TableReadError` naming the file, the place and the cell.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from analysis import Target, TargetParseError, parse_target
from survey_app.models.budget import RespondentGroup


class TableReadError(ValueError):
    """A table that cannot be read; the message says where (file, place, cell)."""

    def __init__(self, message: str, *, source: str = "", location: str = "") -> None:
        self.source = source
        self.location = location
        self.reason = message
        where = "：".join(p for p in (source, location) if p)
        super().__init__(f"{where}：{message}" if where else message)


@dataclass
class Cell:
    text: str
    location: str
    #: True for the 2nd.. grid positions of a horizontally merged cell
    spanned: bool = False


@dataclass
class Row:
    cells: list[Cell]
    location: str
    paragraph: bool = False
    #: True for .docx/.xlsx rows, whose cells sit in fixed grid columns
    grid: bool = False

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


@dataclass
class ParsedTable:
    source: str
    unit_code: str
    unit_name: str
    projects: list[ParsedProject]
    warnings: list[str]
    year: int | None = None


# --------------------------------------------------------------------------
# format detection and readers


def read_table(
    data: bytes,
    filename: str,
    *,
    unit_code: str | None = None,
    unit_name: str | None = None,
) -> ParsedTable:
    """Read a target table from ``data`` (the file's bytes) and interpret it."""
    source = PurePath(filename).name or filename
    rows = list(read_rows(data, source))
    return interpret(rows, source, unit_code=unit_code, unit_name=unit_name)


def read_rows(data: bytes, source: str) -> Iterator[Row]:
    """Detect the format by content (not only the extension) and read rows."""
    if not data or not data.strip():
        raise TableReadError("文件是空的", source=source)
    suffix = PurePath(source).suffix.lower()
    if data[:4] == b"PK\x03\x04":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile as exc:
            raise TableReadError("文件已损坏：无法作为 .docx/.xlsx 打开", source=source) from exc
        if "word/document.xml" in names:
            return _read_docx(data, source)
        if "xl/workbook.xml" in names:
            return _read_xlsx(data, source)
        raise TableReadError("这是一个压缩文件，但不是 Word(.docx) 或 Excel(.xlsx) 文件", source=source)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TableReadError(
            "这是旧版 Word/Excel 文件（.doc/.xls），请另存为 .docx 或 .xlsx 后再导入", source=source
        )
    if data[:5] == b"%PDF-":
        raise TableReadError("不支持 PDF 文件，请导入 .docx、.xlsx 或文本文件", source=source)
    if suffix in (".docx", ".xlsx"):
        raise TableReadError(f"文件已损坏：不是有效的 {suffix} 文件", source=source)
    text = _decode_text(data, source)
    return _read_text(text, source)


def _decode_text(data: bytes, source: str) -> str:
    if b"\x00" in data[:4096]:
        raise TableReadError("无法识别的文件格式（二进制文件）", source=source)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableReadError("无法识别的文本编码（请使用 UTF-8 或 GBK）", source=source)


_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]]*\]")


def _read_text(text: str, source: str) -> Iterator[Row]:
    """Seed-style text: a tab-indented line is a cell; blank lines end rows."""
    cells: list[Cell] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
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


def _read_docx(data: bytes, source: str) -> Iterator[Row]:
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
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            paragraph_no += 1
            text = block.text.strip()
            if text:
                loc = f"第 {paragraph_no} 段"
                rows.append(Row([Cell(text, loc)], loc, paragraph=True))
        elif isinstance(block, Table):
            table_no += 1
            rows.extend(_docx_table_rows(block, table_no))
    return iter(rows)


def _docx_table_rows(table, table_no: int) -> Iterator[Row]:
    previous: dict[int, str] = {}
    for r, tr in enumerate(table._tbl.tr_lst, start=1):
        cells: list[Cell] = []
        grid = 0
        current: dict[int, str] = {}
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                # vertically merged: repeat the text above (levels carry down anyway)
                text = previous.get(grid, "")
            else:
                text = "\n".join(p.text for p in _tc_paragraphs(tc, table))
            span = tc.grid_span
            for i in range(span):
                loc = f"第 {table_no} 个表格第 {r} 行第 {grid + i + 1} 列"
                cells.append(Cell(text, loc, spanned=i > 0))
                current[grid + i] = text
            grid += span
        previous = current
        yield Row(cells, f"第 {table_no} 个表格第 {r} 行", grid=True)


def _tc_paragraphs(tc, table):
    from docx.table import _Cell

    return _Cell(tc, table).paragraphs


def _read_xlsx(data: bytes, source: str) -> Iterator[Row]:
    try:
        import openpyxl
        from openpyxl.utils import get_column_letter

        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=False)
    except Exception as exc:
        raise TableReadError(f"Excel 文件已损坏，无法打开（{type(exc).__name__}）", source=source) from exc
    rows: list[Row] = []
    for sheet in workbook.worksheets:
        spanned: set[tuple[int, int]] = set()
        for merged in sheet.merged_cells.ranges:
            for row in range(merged.min_row, merged.max_row + 1):
                for col in range(merged.min_col, merged.max_col + 1):
                    if col != merged.min_col and row == merged.min_row:
                        spanned.add((row, col))
        for row_cells in sheet.iter_rows():
            cells: list[Cell] = []
            number = row_cells[0].row if row_cells else 0
            for cell in row_cells:
                value = cell.value
                text = "" if value is None else _xlsx_text(value)
                loc = f"工作表“{sheet.title}”{get_column_letter(cell.column)}{cell.row} 单元格"
                cells.append(Cell(text, loc, spanned=(cell.row, cell.column) in spanned))
            while cells and not cells[-1].text.strip():
                cells.pop()
            if cells:
                rows.append(Row(cells, f"工作表“{sheet.title}”第 {number} 行", grid=True))
            else:
                rows.append(Row([], f"工作表“{sheet.title}”第 {number} 行", grid=True))
    return iter(rows)


def _xlsx_text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return str(value)


# --------------------------------------------------------------------------
# cell normalisation


def clean(text: str) -> str:
    """Join lines broken inside a cell, drop stray quotes and squeeze spaces."""
    parts = [p.strip().strip('"“”').strip() for p in re.split(r"[\r\n\t]+", text)]
    parts = [p for p in parts if p]
    out = ""
    for part in parts:
        if out and _is_cjk(out[-1]) and _is_cjk(part[0]):
            out += part
        elif out:
            out += " " + part
        else:
            out = part
    return re.sub(r"[ \u3000\u00a0]{2,}", " ", out).strip()


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or char in "，。；：、（）！？“”"


def key(text: str) -> str:
    """Normalise a header or label for matching (width, spaces, colons)."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s:：*＊]", "", text)


# column synonyms for the indicator grid (checked in order)
COLUMNS: dict[str, tuple[str, ...]] = {
    "level1": ("一级指标",),
    "level2": ("二级指标",),
    "name": ("三级指标", "指标名称", "指标内容", "三级指标名称"),
    "description": ("绩效指标描述", "指标描述", "指标解释", "指标说明", "绩效标准", "指标内涵"),
    "target": (
        "年度指标值",
        "指标值(年度)",
        "年度目标值",
        "指标值",
        "目标值",
        "当年预期实现值",
        "预期目标值",
        "绩效指标值",
    ),
    "op": ("指标性质", "比较符", "运算符号"),
    "unit": ("度量单位", "计量单位", "单位"),
    "basis": ("指标值确定依据", "确定依据", "指标值设定依据", "依据"),
    "points": ("分值", "权重", "指标权重", "权重(%)"),
}
IGNORED_COLUMNS = ("备注", "指标方向性", "指标值类型", "评(扣)分标准", "评分标准", "序号", "指标值(长期)", "长期指标值")

PROJECT_KEYS = {
    "code": ("项目编码", "项目代码", "项目编号"),
    "name": ("项目名称",),
    "budget": ("预算数", "年度资金总额", "资金总额", "当年资金总额", "项目资金总额", "预算金额"),
    "fiscal": ("其中财政资金", "其中:财政资金", "财政资金", "其中当年财政拨款", "当年财政拨款", "财政拨款"),
    "other": ("其他资金",),
    "fund_header": ("预算规模及资金用途", "资金用途"),
    "plan": ("资金支出计划(%)", "资金支出计划"),
    "goal": ("绩效目标", "年度绩效目标", "年度目标", "项目年度目标", "总体目标"),
    "unit": ("单位名称", "预算单位", "实施单位", "项目执行单位"),
}
_ALL_KEYS = {key(k): name for name, keys in PROJECT_KEYS.items() for k in keys}
_UNIT_LINE_RE = re.compile(r"^(\d{6})\s*[-—]?\s*([^\d\s].{1,60})$")
_MONEY_UNIT_RE = re.compile(r"^(?:金额)?单位\s*[:：]\s*(万元|元)$")
_YEAR_RE = re.compile(r"(20\d{2})\s*年")


def _column_of(header: str) -> str | None:
    k = key(header)
    for name, synonyms in COLUMNS.items():
        if any(k == key(s) for s in synonyms):
            return name
    for name, synonyms in COLUMNS.items():
        # "指标值(≥ ≤ =)" style headers with extra text
        if name in ("target", "description", "basis") and any(k.startswith(key(s)) for s in synonyms):
            if not any(k.startswith(key(i)) for i in IGNORED_COLUMNS):
                return name
    return None


def _header_map(texts: list[str]) -> dict[str, int] | None:
    mapping: dict[str, int] = {}
    for index, text in enumerate(texts):
        column = _column_of(text)
        if column and column not in mapping:
            mapping[column] = index
    if "name" in mapping and "target" in mapping:
        return mapping
    return None


def _number(text: str, *, what: str, cell: Cell, source: str, yuan: bool = False) -> Decimal:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace("万元", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise TableReadError(
            f"{what}“{text}”不是数字", source=source, location=cell.location
        ) from None
    if value < 0:
        raise TableReadError(f"{what}“{text}”不能为负数", source=source, location=cell.location)
    if yuan:
        value = value / 10000
    return value.quantize(Decimal("0.01"))


# --------------------------------------------------------------------------
# respondent groups

_GROUP_PATTERNS: list[tuple[RespondentGroup, re.Pattern[str]]] = [
    (RespondentGroup.VILLAGE_CADRES, re.compile(r"村干部|村组干部|村\(社区\)干部|村（社区）干部|两委|村民组长|党小组长")),
    (
        RespondentGroup.TOWNSHIP_CADRES,
        re.compile(r"镇干部|乡干部|机关干部|干部职工|机关工作人员|镇机关|自收自支人员|乡镇干部|镇村干部"),
    ),
    (RespondentGroup.VILLAGERS, re.compile(r"群众|村民|居民|农户|受益户|老百姓")),
]
_OTHER_GROUP_RE = re.compile(r"([\u4e00-\u9fff、]{1,12}?)(?:的)?满意")


def infer_group(text: str) -> tuple[RespondentGroup | None, str]:
    """The respondent group a text names, with the words that named it."""
    for group, pattern in _GROUP_PATTERNS:
        match = pattern.search(text)
        if match:
            return group, match.group(0)
    return None, ""


def _other_label(name: str) -> str:
    label = re.sub(r"满意度|满意率|满意|指标|\(.*?\)|（.*?）", "", name).strip()
    return label or name


def _group_for(name: str, description: str) -> tuple[RespondentGroup, str, str]:
    """Group from name and description; the description wins when they disagree."""
    name_group, name_word = infer_group(name)
    desc_group, desc_word = infer_group(description)
    conflict = ""
    if desc_group is not None:
        group, label = desc_group, desc_word
        if name_group is not None and name_group != desc_group:
            conflict = (
                f"指标名称“{name}”指向{name_group.label}，描述“{description}”指向"
                f"{desc_group.label}；已按描述设为{desc_group.label}，请确认。"
            )
    elif name_group is not None:
        group, label = name_group, name_word
    else:
        group, label = RespondentGroup.OTHER, _other_label(name)
    return group, label, conflict


# --------------------------------------------------------------------------
# interpretation


class _Builder:
    def __init__(self, rows: list[Row], source: str) -> None:
        self.rows = rows
        self.source = source
        self.projects: list[ParsedProject] = []
        self.project: ParsedProject | None = None
        self.columns: dict[str, int] | None = None
        self.width = 0
        self.level1 = ""
        self.level2 = ""
        self.unit_code = ""
        self.unit_name = ""
        self.unit_location = ""
        self.warnings: list[str] = []
        self.expect: str | None = None
        self.plan_labels: list[str] = []
        self.years: set[int] = set()
        self.money_unit = "万元"

    def error(self, message: str, location: str) -> TableReadError:
        return TableReadError(message, source=self.source, location=location)

    def warn(self, message: str, location: str) -> None:
        self.warnings.append(f"{self.source}：{location}：{message}")

    # -- projects

    def start_project(self, row: Row) -> ParsedProject:
        if self.project is not None:
            self.finish_project()
        self.project = ParsedProject(location=row.location)
        self.columns = None
        return self.project

    def finish_project(self) -> None:
        project = self.project
        if project is None:
            return
        self.project = None
        self.columns = None
        if not project.code:
            raise self.error(f"项目“{project.name or '（无名称）'}”缺少项目编码", project.location)
        if not project.name:
            raise self.error(f"项目 {project.code} 缺少项目名称", project.location)
        if project.budget_wan is None:
            raise self.error(f"项目 {project.code} {project.name} 缺少预算数", project.location)
        if not project.indicators:
            raise self.error(
                f"项目 {project.code} {project.name} 没有绩效指标行（需要含“三级指标”“指标值”表头的表格）",
                project.location,
            )
        if any(p.code == project.code for p in self.projects):
            raise self.error(f"项目编码 {project.code} 在文件中出现了两次", project.location)
        _attach_populations(project)
        self.projects.append(project)

    # -- rows

    def run(self) -> None:
        index = 0
        while index < len(self.rows):
            row = self.rows[index]
            consumed = self.handle(index, row)
            index += consumed
        self.finish_project()

    def handle(self, index: int, row: Row) -> int:
        texts = [clean(c.text) for c in row.cells]
        nonempty = [t for t in texts if t]
        if not nonempty:
            return 1
        for text in nonempty:
            for match in _YEAR_RE.finditer(text):
                if row.paragraph or "年度" in text:
                    self.years.add(int(match.group(1)))
        if row.paragraph:
            self.columns = None
            if not self._unit_line(nonempty, row) and self._keys_in(texts):
                self.project_row(row, texts)
            return 1
        header = _header_map(texts)
        if self.columns is not None and header is None and not self._keys_in(texts):
            return self.indicator_row(index, row)
        if header is not None:
            if self.project is None:
                raise self.error("指标表前没有项目编码和项目名称", row.location)
            self.columns = header
            self.width = len(texts)
            self.level1 = self.level2 = ""
            self.expect = None
            return 1
        if self._unit_line(nonempty, row):
            return 1
        self.project_row(row, texts)
        return 1

    def _unit_line(self, nonempty: list[str], row: Row) -> bool:
        """A unit line (929001某某镇人民政府本级), possibly beside 单位：万元."""
        unit_cells = [t for t in nonempty if _UNIT_LINE_RE.match(t) and "万元" not in t]
        rest = [t for t in nonempty if t not in unit_cells]
        if len(unit_cells) != 1 or not all(_MONEY_UNIT_RE.match(t) for t in rest):
            return False
        for text in rest:
            self.money_unit = _MONEY_UNIT_RE.match(text).group(1)  # type: ignore[union-attr]
        match = _UNIT_LINE_RE.match(unit_cells[0])
        assert match is not None
        self._set_unit(match.group(1), match.group(2).strip(), row.location)
        return True

    def _set_unit(self, code: str, name: str, location: str) -> None:
        if self.unit_code and (self.unit_code, self.unit_name) != (code, name):
            raise self.error(
                f"文件中出现了两个预算单位：{self.unit_code} {self.unit_name} 和 {code} {name}；"
                "请每个文件只放一个单位",
                location,
            )
        self.unit_code, self.unit_name, self.unit_location = code, name, location

    def _keys_in(self, texts: list[str]) -> set[str]:
        found = set()
        for text in texts:
            k = key(text.split(":")[0].split("：")[0]) if ("：" in text or ":" in text) else key(text)
            if k in _ALL_KEYS:
                found.add(_ALL_KEYS[k])
        return found

    def project_row(self, row: Row, texts: list[str]) -> None:
        cells = [c for c in row.cells if not c.spanned]
        values = [clean(c.text) for c in cells]
        pairs: list[tuple[str, str, Cell]] = []
        i = 0
        found_key = False
        while i < len(values):
            text = values[i]
            label, inline = text, None
            for sep in ("：", ":"):
                if sep in text and key(text.split(sep)[0]) in _ALL_KEYS:
                    label, inline = text.split(sep, 1)
                    break
            k = key(label)
            if k in _ALL_KEYS:
                found_key = True
                name = _ALL_KEYS[k]
                if inline is not None and inline.strip():
                    pairs.append((name, inline.strip(), cells[i]))
                    i += 1
                    continue
                j = i + 1
                while j < len(values) and not values[j]:
                    j += 1
                if j < len(values) and key(values[j]) not in _ALL_KEYS:
                    pairs.append((name, values[j], cells[j]))
                    i = j + 1
                    continue
                pairs.append((name, "", cells[i]))
            i += 1
        if not found_key:
            self.free_row(row, values)
            return
        self.expect = None
        for name, value, cell in pairs:
            self.apply_key(name, value, cell, row, values)

    def apply_key(self, name: str, value: str, cell: Cell, row: Row, values: list[str]) -> None:
        if name == "unit":
            match = re.match(r"^(\d{3,})\s*[-—]?\s*(.+)$", value)
            if match:
                self._set_unit(match.group(1), match.group(2).strip(), cell.location)
            return
        if name in ("code", "name"):
            project = self.project
            if project is None or getattr(project, name) or project.indicators:
                project = self.start_project(row)
            if not value:
                raise self.error(f"{'项目编码' if name == 'code' else '项目名称'}为空", cell.location)
            setattr(project, name, value)
            return
        project = self.project
        if project is None:
            project = self.start_project(row)
        if name == "budget":
            if value:
                project.budget_wan = _number(value, what="预算数", cell=cell, source=self.source, yuan=self.money_unit == "元")
            self.expect = "fund_use"
        elif name == "fiscal":
            if value:
                project.fiscal_wan = _number(value, what="财政资金", cell=cell, source=self.source, yuan=self.money_unit == "元")
        elif name == "other":
            if value:
                project.other_wan = _number(value, what="其他资金", cell=cell, source=self.source, yuan=self.money_unit == "元")
        elif name == "fund_header":
            self.expect = "fund_use"
            if value and project.budget_wan is None and not _looks_numeric(value):
                project.fund_use = value
        elif name == "plan":
            start = values.index(next(v for v in values if key(v).startswith("资金支出计划")))
            self.plan_labels = [v for v in values[start + 1 :] if v]
            self.expect = "plan"
        elif name == "goal":
            if value:
                project.goal = value
            else:
                self.expect = "goal"

    def free_row(self, row: Row, values: list[str]) -> None:
        """A row without keys: the continuation of the previous key row."""
        project = self.project
        texts = [v for v in values if v]
        if project is None or self.expect is None:
            return
        if self.expect == "fund_use":
            project.fund_use = " ".join(texts)
        elif self.expect == "plan":
            percents = [t for t in texts if re.fullmatch(r"\d+(\.\d+)?\s*[%％]?", t)]
            labels = self.plan_labels or [f"第{i + 1}期" for i in range(len(percents))]
            if len(percents) != len(labels):
                raise self.error(
                    f"资金支出计划有 {len(labels)} 个时间点，但有 {len(percents)} 个百分比", row.location
                )
            project.spending_plan = [
                {"label": label, "percent": float(p.rstrip("%％"))} for label, p in zip(labels, percents, strict=True)
            ]
        elif self.expect == "goal":
            project.goal = " ".join(texts)
        self.expect = None

    # -- indicator rows

    def indicator_row(self, index: int, row: Row) -> int:
        assert self.columns is not None and self.project is not None
        cells = [c for c in row.cells]
        consumed = 1
        # drop stray trailing cells that hold nothing
        while len(cells) > self.width and not clean(cells[-1].text):
            cells.pop()
        if row.grid:
            # fixed grid: missing cells are empty trailing cells
            cells += [Cell("", row.location) for _ in range(self.width - len(cells))]
        if len(cells) < self.width and index + 1 < len(self.rows):
            nxt = self.rows[index + 1]
            if not nxt.paragraph and len(cells) + len(nxt.cells) == self.width:
                # a row broken in two by a stray line break (the seed's 社会效益 row)
                cells = cells + nxt.cells
                consumed = 2
        if len(cells) < self.width:
            # merged level cells collapsed leftwards: the missing cells are the leading ones
            missing = self.width - len(cells)
            cells = [Cell("", row.location) for _ in range(missing)] + cells
        if len(cells) > self.width:
            raise self.error(
                f"该行有 {len(cells)} 个单元格，但表头只有 {self.width} 列", row.location
            )
        texts = [clean(c.text) for c in cells]
        cols = self.columns

        def get(name: str) -> str:
            return texts[cols[name]] if name in cols else ""

        def cell(name: str) -> Cell:
            return cells[cols[name]] if name in cols else cells[0]

        level1, level2, name = get("level1"), get("level2"), get("name")
        if level1:
            if level1 != self.level1:
                self.level2 = ""
            self.level1 = level1
        if level2:
            self.level2 = level2
        target_text = get("target")
        if not name and not target_text:
            return consumed  # an empty template row (e.g. 经济效益指标 with no indicator)
        if not name:
            raise self.error("三级指标（指标名称）为空", cell("name").location)
        if not self.level1:
            raise self.error(f"指标“{name}”没有一级指标", cell("level1").location)
        description = get("description")
        is_satisfaction = any("满意" in t for t in (self.level2, name, description))
        target: Target | None
        op_text, unit_text = get("op"), get("unit")
        try:
            if op_text or unit_text:
                unit_add = unit_text if unit_text and not target_text.endswith(unit_text) else ""
                if unit_text and re.search(r"[\u4e00-\u9fff%％]$", target_text) and not target_text.endswith(unit_text):
                    self.warn(
                        f"指标“{name}”的指标值“{target_text}”与计量单位“{unit_text}”不一致，按指标值中的单位读取",
                        cell("unit").location,
                    )
                    unit_add = ""
                target = parse_target(op_text, target_text, unit_add)
            else:
                target = parse_target(target_text)
        except TargetParseError as exc:
            if is_satisfaction:
                raise self.error(f"满意度指标“{name}”的指标值无法识别：{exc}", cell("target").location) from None
            self.warn(f"指标“{name}”的指标值无法识别，已按原文保存：{exc}", cell("target").location)
            target = None
        if is_satisfaction and (target is None or target.kind != "quantity" or target.value is None):
            raise self.error(
                f"满意度指标“{name}”的指标值“{target_text}”不是数值目标（如 ≥95%）",
                cell("target").location,
            )
        points = None
        if get("points"):
            try:
                points = float(get("points").rstrip("%％分"))
            except ValueError:
                raise self.error(f"分值“{get('points')}”不是数字", cell("points").location) from None
        group, label, conflict = (None, "", "")
        if is_satisfaction:
            group, label, conflict = _group_for(name, description)
        raw = "".join(t for t in (op_text, target_text, unit_text if op_text or unit_text else "") if t)
        self.project.indicators.append(
            ParsedIndicator(
                position=len(self.project.indicators) + 1,
                level1=self.level1,
                level2=self.level2,
                name=name,
                description=description,
                target_raw=raw if (op_text or unit_text) else target_text,
                target=target,
                basis=get("basis"),
                points=points,
                is_satisfaction=is_satisfaction,
                respondent_group=group,
                respondent_label=label,
                group_conflict=conflict,
                location=row.location,
            )
        )
        return consumed


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[\d.,\s万元]+", text))


_PERSON_WORDS = {
    RespondentGroup.VILLAGE_CADRES: re.compile(r"村干部|村组干部|两委"),
    RespondentGroup.TOWNSHIP_CADRES: re.compile(r"干部|人员|职工|工作人员"),
    RespondentGroup.VILLAGERS: re.compile(r"村民|群众|居民|农户|人口"),
    RespondentGroup.OTHER: re.compile(r".+"),
}


def _attach_populations(project: ParsedProject) -> None:
    """Known populations from the project's quantity rows (197人, 31人, 34个村)."""
    counts = [
        i
        for i in project.indicators
        if not i.is_satisfaction
        and i.target is not None
        and i.target.kind == "quantity"
        and i.target.value is not None
        and float(i.target.value).is_integer()
        and i.target.op in ("=", ">=")
    ]
    persons = [i for i in counts if i.target.unit in ("人", "名")]  # type: ignore[union-attr]
    villages = [
        i for i in counts if i.target.unit in ("个", "村") and "村" in (i.name + i.description)  # type: ignore[union-attr]
    ]
    for indicator in project.indicators:
        if not indicator.is_satisfaction or indicator.respondent_group is None:
            continue
        group = indicator.respondent_group
        pattern = _PERSON_WORDS[group]
        matches = [p for p in persons if pattern.search(p.name + p.description)]
        if len(matches) != 1 and group != RespondentGroup.VILLAGERS and len(persons) == 1:
            matches = persons
        if len(matches) == 1:
            source = matches[0]
            indicator.population = int(source.target.value)  # type: ignore[union-attr,arg-type]
            indicator.population_unit = "人"
            indicator.population_source = f"表中“{source.name}”：{source.target_raw}（{source.location}）"
        elif group == RespondentGroup.VILLAGERS and len(villages) == 1:
            source = villages[0]
            indicator.population = int(source.target.value)  # type: ignore[union-attr,arg-type]
            indicator.population_unit = "村"
            indicator.population_source = f"表中“{source.name}”：{source.target_raw}（{source.location}）"


def interpret(
    rows: Iterable[Row],
    source: str,
    *,
    unit_code: str | None = None,
    unit_name: str | None = None,
) -> ParsedTable:
    """Turn a row stream into projects and indicators, or raise :class:`TableReadError`."""
    builder = _Builder(list(rows), source)
    builder.run()
    if not builder.projects:
        raise TableReadError(
            "文件中没有找到绩效目标表（需要项目编码、项目名称，以及含“三级指标”和“指标值”表头的指标表）",
            source=source,
        )
    code = unit_code or builder.unit_code
    name = unit_name or builder.unit_name
    if not code:
        raise TableReadError(
            "文件中没有找到预算单位（如“929001某某镇人民政府”），请指定单位编码", source=source
        )
    if not name:
        name = code
    year = next(iter(builder.years)) if len(builder.years) == 1 else None
    return ParsedTable(source, code, name, builder.projects, builder.warnings, year)
