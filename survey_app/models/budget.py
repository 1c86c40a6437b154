"""Units, projects and their indicators, as imported from target tables."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db import Base, utcnow


class RespondentGroup(enum.StrEnum):
    """Who answers a satisfaction questionnaire."""

    VILLAGERS = "villagers"
    VILLAGE_CADRES = "village_cadres"
    TOWNSHIP_CADRES = "township_cadres"
    OTHER = "other"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]


GROUP_LABELS = {
    RespondentGroup.VILLAGERS: "村民（群众）",
    RespondentGroup.VILLAGE_CADRES: "村干部",
    RespondentGroup.TOWNSHIP_CADRES: "镇干部",
    RespondentGroup.OTHER: "其他服务对象",
}


class Unit(Base):
    """A budget unit (单位), e.g. 929001 魏县张二庄镇人民政府本级."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the unit code printed before the name (929001)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    projects: Mapped[list[Project]] = relationship(
        back_populates="unit", order_by="Project.code", cascade="all, delete-orphan"
    )
    villages: Mapped[list[Village]] = relationship(
        back_populates="unit", order_by="Village.code", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.code}>"


class Project(Base):
    """A budget project with its target table."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("unit_id", "code", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    #: 项目编码
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: budget year (from the file, the import option, or the import date)
    year: Mapped[int]
    #: 预算数 in 万元 (None for a whole-department table that states no budget)
    budget_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: 其中：财政资金 in 万元
    fiscal_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: 其他资金 in 万元
    other_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: 资金用途 text
    fund_use: Mapped[str] = mapped_column(Text, default="")
    #: 绩效目标 text
    goal: Mapped[str] = mapped_column(Text, default="")
    #: 资金支出计划: [{"label": "3月底", "percent": 25.0}, ...]
    spending_plan: Mapped[list[Any]] = mapped_column(default=list)
    #: file the project was last imported from
    source: Mapped[str] = mapped_column(String(300), default="")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="projects")
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="project", order_by="Indicator.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.code} {self.year}>"


class Indicator(Base):
    """One row of a target table (三级指标 with its target)."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("project_id", "position"),
        CheckConstraint(
            "target_kind IS NULL OR target_kind IN ('quantity', 'time', 'qualitative')",
            name="target_kind",
        ),
        CheckConstraint(
            "target_op IS NULL OR target_op IN ('>=', '<=', '>', '<', '=')", name="target_op"
        ),
        CheckConstraint("population IS NULL OR population > 0", name="population_positive"),
        CheckConstraint(
            "NOT is_satisfaction OR respondent_group IS NOT NULL", name="satisfaction_has_group"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    #: order in the table, from 1
    position: Mapped[int]
    level1: Mapped[str] = mapped_column(String(100))
    level2: Mapped[str] = mapped_column(String(100))
    #: 三级指标
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    #: 指标值 as written in the table
    target_raw: Mapped[str] = mapped_column(Text, default="")
    #: parsed target; all NULL when the text could not be read (a warning at import)
    target_op: Mapped[str | None] = mapped_column(String(2))
    target_value: Mapped[float | None]
    target_unit: Mapped[str | None] = mapped_column(String(20))
    target_kind: Mapped[str | None] = mapped_column(String(20))
    #: 指标值确定依据
    basis: Mapped[str] = mapped_column(Text, default="")
    #: 分值 / 权重 when the table states it
    points: Mapped[float | None]
    is_satisfaction: Mapped[bool] = mapped_column(default=False)
    respondent_group: Mapped[RespondentGroup | None] = mapped_column(
        Enum(RespondentGroup, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    #: the group as named in the table (群众, 村干部, 镇干部, ...)
    respondent_label: Mapped[str] = mapped_column(String(100), default="")
    #: set when name and description name different groups; staff must confirm
    group_conflict: Mapped[str] = mapped_column(Text, default="")
    group_confirmed: Mapped[bool] = mapped_column(default=False)
    #: known size of the respondent population (persons or villages, see population_unit)
    population: Mapped[int | None]
    #: '人' (persons) or '村' (villages: the frame is villages, persons unknown)
    population_unit: Mapped[str | None] = mapped_column(String(4))
    #: where the population came from: the table row it was read from, or "staff"
    population_source: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[Project] = relationship(back_populates="indicators")

    def __repr__(self) -> str:
        return f"<Indicator {self.id} p{self.project_id}#{self.position}>"

    @property
    def target(self):  # -> analysis.Target | None
        from analysis import Target

        if self.target_kind is None:
            return None
        return Target(
            self.target_op, self.target_value, self.target_unit, self.target_kind, self.target_raw
        )


class Village(Base):
    """A village (行政村) of a unit, with optional populations per respondent group."""

    __tablename__ = "villages"
    __table_args__ = (
        UniqueConstraint("unit_id", "name"),
        UniqueConstraint("unit_id", "code"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonneg"),
        CheckConstraint("cadres IS NULL OR cadres >= 0", name="cadres_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    #: villagers (adult residents) who can be asked
    population: Mapped[int | None]
    #: village cadres (村两委)
    cadres: Mapped[int | None]

    unit: Mapped[Unit] = relationship(back_populates="villages")

    def __repr__(self) -> str:
        return f"<Village {self.id} {self.code}>"
