"""Import target tables into the database: plan the change, then apply it.

:func:`plan_import` compares a :class:`~survey_app.importer.ParsedTable`
with what is stored and lists every change; :func:`apply_import` writes it.
Re-importing the same table yields an empty plan ("nothing changed"). A staff
edit of an indicator's population is kept across re-imports.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.importer import ParsedIndicator, ParsedProject, ParsedTable, ReadOptions, TableReadError, read_table
from survey_app.models import Indicator, Project, Questionnaire, Unit
from survey_app.services import audit_log

logger = logging.getLogger(__name__)

PROJECT_FIELDS = ("name", "budget_wan", "fiscal_wan", "other_wan", "fund_use", "goal", "spending_plan")
PROJECT_LABELS = {
    "name": "项目名称",
    "budget_wan": "预算数",
    "fiscal_wan": "财政资金",
    "other_wan": "其他资金",
    "fund_use": "资金用途",
    "goal": "绩效目标",
    "spending_plan": "资金支出计划",
}
INDICATOR_FIELDS = (
    "level1",
    "level2",
    "name",
    "description",
    "target_raw",
    "target_op",
    "target_value",
    "target_unit",
    "target_kind",
    "basis",
    "points",
    "is_satisfaction",
    "respondent_group",
    "respondent_label",
    "group_conflict",
    "population",
    "population_unit",
    "population_source",
)
INDICATOR_LABELS = {
    "level1": "一级指标",
    "level2": "二级指标",
    "name": "三级指标",
    "description": "指标描述",
    "target_raw": "指标值",
    "basis": "指标值确定依据",
    "points": "分值",
    "is_satisfaction": "满意度指标",
    "respondent_group": "调查对象",
    "population": "调查对象总数",
}


@dataclass
class ImportPlan:
    """What an import would change."""

    table: ParsedTable
    year: int
    unit_exists: bool = False
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.changes or not self.unit_exists)

    @property
    def status(self) -> str:
        if not self.changed:
            return "unchanged"
        if not self.changes and not self.unchanged:
            return "created"
        return "updated"

    def summary(self) -> str:
        if not self.changed:
            return "表格与已导入的内容完全相同，没有任何改动。"
        parts = []
        if self.new_units:
            parts.append(f"新增单位 {len(self.new_units)} 个")
        if self.created:
            parts.append(f"新增项目 {len(self.created)} 个")
        if self.changes:
            parts.append(f"更改 {len(self.changes)} 处")
        if self.unchanged:
            parts.append(f"未变项目 {len(self.unchanged)} 个")
        return "；".join(parts) + "。"


def _indicator_values(p: ParsedIndicator) -> dict[str, Any]:
    target = p.target
    return {
        "level1": p.level1,
        "level2": p.level2,
        "name": p.name,
        "description": p.description,
        "target_raw": p.target_raw,
        "target_op": target.op if target else None,
        "target_value": target.value if target else None,
        "target_unit": target.unit if target else None,
        "target_kind": target.kind if target else None,
        "basis": p.basis,
        "points": p.points,
        "is_satisfaction": p.is_satisfaction,
        "respondent_group": p.respondent_group,
        "respondent_label": p.respondent_label,
        "group_conflict": p.group_conflict,
        "population": p.population,
        "population_unit": p.population_unit,
        "population_source": p.population_source,
    }


def _project_values(p: ParsedProject) -> dict[str, Any]:
    return {
        "name": p.name,
        "budget_wan": p.budget_wan,
        "fiscal_wan": p.fiscal_wan,
        "other_wan": p.other_wan,
        "fund_use": p.fund_use,
        "goal": p.goal,
        "spending_plan": p.spending_plan,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        if a is None or b is None:
            return a is b
        return Decimal(a) == Decimal(b)
    return a == b


def _show(value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _kept_by_staff(stored: Indicator, field_name: str) -> bool:
    """Staff edits of population and group survive a re-import."""
    if field_name in ("population", "population_unit", "population_source"):
        return stored.population_source == "staff"
    if field_name in ("respondent_group", "group_conflict", "respondent_label"):
        return stored.group_confirmed
    return False


def _unit_of(session: Session, code: str, name: str) -> Unit | None:
    """The stored unit of a parsed (code, name); a unit the file names without a code is found by name."""
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None and code.startswith("AUTO-"):
        unit = session.scalar(select(Unit).where(Unit.name == name).order_by(Unit.id).limit(1))
    return unit


def stored_units(session: Session, table: ParsedTable) -> list[tuple[str, Unit | None]]:
    """Each unit code of ``table`` with its stored unit (None: importing creates it)."""
    return [(code, _unit_of(session, code, name)) for code, name in table.units]


def _stored_projects(session: Session, unit_ids: list[int]) -> dict[tuple[int, str, int], Project]:
    """Every stored project of the given units by (unit id, code, year), in one query per 500 units
    (instead of one query per parsed project: a county workbook has thousands)."""
    found: dict[tuple[int, str, int], Project] = {}
    ids = sorted(set(unit_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for project in session.scalars(select(Project).where(Project.unit_id.in_(chunk))):
            found[(project.unit_id, project.code, project.year)] = project
    return found


def plan_import(session: Session, table: ParsedTable, *, year: int | None = None) -> ImportPlan:
    """Compare ``table`` with the database and list what an import changes."""
    year = year or table.year or dt.date.today().year
    plan = ImportPlan(table=table, year=year)
    plan.unit_exists = True
    units: dict[str, Unit | None] = {}
    for code, name in table.units:
        unit = _unit_of(session, code, name)
        units[code] = unit
        if unit is None:
            plan.unit_exists = False
            plan.new_units.append(f"{name}（{code}）" if not code.startswith("AUTO-") else name)
        elif unit.name != name:
            plan.changes.append(f"单位 {unit.code} 名称：{unit.name} → {name}")
    known = _stored_projects(session, [u.id for u in units.values() if u is not None])
    for parsed in table.projects:
        project_year = parsed.year or year
        label = f"{'' if parsed.code_generated else parsed.code + ' '}{parsed.name}"
        unit = units.get(parsed.unit_code)
        stored = None
        if unit is not None:
            stored = known.get((unit.id, parsed.code, project_year))
        if stored is None:
            plan.created.append(f"{label}（{len(parsed.indicators)} 个指标）")
            continue
        before = len(plan.changes)
        for name, value in _project_values(parsed).items():
            if not _same(getattr(stored, name), value):
                plan.changes.append(
                    f"项目 {label} {PROJECT_LABELS[name]}：{_show(getattr(stored, name))} → {_show(value)}"
                )
        existing = {i.position: i for i in stored.indicators}
        for p in parsed.indicators:
            current = existing.pop(p.position, None)
            if current is None:
                plan.changes.append(f"项目 {label} 新增指标 {p.position}：{p.name}")
                continue
            for name, value in _indicator_values(p).items():
                if _kept_by_staff(current, name):
                    continue
                if not _same(getattr(current, name), value) and name in INDICATOR_LABELS:
                    plan.changes.append(
                        f"项目 {label} 指标 {p.position}（{p.name}）{INDICATOR_LABELS[name]}："
                        f"{_show(getattr(current, name))} → {_show(value)}"
                    )
        for position, gone in sorted(existing.items()):
            if session.scalar(select(Questionnaire.id).where(Questionnaire.indicator_id == gone.id)) is not None:
                raise TableReadError(
                    f"项目 {label} 的指标 {position}（{gone.name}）已有问卷，重新导入时不能删除它。"
                    "请在表中保留这一行（可以修改文字），或先与管理员确认。",
                    source=table.source,
                )
            plan.changes.append(f"项目 {label} 删除指标 {position}：{gone.name}")
        if len(plan.changes) == before:
            plan.unchanged.append(label)
    return plan


def apply_import(session: Session, plan: ImportPlan, *, actor: str, user_id: int | None = None) -> Unit:
    """Write ``plan`` to the database (flush only; the caller commits)."""
    table = plan.table
    units: dict[str, Unit] = {}
    for code, name in table.units:
        unit = _unit_of(session, code, name)
        if unit is None:
            unit = Unit(code=code, name=name)
            session.add(unit)
            session.flush()
        unit.name = name
        units[code] = unit
    unit = units[table.units[0][0]]
    known = _stored_projects(session, [u.id for u in units.values()])
    for parsed in table.projects:
        owner = units[parsed.unit_code]
        project_year = parsed.year or plan.year
        project = known.get((owner.id, parsed.code, project_year))
        if project is None:
            project = Project(unit=owner, code=parsed.code, year=project_year, indicators=[])
            session.add(project)
            known[(owner.id, parsed.code, project_year)] = project
        for name, value in _project_values(parsed).items():
            if not _same(getattr(project, name, None), value):
                setattr(project, name, value)
        if project.source != table.source and plan.changed:
            project.source = table.source
        existing = {i.position: i for i in project.indicators}
        for p in parsed.indicators:
            indicator = existing.pop(p.position, None)
            if indicator is None:
                indicator = Indicator(position=p.position)
                project.indicators.append(indicator)
            for name, value in _indicator_values(p).items():
                if indicator.id is not None and _kept_by_staff(indicator, name):
                    continue
                if not _same(getattr(indicator, name, None), value):
                    setattr(indicator, name, value)
        for gone in existing.values():
            project.indicators.remove(gone)
    session.flush()
    if plan.changed:
        audit_log.record(
            session,
            actor=actor,
            user_id=user_id,
            action="import_table",
            obj=unit,
            source=table.source,
            year=plan.year,
            units=[code for code, _ in table.units],
            created=plan.created,
            changes=plan.changes[:200],
            warnings=table.warnings[:50],
        )
        logger.info("%s imported by %s: %s", table.source, actor, plan.summary())
    return unit


def import_file(
    session: Session,
    data: bytes,
    filename: str,
    *,
    actor: str,
    user_id: int | None = None,
    unit_code: str | None = None,
    unit_name: str | None = None,
    year: int | None = None,
    dry_run: bool = False,
    options: ReadOptions | None = None,
) -> ImportPlan:
    """Read, plan and (unless ``dry_run``) apply an import of one file."""
    table = read_table(data, filename, unit_code=unit_code, unit_name=unit_name, options=options)
    plan = plan_import(session, table, year=year)
    if not dry_run and plan.changed:
        apply_import(session, plan, actor=actor, user_id=user_id)
    return plan


def project_dict(project: Project) -> dict[str, Any]:
    """The documented JSON shape of a project (``survey-app projects --json``)."""
    return {
        "code": project.code,
        "name": project.name,
        "unit_code": project.unit.code,
        "unit_name": project.unit.name,
        "year": project.year,
        "budget_wan": None if project.budget_wan is None else float(project.budget_wan),
        "fiscal_wan": None if project.fiscal_wan is None else float(project.fiscal_wan),
        "other_wan": None if project.other_wan is None else float(project.other_wan),
        "fund_use": project.fund_use,
        "goal": project.goal,
        "spending_plan": project.spending_plan,
        "indicators": [indicator_dict(i) for i in project.indicators],
    }


def indicator_dict(i: Indicator) -> dict[str, Any]:
    return {
        "position": i.position,
        "level1": i.level1,
        "level2": i.level2,
        "name": i.name,
        "description": i.description,
        "target_raw": i.target_raw,
        "target": None
        if i.target_kind is None
        else {"op": i.target_op, "value": i.target_value, "unit": i.target_unit, "kind": i.target_kind},
        "basis": i.basis,
        "points": i.points,
        "is_satisfaction": i.is_satisfaction,
        "respondent_group": None if i.respondent_group is None else str(i.respondent_group.value),
        "respondent_label": i.respondent_label,
        "group_conflict": i.group_conflict or None,
        "population": i.population,
        "population_unit": i.population_unit,
        "population_source": i.population_source or None,
    }
