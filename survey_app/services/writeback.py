"""Write results back onto indicators, and build the year-end self-evaluation table (绩效自评表).

The table follows 财预〔2020〕10号 附件1 (see ``docs/decisions.md``): a header block,
the budget block (年初预算数 | 全年预算数 | 全年执行数 | 分值 | 执行率 | 得分), and per
indicator 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差原因分析及改进措施. Satisfaction rows
take their actual value from the latest written-back measurement, with a footnote
stating n, the population, the method and the interval. Scores follow
:func:`analysis.score_indicator`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import TargetParseError, score_indicator
from survey_app.models import Indicator, IndicatorActual, Measurement, Project, Questionnaire, SelfEvaluation
from survey_app.services import audit_log, sampling
from survey_app.services.results import CONFIDENCE, IndicatorResult, compute

DEFAULT_WEIGHTS = {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0, "预算执行率": 10.0}
MET_PHRASES = ("达成年度指标", "达成预期指标", "已完成", "完成", "是", "达到")


class WritebackError(ValueError):
    """A write-back that cannot be made; the message is for staff."""


def writeback(session: Session, indicator: Indicator, *, actor: str) -> Measurement:
    """Store the current result on the indicator as a new dated record (history kept)."""
    questionnaire = session.scalar(select(Questionnaire).where(Questionnaire.indicator_id == indicator.id))
    if questionnaire is None:
        raise WritebackError(f"“{indicator.name}”还没有问卷。")
    result = compute(session, questionnaire)
    if result.value is None:
        raise WritebackError(f"“{indicator.name}”还没有有效答卷，不能写回。")
    return _store(session, result, actor)


def _store(session: Session, result: IndicatorResult, actor: str) -> Measurement:
    v = result.verdict
    measurement = Measurement(
        indicator_id=result.indicator.id,
        actual_value=result.actual_value,
        value=result.value,
        lower=result.lower,
        upper=result.upper,
        bound=result.bound if result.bound is not None else result.lower,
        n=result.valid_n,
        excluded=result.excluded + result.dont_know,
        population=result.population,
        design=result.design,
        method=f"{result.display_method}; verdict: {v.method if v else 'none'}",
        confidence=CONFIDENCE,
        verdict=v.verdict if v else "none",
        versions=result.versions,
        details={**result.as_dict(),
                 "sampling": sampling.design_assessment(session, result.questionnaire, result).as_dict()},
        created_by=actor,
    )
    session.add(measurement)
    session.flush()
    audit_log.record(session, actor=actor, action="writeback", obj=result.indicator,
                     actual_value=measurement.actual_value, verdict=measurement.verdict, n=measurement.n)
    return measurement


def writeback_project(session: Session, project: Project, *, actor: str) -> list[Measurement]:
    stored = []
    for indicator in project.indicators:
        if not indicator.is_satisfaction:
            continue
        try:
            stored.append(writeback(session, indicator, actor=actor))
        except WritebackError:
            continue
    return stored


def latest_measurement(session: Session, indicator: Indicator) -> Measurement | None:
    return session.scalar(select(Measurement).where(Measurement.indicator_id == indicator.id)
                          .order_by(Measurement.id.desc()).limit(1))


def footnote(m: Measurement) -> str:
    """n, population, method and interval in one sentence, for the table's footnote."""
    population = f"总体 {m.population} 人" if m.population else "总体人数未知"
    scale, unit = (100, "%") if m.actual_value.endswith("%") else (1, "分")
    verdict = {"supported": "达标有统计支持", "contradicted": "未达标", "inconclusive": "尚无定论",
               "none": "未判定"}[m.verdict]
    return (f"问卷调查，有效答卷 n={m.n}，{population}，{m.details.get('design_label', m.design)}；"
            f"{int(m.confidence * 100)}% 区间 [{m.lower * scale:.1f}{unit}, {m.upper * scale:.1f}{unit}]，"
            f"单侧下限 {m.bound * scale:.1f}{unit}（{m.method}）；结论：{verdict}；"
            f"问卷版本 {','.join(str(x) for x in m.versions)}；{m.created_at:%Y-%m-%d} 写回。"
            + sampling.design_footnote(m.details))


# -- self-evaluation table ------------------------------------------------------------------


@dataclass
class EvalRow:
    indicator: Indicator
    level1: str
    level2: str
    name: str
    target: str
    actual: str
    points: float
    score: float | None
    deviation: str
    note: str = ""


