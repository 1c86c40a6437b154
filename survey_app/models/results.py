"""Exclusions, written-back measurements and the self-evaluation entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db import Base, utcnow
from survey_app.models.budget import Indicator, Project


class Exclusion(Base):
    """A staff decision to leave one response out of the figures, with a reason; reversible.

    Nothing is deleted: the response stays, the exclusion is a record of its own, and a
    reversal sets ``reverted_at`` with its own reason.
    """

    __tablename__ = "exclusions"
    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_required"),
        CheckConstraint("(reverted_at IS NULL) = (reverted_by IS NULL)", name="reverted_by_iff_at"),
        # at most one active exclusion per response, enforced by the database (two staff at once)
        Index("uq_exclusions_active_response", "response_id", unique=True,
              sqlite_where=text("reverted_at IS NULL"), postgresql_where=text("reverted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    excluded_by: Mapped[str] = mapped_column(String(80))
    excluded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reverted_at: Mapped[dt.datetime | None]
    reverted_by: Mapped[str | None] = mapped_column(String(80))
    revert_reason: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<Exclusion {self.id} response={self.response_id} active={self.reverted_at is None}>"


class Measurement(Base):
    """A dated result written back onto a satisfaction indicator (history: rows are only added)."""

    __tablename__ = "measurements"
    __table_args__ = (
        CheckConstraint("verdict IN ('supported', 'contradicted', 'inconclusive', 'none')", name="verdict_known"),
        CheckConstraint("design IN ('census', 'stratified', 'finite', 'unknown')", name="design_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="RESTRICT"), index=True)
    #: 实际完成值 as written in the self-evaluation table, e.g. "96.0%"
    actual_value: Mapped[str] = mapped_column(String(32))
    #: the rate (fraction) or score (0-100)
    value: Mapped[float]
    lower: Mapped[float]
    upper: Mapped[float]
    #: one-sided lower bound used for the verdict
    bound: Mapped[float]
    n: Mapped[int]
    excluded: Mapped[int]
    population: Mapped[int | None]
    design: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float]
    verdict: Mapped[str] = mapped_column(String(16))
    #: questionnaire version numbers covered
    versions: Mapped[list[Any]]
    #: the full result (counts, strata, statement) as computed
    details: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))

    indicator: Mapped[Indicator] = relationship()

    @property
    def verdict_label(self) -> str:
        """The verdict in plain Chinese."""
        return {"supported": "达标（有统计支持）", "contradicted": "未达标", "inconclusive": "尚无定论"}.get(
            self.verdict, "未判定")

    def __repr__(self) -> str:
        return f"<Measurement {self.id} indicator={self.indicator_id} {self.actual_value} {self.verdict}>"


class SelfEvaluation(Base):
    """Staff entries for a project's 绩效自评表: budget execution and the level weights."""

    __tablename__ = "self_evaluations"
    __table_args__ = (UniqueConstraint("project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    #: 年初预算数, 全年预算数, 全年执行数 (万元)
    initial_budget_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    full_year_budget_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    executed_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: points per level 1 and for budget execution: {"产出指标": 50, "效益指标": 30, "满意度指标": 10, "预算执行率": 10}
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: 实际完成情况 narrative
    outcome: Mapped[str] = mapped_column(Text, default="")
    #: 主管部门 (the supervising department: not in the target table, entered by staff)
    supervisor: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")

    project: Mapped[Project] = relationship()


class IndicatorActual(Base):
    """Staff-entered 实际完成值 (and optional score and deviation note) for a non-survey indicator."""

    __tablename__ = "indicator_actuals"
    __table_args__ = (UniqueConstraint("indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    actual: Mapped[str] = mapped_column(Text, default="")
    #: for qualitative rows the evaluator's score within the band; otherwise computed
    score: Mapped[float | None]
    deviation: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
