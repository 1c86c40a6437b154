"""Villages of a unit, with populations, entered one by one or as a list."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Unit, Village
from survey_app.services import audit_log


class VillageError(ValueError):
    """A village list or entry that cannot be stored; the message says where."""


@dataclass
class VillageRow:
    line: int
    name: str
    code: str | None
    population: int | None
    cadres: int | None


def _count(text: str, line: int, what: str) -> int | None:
    text = text.strip().rstrip("人")
    if not text or text in {"-", "—", "无"}:
        return None
    if not re.fullmatch(r"\d+", text):
        raise VillageError(f"第 {line} 行：{what}“{text}”不是整数。")
    return int(text)


def parse_village_list(text: str) -> list[VillageRow]:
    """Parse lines ``名称[,村民人数[,村干部人数[,编码]]]`` (comma, tab or spaces)."""
    rows: list[VillageRow] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in re.split(r"[,，\t]|\s{1,}", line) if p.strip()]
        name = parts[0]
        if name in ("村名", "名称", "村庄"):
            continue  # a header line
        if name in seen:
            raise VillageError(f"第 {number} 行：村名“{name}”重复。")
        seen.add(name)
        population = _count(parts[1], number, "村民人数") if len(parts) > 1 else None
        cadres = _count(parts[2], number, "村干部人数") if len(parts) > 2 else None
        code = parts[3] if len(parts) > 3 else None
        if len(parts) > 4:
            raise VillageError(f"第 {number} 行：列太多（最多 4 列：村名、村民人数、村干部人数、编码）。")
        rows.append(VillageRow(number, name, code, population, cadres))
    if not rows:
        raise VillageError("列表是空的：每行写一个村，如“东村,1200,6”。")
    return rows


#: characters a village name or code may not contain: path separators and quotes used in file names
FORBIDDEN_IN_NAMES = set('/\\:*?"<>|')


def check_printable(text: str, what: str) -> str:
    """``text`` when it is plain printable text (no control, format or path characters); else VillageError."""
    for char in text:
        if char in FORBIDDEN_IN_NAMES or unicodedata.category(char)[0] in ("C", "Z") and char != " ":
            shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
            raise VillageError(f"{what}含有不能使用的字符“{shown}”：只能使用汉字、字母、数字和常见标点，"
                               "不能有 / \\ : * ? 等符号和控制字符。")
    return text


def _next_code(unit: Unit) -> str:
    numbers = [int(v.code) for v in unit.villages if v.code.isdigit()]
    return f"{(max(numbers) + 1) if numbers else 1:03d}"


def save_village(
    session: Session,
    unit: Unit,
    *,
    actor: str,
    name: str,
    population: int | None,
    cadres: int | None,
    code: str | None = None,
    village: Village | None = None,
) -> Village:
    """Create or update one village (flush only)."""
    name = name.strip()
    if not name:
        raise VillageError("村名不能为空。")
    check_printable(name, "村名")
    if code:
        check_printable(code, "编码")
    clash = session.scalar(select(Village).where(Village.unit_id == unit.id, Village.name == name))
    if clash is not None and clash is not village:
        raise VillageError(f"村名“{name}”已存在。")
    if code:
        clash = session.scalar(select(Village).where(Village.unit_id == unit.id, Village.code == code))
        if clash is not None and clash is not village:
            raise VillageError(f"编码“{code}”已被“{clash.name}”使用。")
    created = village is None
    if village is None:
        village = Village(unit=unit, code=code or _next_code(unit), name=name)
        session.add(village)
    village.name = name
    if code:
        village.code = code
    village.population = population
    village.cadres = cadres
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="create_village" if created else "update_village",
        obj=village,
        name=name,
        population=population,
        cadres=cadres,
    )
    return village


def import_villages(session: Session, unit: Unit, text: str, *, actor: str) -> tuple[int, int]:
    """Add or update villages from a list; all or nothing. Returns (created, updated)."""
    rows = parse_village_list(text)
    created = updated = 0
    for row in rows:
        existing = session.scalar(select(Village).where(Village.unit_id == unit.id, Village.name == row.name))
        try:
            save_village(
                session,
                unit,
                actor=actor,
                name=row.name,
                population=row.population,
                cadres=row.cadres,
                code=row.code,
                village=existing,
            )
        except VillageError as exc:
            raise VillageError(f"第 {row.line} 行：{exc}") from None
        if existing is None:
            created += 1
        else:
            updated += 1
    return created, updated