@dataclass
class EvalTable:
    project: Project
    year: int
    initial_budget: Decimal | None
    full_year_budget: Decimal | None
    executed: Decimal | None
    execution_rate: float | None
    budget_points: float
    budget_score: float | None
    outcome: str
    rows: list[EvalRow] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float | None:
        parts = [r.score for r in self.rows] + [self.budget_score]
        return None if any(p is None for p in parts) else round(sum(parts), 2)  # type: ignore[arg-type]

    @property
    def total_points(self) -> float:
        return round(sum(r.points for r in self.rows) + self.budget_points, 2)

    @property
    def incomplete(self) -> list[str]:
        missing = [f"{r.name}（得分）" for r in self.rows if r.score is None]
        if self.budget_score is None:
            missing.append("全年执行数")
        return missing


def evaluation_entries(session: Session, project: Project) -> tuple[SelfEvaluation, dict[int, IndicatorActual]]:
    entry = session.scalar(select(SelfEvaluation).where(SelfEvaluation.project_id == project.id))
    if entry is None:
        entry = SelfEvaluation(project=project, initial_budget_wan=project.budget_wan,
                               full_year_budget_wan=project.budget_wan, weights=dict(DEFAULT_WEIGHTS))
    actuals = {a.indicator_id: a for a in session.scalars(
        select(IndicatorActual).where(IndicatorActual.indicator_id.in_([i.id for i in project.indicators])))}
    return entry, actuals


def _allocate(project: Project, weights: dict[str, Any]) -> dict[int, float]:
    """Points per indicator: the table's own 分值 when given, else the level weight split evenly."""
    if all(i.points is not None for i in project.indicators):
        return {i.id: float(i.points) for i in project.indicators}  # type: ignore[arg-type]
    by_level: dict[str, list[Indicator]] = {}
    for indicator in project.indicators:
        by_level.setdefault(indicator.level1, []).append(indicator)
    points: dict[int, float] = {}
    for level, indicators in by_level.items():
        key = next((k for k in weights if k != "预算执行率" and k[:2] == level[:2]), None)
        total = float(weights.get(key, 0.0)) if key else 0.0
        share = round(total / len(indicators), 2)
        for n, indicator in enumerate(indicators):
            points[indicator.id] = share if n < len(indicators) - 1 else round(total - share * (len(indicators) - 1), 2)
    return points


def build_table(session: Session, project: Project) -> EvalTable:
    entry, actuals = evaluation_entries(session, project)
    weights = {**DEFAULT_WEIGHTS, **(entry.weights or {})}
    points = _allocate(project, weights)
    rate = None
    budget_score = None
    budget_points = float(weights["预算执行率"])
    if entry.executed_wan is not None and entry.full_year_budget_wan:
        rate = float(entry.executed_wan) / float(entry.full_year_budget_wan)
        budget_score = round(min(rate, 1.0) * budget_points, 2)
    table = EvalTable(project, project.year, entry.initial_budget_wan, entry.full_year_budget_wan,
                      entry.executed_wan, rate, budget_points, budget_score, entry.outcome)
    for indicator in project.indicators:
        row = EvalRow(indicator, indicator.level1, indicator.level2, indicator.name, indicator.target_raw, "",
                      points[indicator.id], None, "")
        staff = actuals.get(indicator.id)
        if indicator.is_satisfaction:
            m = latest_measurement(session, indicator)
            if m is not None:
                row.actual = m.actual_value
                mark = "①②③④⑤⑥⑦⑧⑨⑩"[min(len(table.footnotes), 9)]
                table.footnotes.append(f"{mark} {indicator.name}：{footnote(m)}")
                row.note = mark
                if m.verdict == "inconclusive" or (staff is None or not staff.deviation):
                    row.deviation = _auto_deviation(m, indicator)
        if staff is not None:
            row.actual = staff.actual or row.actual
            row.deviation = staff.deviation or row.deviation
        row.score = _score(indicator, row.actual, row.points, staff)
        table.rows.append(row)
    return table


def _auto_deviation(m: Measurement, indicator: Indicator) -> str:
    if m.verdict == "supported":
        return ""
    scale = 100 if "%" in m.actual_value else 1
    return (f"问卷调查满意度 {m.actual_value}，{int(m.confidence * 100)}% 单侧下限 {m.bound * scale:.1f}"
            f"{'%' if scale == 100 else '分'}，样本 {m.n} 份，"
            + ("尚不能证明达到目标，建议扩大调查样本。" if m.verdict == "inconclusive"
               else "低于目标，需分析原因并改进。"))


