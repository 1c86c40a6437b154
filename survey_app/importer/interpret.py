"""Interpretation: raw records → units, projects, indicators, targets, groups, populations."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from analysis import Target, TargetParseError, parse_target
from survey_app.importer.cells import NotANumber, amount_wan, split_unit, stable_code
from survey_app.importer.columns import DIRECTION_WORDS, op_symbol
from survey_app.importer.layout import Field, LayoutResult, RawIndicator, RawProject
from survey_app.importer.model import ParsedIndicator, ParsedProject, ParsedTable, TableReadError
from survey_app.models.budget import RespondentGroup

#: 万元 amounts at or above this are read as 元 when nothing declares the unit (10 亿元 for one project is absurd)
YUAN_BY_MAGNITUDE = Decimal(100000)

FIELD_LABELS = {
    "unit": "预算单位",
    "code": "项目编码",
    "name": "项目名称",
    "year": "年度",
    "budget": "预算数",
    "fiscal": "财政资金",
    "other": "其他资金",
    "fund_use": "资金用途",
    "goal": "年度目标",
    "spending_plan": "资金支出计划",
}

# -- respondent groups

_GROUP_PATTERNS: list[tuple[RespondentGroup, re.Pattern[str]]] = [
    (RespondentGroup.VILLAGE_CADRES, re.compile(r"村干部|村组干部|村\(社区\)干部|村（社区）干部|两委|村民组长|党小组长")),
    (
        RespondentGroup.TOWNSHIP_CADRES,
        re.compile(r"镇干部|乡干部|机关干部|干部职工|机关工作人员|镇机关|自收自支人员|乡镇干部|镇村干部"),
    ),
    (RespondentGroup.VILLAGERS, re.compile(r"群众|村民|居民|农户|受益户|老百姓")),
]


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


def group_for(name: str, description: str) -> tuple[RespondentGroup, str, str]:
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


_PERSON_WORDS = {
    RespondentGroup.VILLAGE_CADRES: re.compile(r"村干部|村组干部|两委"),
    RespondentGroup.TOWNSHIP_CADRES: re.compile(r"干部|人员|职工|工作人员"),
    RespondentGroup.VILLAGERS: re.compile(r"村民|群众|居民|农户|人口"),
    RespondentGroup.OTHER: re.compile(r".+"),
}


def attach_populations(project: ParsedProject) -> None:
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
    villages = [i for i in counts if i.target.unit in ("个", "村") and "村" in (i.name + i.description)]  # type: ignore[union-attr]
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


# -- values


class Interpreter:
    def __init__(self, layout: LayoutResult, source: str) -> None:
        self.layout = layout
        self.source = source
        self.warnings = list(layout.warnings)

    def error(self, message: str, location: str) -> TableReadError:
        return TableReadError(message, source=self.source, location=location)

    def warn(self, message: str, location: str) -> None:
        self.warnings.append(f"{self.source}：{location}：{message}")

    def amount(self, f: Field, what: str, project_name: str) -> Decimal:
        try:
            value, converted = amount_wan(f.text, f.money_unit or "万元")
        except NotANumber:
            raise self.error(f"{what}“{f.text}”不是数字（可以写 150、150万 或 1,234.5）", f.place) from None
        if not converted and not f.money_unit.endswith("元") and value >= YUAN_BY_MAGNITUDE:
            value = (value / 10000).quantize(Decimal("0.01"))
            self.warn(f"项目“{project_name}”的{what} {f.text} 按万元算过大，已按元读取为 {value} 万元", f.place)
        elif not converted and f.money_unit == "万元" and value >= YUAN_BY_MAGNITUDE:
            value = (value / 10000).quantize(Decimal("0.01"))
            self.warn(f"项目“{project_name}”的{what} {f.text} 按万元算过大，已按元读取为 {value} 万元", f.place)
        return value

    def project(self, raw: RawProject) -> ParsedProject:
        fields = raw.fields
        name = fields["name"].text if "name" in fields else ""
        if not name:
            code = fields["code"].text if "code" in fields else ""
            raise self.error(f"项目 {code} 缺少项目名称", raw.location)
        project = ParsedProject(name=name, location=raw.location, year=raw.year)
        project.places["name"] = fields["name"].place
        if raw.unit is not None:
            project.unit_code, project.unit_name = split_unit(raw.unit.text)
            project.places["unit"] = raw.unit.place
        if "code" in fields and fields["code"].text:
            project.code = fields["code"].text
            project.places["code"] = fields["code"].place
        for key_, attr, what in (("budget", "budget_wan", "预算数"), ("fiscal", "fiscal_wan", "财政资金"),
                                 ("other", "other_wan", "其他资金")):
            if key_ in fields and fields[key_].text:
                setattr(project, attr, self.amount(fields[key_], what, name))
                project.places[key_] = fields[key_].place
        if project.budget_wan is None and project.fiscal_wan is not None and raw.family != "部门整体表":
            project.budget_wan = project.fiscal_wan + (project.other_wan or 0)
            project.places["budget"] = project.places["fiscal"] + "（由财政资金与其他资金相加）"
        if project.budget_wan is None and raw.family != "部门整体表":
            raise self.error(f"项目“{name}”缺少预算数（资金总额）", raw.location)
        for key_ in ("fund_use", "goal"):
            if key_ in fields:
                setattr(project, key_, fields[key_].text)
                project.places[key_] = fields[key_].place
        if raw.spending_plan:
            project.spending_plan = [{"label": label, "percent": float(p.rstrip("%％"))} for label, p in raw.spending_plan]
            project.places["spending_plan"] = raw.plan_place
        for raw_indicator in raw.indicators:
            project.indicators.append(self.indicator(raw_indicator, len(project.indicators) + 1))
        if not project.indicators:
            raise self.error(
                f"项目“{name}”没有绩效指标行（需要含“三级指标”“指标值”表头的表格）", raw.location
            )
        attach_populations(project)
        return project

    def indicator(self, raw: RawIndicator, position: int) -> ParsedIndicator:
        v = raw.values

        def get(role: str) -> str:
            return v[role].text if role in v else ""

        def place(role: str) -> str:
            return v[role].place if role in v else raw.location

        name = get("name")
        if not name:
            raise self.error("三级指标（指标名称）为空", place("name"))
        level1 = _strip_points(raw.level1)
        level2 = _strip_points(raw.level2)
        description = get("description") or get("note")
        is_satisfaction = any("满意" in t for t in (level1, level2, name, description))
        target_text = get("target")
        op_text = op_symbol(get("op")) if get("op") else ""
        direction = DIRECTION_WORDS.get(get("direction").strip(), "")
        unit_text = get("unit")
        if get("op") in ("定性",) or get("value_type") == "定性":
            op_text = ""
        target_text = _date_serial(target_text, raw.level2 + name)
        written = re.match(r"^(正向|反向)(指标)?[:：,，\s]*(?=\S)", target_text)
        if written:  # 正向90%: the direction written into the value
            direction = direction or DIRECTION_WORDS[written.group(1)]
            target_text = target_text[written.end():]
        target: Target | None
        try:
            if not target_text and (get("value_type") == "定性" or get("op") == "定性"):
                raise TargetParseError("定性指标没有填写指标值")
            if op_text or unit_text:
                unit_add = unit_text if unit_text and not target_text.endswith(unit_text) else ""
                if unit_text and re.search(r"[\u4e00-\u9fff%％]$", target_text) and not target_text.endswith(unit_text):
                    self.warn(
                        f"指标“{name}”的指标值“{target_text}”与计量单位“{unit_text}”不一致，按指标值中的单位读取",
                        place("unit"),
                    )
                    unit_add = ""
                target = parse_target(op_text, target_text, unit_add)
            else:
                target = parse_target(target_text)
            if direction and target.kind == "quantity" and target.op in (None, "="):
                if not re.search(r"[=＝≥≤><]|不低于|不高于|以上|以下|至少|不超过|不少于", target_text + op_text):
                    target = parse_target(direction, target_text, unit_add if (op_text or unit_text) else "")
        except TargetParseError as exc:
            if is_satisfaction:
                raise self.error(f"满意度指标“{name}”的指标值无法识别：{exc}", place("target")) from None
            if target_text:
                self.warn(f"指标“{name}”的指标值无法识别，已按原文保存：{exc}", place("target"))
            target = None
        if is_satisfaction and (target is None or target.kind != "quantity" or target.value is None):
            raise self.error(
                f"满意度指标“{name}”的指标值“{target_text}”不是数值目标（如 ≥95%）", place("target")
            )
        points = None
        if get("points"):
            try:
                points = float(get("points").rstrip("%％分"))
            except ValueError:
                raise self.error(f"分值“{get('points')}”不是数字", place("points")) from None
        group, label, conflict = (None, "", "")
        if is_satisfaction:
            group, label, conflict = group_for(name, description)
        joined = "".join(t for t in (get("op") if get("op") != "定性" else "", target_text, unit_text) if t)
        return ParsedIndicator(
            position=position,
            level1=level1,
            level2=level2,
            name=name,
            description=description,
            target_raw=joined if (op_text or unit_text) else target_text,
            target=target,
            basis=get("basis"),
            points=points,
            is_satisfaction=is_satisfaction,
            respondent_group=group,
            respondent_label=label,
            group_conflict=conflict,
            location=raw.location,
            target_location=place("target"),
        )


def _strip_points(level: str) -> str:
    """产出指标(50分) → 产出指标."""
    return re.sub(r"\s*[(（]\s*\d+(\.\d+)?\s*分\s*[)）]\s*$", "", level)


def _date_serial(text: str, context: str) -> str:
    """An Excel date serial (45473) in a time row becomes the date it meant (2024年6月30日)."""
    if re.fullmatch(r"[34]\d{4}(\.0+)?", text) and ("时" in context or "日期" in context or "时间" in context):
        day = dt.date(1899, 12, 30) + dt.timedelta(days=int(float(text)))
        return f"{day.year}年{day.month}月{day.day}日"
    return text


def interpret(layout: LayoutResult, source: str, *, unit_code: str | None = None,
              unit_name: str | None = None) -> ParsedTable:
    """Turn laid-out records into a :class:`ParsedTable`, or raise :class:`TableReadError`."""
    it = Interpreter(layout, source)
    if not layout.projects:
        where = "、".join(layout.headers_seen[:5])
        raise TableReadError(
            "文件中没有找到绩效目标表（需要项目名称，以及含“三级指标（指标名称）”和“指标值”表头的指标表）"
            + (f"；找到的指标表头在：{where}" if where else ""),
            source=source,
        )
    projects = [it.project(raw) for raw in layout.projects]
    default_code, default_name = "", ""
    if layout.units:
        default_code, default_name = split_unit(layout.units[0].text)
    if unit_code or unit_name:
        for p in projects:
            if unit_code:
                p.unit_code = unit_code
            if unit_name:
                p.unit_name = unit_name
        default_code, default_name = unit_code or default_code, unit_name or default_name
    for p in projects:
        if not p.unit_name and not p.unit_code:
            p.unit_code, p.unit_name = default_code, default_name
    if any(not (p.unit_code or p.unit_name) for p in projects):
        first = next(p for p in projects if not (p.unit_code or p.unit_name))
        raise TableReadError(
            "文件中没有找到预算单位（如“929001某某镇人民政府”），请指定单位编码和名称",
            source=source,
            location=first.location,
        )
    for p in projects:
        if not p.unit_code:
            p.unit_code = stable_code("unit", p.unit_name)
        if not p.unit_name:
            p.unit_name = p.unit_code
    year = layout.years[0] if len(layout.years) == 1 else None
    seen: dict[tuple[str, str], ParsedProject] = {}
    for p in projects:
        if not p.code:
            p.code = stable_code(p.unit_code, p.name)
            p.code_generated = True
        ident = (p.unit_code, p.code)
        if ident in seen:
            raise it.error(
                f"项目“{p.name}”（{'表中无编码' if p.code_generated else p.code}）在文件中出现了两次"
                f"（另一处在{seen[ident].location}）",
                p.location,
            )
        seen[ident] = p
    first = projects[0]
    families = "、".join(layout.families)
    return ParsedTable(
        source=source,
        unit_code=default_code or first.unit_code,
        unit_name=default_name or first.unit_name,
        projects=projects,
        warnings=it.warnings,
        year=year,
        layout=families,
        unknown_columns=layout.unknown_columns,
    )
