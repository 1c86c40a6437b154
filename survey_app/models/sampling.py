"""Sampling frames per village, the seeded draw, and (on ``Link``) card positions and dispositions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db import Base, utcnow
from survey_app.models.budget import Village


class SamplingFrame(Base):
    """The roster of one village for one questionnaire: positions 1…size on the village's own list.

    No names enter the system: only the count, what the list is, and (for an
    uploaded numbered list) the SHA-256 of the file so the list can be matched later.
    """

    __tablename__ = "sampling_frames"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "village_id"),
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id", ondelete="RESTRICT"))
    size: Mapped[int]
    #: what the numbered list is, e.g. "2026年户籍花名册，按户编号"
    description: Mapped[str] = mapped_column(Text, default="")
    #: sha256 of an uploaded numbered list (no personal data), empty for a roster count
    list_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")

    village: Mapped[Village] = relationship()

    def __repr__(self) -> str:
        return f"<SamplingFrame q{self.questionnaire_id} v{self.village_id} N={self.size}>"


class SampleDraw(Base):
    """The random draw of one questionnaire.

    Declared first (the chain head at that moment and the named public number
    still to come, e.g. a lottery of a named date), then drawn once the number
    is public: ``seed = chain_root | lottery | public_number``. ``frames`` keeps
    what was drawn from: ``[{"village_id", "village", "frame", "size"}]``.
    """

    __tablename__ = "sample_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"), unique=True)
    lottery: Mapped[str] = mapped_column(Text)
    chain_root: Mapped[str] = mapped_column(String(64))
    frames: Mapped[list[Any]]
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    declared_by: Mapped[str] = mapped_column(String(80))
    public_number: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(120), default="")
    drawn_at: Mapped[dt.datetime | None]
    drawn_by: Mapped[str] = mapped_column(String(80), default="")

    def __repr__(self) -> str:
        return f"<SampleDraw q{self.questionnaire_id} {'drawn' if self.seed else 'declared'}>"