def _score(indicator: Indicator, actual: str, points: float, staff: IndicatorActual | None) -> float | None:
    if staff is not None and staff.score is not None:
        return min(float(staff.score), points)
    if not actual:
        return None
    if indicator.target_kind == "quantity":
        try:
            return score_indicator(indicator.target, actual, points).score  # type: ignore[arg-type]
        except (ValueError, TargetParseError):
            return None
    if actual.strip() in MET_PHRASES:
        return points
    return None


def save_entries(session: Session, project: Project, *, actor: str, initial: Decimal | None,
                 full_year: Decimal | None, executed: Decimal | None, outcome: str,
                 weights: dict[str, float], actuals: dict[int, tuple[str, float | None, str]]) -> None:
    """Store the staff-entered parts of the self-evaluation (flush only)."""
    if sum(weights.values()) <= 0:
        raise WritebackError("权重之和必须大于 0。")
    entry, existing = evaluation_entries(session, project)
    if entry.id is None:
        session.add(entry)
    entry.initial_budget_wan, entry.full_year_budget_wan, entry.executed_wan = initial, full_year, executed
    entry.outcome, entry.weights, entry.updated_by = outcome, weights, actor
    for indicator in project.indicators:
        if indicator.id not in actuals:
            continue
        actual, score, deviation = actuals[indicator.id]
        record = existing.get(indicator.id) or IndicatorActual(indicator_id=indicator.id)
        if record.id is None:
            session.add(record)
        record.actual, record.score, record.deviation, record.updated_by = actual, score, deviation, actor
    session.flush()
    audit_log.record(session, actor=actor, action="edit_self_evaluation", obj=project,
                     executed=str(executed) if executed is not None else None, weights=weights)


# -- exports -------------------------------------------------------------------------------

TITLE = "项目支出绩效自评表（{year}年度）"
HEAD = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
FONT = "宋体"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _wan(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _fill_sheet(ws, table: EvalTable) -> None:  # type: ignore[no-untyped-def]
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    left = Alignment(wrap_text=True, vertical="center", horizontal="left")
    project = table.project
    ws.merge_cells("A1:H1")
    ws["A1"] = TITLE.format(year=table.year)
    ws["A1"].font = Font(name=FONT, size=16, bold=True)
    ws["A1"].alignment = wrap
    rows: list[list[Any]] = [
        ["项目名称", project.name, None, None, "项目编码", project.code, None, None],
        ["主管部门", project.unit.name, None, None, "实施单位", project.unit.name, None, None],
        ["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分", None],
        ["年度资金总额", _wan(table.initial_budget), _wan(table.full_year_budget), _wan(table.executed),
         _fmt(table.budget_points),
         "" if table.execution_rate is None else f"{table.execution_rate * 100:.2f}%", _fmt(table.budget_score), None],
        ["年度总体目标", project.goal, None, None, "实际完成情况", table.outcome, None, None],
        HEAD,
    ]
    start = 2
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(start + offset, col, value)
    for r in (2, 3, 6):
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=4)
        ws.merge_cells(start_row=r, start_column=6, end_row=r, end_column=8)
    ws.merge_cells(start_row=4, start_column=7, end_row=4, end_column=8)
    ws.merge_cells(start_row=5, start_column=7, end_row=5, end_column=8)
    first = start + len(rows)
    for n, row in enumerate(table.rows):
        r = first + n
        values = [row.level1, row.level2, row.name + (row.note or ""), row.target, row.actual, row.points,
                  row.score if row.score is not None else "待评分", row.deviation]
        for col, value in enumerate(values, start=1):
            ws.cell(r, col, value)
    for column, top, bottom in _level_runs(table):
        ws.merge_cells(start_row=first + top, start_column=column + 1, end_row=first + bottom, end_column=column + 1)
    total_row = first + len(table.rows)
    ws.cell(total_row, 1, "总分")
    ws.merge_cells(start_row=total_row, start_column=1, end_row=total_row, end_column=5)
    ws.cell(total_row, 6, table.total_points)
    ws.cell(total_row, 7, table.total if table.total is not None else "待评分")
    last = total_row
    for note in table.footnotes:
        last += 1
        ws.cell(last, 1, note)
        ws.merge_cells(start_row=last, start_column=1, end_row=last, end_column=8)
        ws.cell(last, 1).alignment = left
    for row_cells in ws.iter_rows(min_row=2, max_row=total_row, max_col=8):
        for cell in row_cells:
            cell.border = border
            cell.alignment = wrap
            cell.font = Font(name=FONT, size=10, bold=cell.row in (4, 7) or cell.row == total_row)
    for note_row in range(total_row + 1, last + 1):
        ws.cell(note_row, 1).font = Font(name=FONT, size=9)
    for col, width in enumerate((12, 16, 26, 14, 14, 8, 8, 34), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "7:7"


def _level_runs(table: EvalTable) -> list[tuple[int, int, int]]:
    """(column, first row, last row) of each run of equal level-1 / level-2 cells, to merge.

    Row numbers count from 0 within the indicator rows; level 2 runs never cross a level 1 change.
    """
    runs = []
    for column, keys in ((0, [r.level1 for r in table.rows]), (1, [r.level1 + "|" + r.level2 for r in table.rows])):
        start = 0
        for i in range(1, len(keys) + 1):
            if i == len(keys) or keys[i] != keys[start]:
                if i - start > 1:
                    runs.append((column, start, i - 1))
                start = i
    return runs


def export_xlsx(tables: list[EvalTable]) -> bytes:
    """One sheet per project (a whole-unit workbook when several are given)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for table in tables:
        name = "".join(ch for ch in table.project.name if ch not in "[]:*?/\\")[:28] or "项目"
        base, n = name, 2
        while name in used:
            name, n = f"{base}{n}", n + 1
        used.add(name)
        _fill_sheet(workbook.create_sheet(name), table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_docx(table: EvalTable) -> bytes:
    """The self-evaluation table of one project as a Word document (A4, 宋体)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height, section.orientation = Mm(210), Mm(297), WD_ORIENT.PORTRAIT
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    title = document.add_paragraph(TITLE.format(year=table.year))
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.runs[0].font.size = Pt(16)
    title.runs[0].bold = True
    project = table.project
    n_rows = 6 + len(table.rows) + 1
    grid = document.add_table(rows=n_rows, cols=8)
    grid.style = "Table Grid"

    def put(r: int, c: int, text: Any, c2: int | None = None) -> None:
        cell = grid.cell(r, c)
        if c2 is not None and c2 != c:
            cell = cell.merge(grid.cell(r, c2))
        cell.text = "" if text is None else str(text)

    put(0, 0, "项目名称"), put(0, 1, project.name, 3), put(0, 4, "项目编码"), put(0, 5, project.code, 7)
    put(1, 0, "主管部门"), put(1, 1, project.unit.name, 3), put(1, 4, "实施单位"), put(1, 5, project.unit.name, 7)
    for c, text in enumerate(["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率"]):
        put(2, c, text)
    put(2, 6, "得分", 7)
    put(3, 0, "年度资金总额"), put(3, 1, _wan(table.initial_budget)), put(3, 2, _wan(table.full_year_budget))
    put(3, 3, _wan(table.executed)), put(3, 4, _fmt(table.budget_points))
    put(3, 5, "" if table.execution_rate is None else f"{table.execution_rate * 100:.2f}%")
    put(3, 6, _fmt(table.budget_score), 7)
    put(4, 0, "年度总体目标"), put(4, 1, project.goal, 3), put(4, 4, "实际完成情况"), put(4, 5, table.outcome, 7)
    for c, text in enumerate(HEAD):
        put(5, c, text)
    for n, row in enumerate(table.rows):
        r = 6 + n
        values = [row.level1, row.level2, row.name + (row.note or ""), row.target, row.actual, _fmt(row.points),
                  _fmt(row.score) if row.score is not None else "待评分", row.deviation]
        for c, value in enumerate(values):
            put(r, c, value)
    for column, top, bottom in _level_runs(table):
        text = grid.cell(6 + top, column).text
        grid.cell(6 + top, column).merge(grid.cell(6 + bottom, column)).text = text
    last = n_rows - 1
    put(last, 0, "总分", 4)
    put(last, 5, _fmt(table.total_points))
    put(last, 6, _fmt(table.total) if table.total is not None else "待评分", 7)
    for note in table.footnotes:
        p = document.add_paragraph(note)
        p.runs[0].font.size = Pt(9)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
