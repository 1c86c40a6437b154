"""Questionnaires, their published versions, QR links and responses."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import CheckConstraint, Computed, Date, DateTime, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import column as sa_column
from sqlalchemy import false as sa_false
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

from survey_app.db import Base, utcnow
from survey_app.models.budget import Indicator, Village


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class QuestionnaireStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class QuestionnaireStateError(ValueError):
    """A status change the questionnaire's life cycle does not allow; the message is for staff."""


#: allowed moves: draft → published → closed → published (reopened); publishing again stays published
TRANSITIONS = {
    QuestionnaireStatus.DRAFT: {QuestionnaireStatus.PUBLISHED},
    QuestionnaireStatus.PUBLISHED: {QuestionnaireStatus.PUBLISHED, QuestionnaireStatus.CLOSED},
    QuestionnaireStatus.CLOSED: {QuestionnaireStatus.PUBLISHED},
}
STATUS_LABELS = {QuestionnaireStatus.DRAFT: "草稿", QuestionnaireStatus.PUBLISHED: "收集中",
                 QuestionnaireStatus.CLOSED: "已结束"}
PAPER_STATUSES = ("pending", "matched", "mismatch", "resolved")


class china_day(FunctionElement[dt.date]):  # noqa: N801  (a SQL function)
    """The China-time calendar day (UTC+8; no daylight saving since 1991) of a UTC timestamp.

    Immutable on both databases, so it can define a generated column: SQLite stores timestamps
    as UTC text (``date(…, '+8 hours')`` on its first 19 characters); on PostgreSQL ``timezone('UTC', timestamptz)`` is the
    UTC wall time, independent of the session's time zone. The migration that adds
    ``responses.day`` writes the same two expressions.
    """

    type = Date()
    name = "china_day"
    inherit_cache = True


@compiles(china_day)
def _china_day_sqlite(element: china_day, compiler, **kw):  # type: ignore[no-untyped-def]
    # whole seconds only: SQLite rounds fractions to milliseconds, so 15:59:59.9996 UTC would become
    # 16:00:00, i.e. the next China day
    return f"date(substr({compiler.process(element.clauses, **kw)}, 1, 19), '+8 hours')"


@compiles(china_day, "postgresql")
def _china_day_postgresql(element: china_day, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) + INTERVAL '8 hours' AS DATE)"


@compiles(Computed, "postgresql")
def _stored_on_postgresql(element: Computed, compiler, **kw):  # type: ignore[no-untyped-def]
    """Generated columns are STORED on PostgreSQL whatever its version (a VIRTUAL one, PostgreSQL 18's
    default, cannot be indexed); SQLite keeps its default, VIRTUAL (the only kind ALTER TABLE can add)."""
    sql = compiler.sql_compiler.process(element.sqltext, include_table=False, literal_binds=True)
    return f"GENERATED ALWAYS AS ({sql}) STORED"


class LinkKind(enum.StrEnum):
    POSTER = "poster"
    CARD = "card"


class Channel(enum.StrEnum):
    POSTER = "poster"
    CARD = "card"
    PAPER = "paper"
    INTERVIEW = "interview"

    @property
    def label(self) -> str:
        return {"poster": "海报二维码", "card": "一次性卡片", "paper": "纸质问卷", "interview": "访谈录入"}[self.value]


class Questionnaire(Base):
    """The questionnaire for one satisfaction indicator; its draft is editable, versions are not."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="RESTRICT"), unique=True)
    status: Mapped[QuestionnaireStatus] = mapped_column(_enum(QuestionnaireStatus, 12), default=QuestionnaireStatus.DRAFT)
    #: the editable draft: {"title", "intro", "questions": [...], "rate_method"}
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: two staff must key in each paper form before it counts
    double_entry: Mapped[bool] = mapped_column(default=False)
    #: with a random draw: pool self-selected (poster, paper without a drawn card) answers into the figure
    pool_posters: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: schedule: respondents see "not open yet" before, "already closed" from ``closes_at`` on
    opens_at: Mapped[dt.datetime | None]
    closes_at: Mapped[dt.datetime | None]
    #: close automatically once this many valid responses (not 不了解, not excluded) are in
    target_valid: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    indicator: Mapped[Indicator] = relationship()
    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.number"
    )
    links: Mapped[list[Link]] = relationship(back_populates="questionnaire", order_by="Link.id")

    def __repr__(self) -> str:
        return f"<Questionnaire {self.id} indicator={self.indicator_id} {self.status}>"

    @property
    def current_version(self) -> QuestionnaireVersion | None:
        return self.versions[-1] if self.versions else None

    def move_to(self, status: QuestionnaireStatus) -> None:
        """Change the status, refusing moves the life cycle does not allow (draft → published →
        closed → published again; a draft cannot be closed, nothing goes back to draft)."""
        current = QuestionnaireStatus(self.status) if self.status else QuestionnaireStatus.DRAFT
        if status not in TRANSITIONS[current]:
            raise QuestionnaireStateError(
                f"问卷目前是“{STATUS_LABELS[current]}”，不能改为“{STATUS_LABELS[status]}”。")
        self.status = status


class QuestionnaireVersion(Base):
    """A published, frozen questionnaire; every response records the version it answered."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"))
    number: Mapped[int]
    content: Mapped[dict[str, Any]]
    #: sha256 of the canonical JSON content, so a later change is detectable
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(80))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<QuestionnaireVersion {self.id} q{self.questionnaire_id} v{self.number}>"


class Link(Base):
    """A QR link: an open poster link per village, or a single-use card."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "village_id", "kind", "card_no"),
        CheckConstraint("(kind = 'card') = (card_no IS NOT NULL)", name="card_no_iff_card"),
        CheckConstraint("used_at IS NULL OR kind = 'card'", name="only_cards_are_used"),
        UniqueConstraint("questionnaire_id", "village_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True)
    #: NULL for a township-wide poster (the respondent then picks a village)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id", ondelete="RESTRICT"))
    kind: Mapped[LinkKind] = mapped_column(_enum(LinkKind, 8))
    #: unguessable, 120 bits, base32 upper case (QR alphanumeric mode)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    #: printed card number within (questionnaire, village)
    card_no: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    voided_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]
    #: drawn card: the position on the village's numbered list (see models/sampling.py)
    position: Mapped[int | None]
    #: a replacement card: the card it replaces (the next reserve, by the declared rule)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="RESTRICT"))
    #: final disposition recorded by staff (analysis.sampling.DISPOSITIONS); NULL = none yet
    disposition: Mapped[str | None] = mapped_column(String(16))
    visits: Mapped[int | None]

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="links")
    village: Mapped[Village | None] = relationship()

    def __repr__(self) -> str:
        return f"<Link {self.id} {self.kind} q{self.questionnaire_id} v{self.village_id} #{self.card_no}>"


class Response(Base):
    """One accepted questionnaire. Inserted once, never updated or deleted by the application."""

    __tablename__ = "responses"
    __table_args__ = (
        # covers the figures' one aggregation (services/results.py): read from the index alone, in
        # GROUP BY order; also serves every lookup by questionnaire (and simulated, village)
        Index("ix_responses_figures", "questionnaire_id", "simulated", "village_id", "channel", "satisfaction",
              "version_id", "day"),
        UniqueConstraint("chain_key", "chain_seq"),
        # an online card answer has its card; a paper form or interview may carry the card it came back with
        CheckConstraint("(channel <> 'card' OR card_id IS NOT NULL) AND "
                        "(card_id IS NULL OR channel IN ('card', 'paper', 'interview'))", name="card_channel_has_card"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id", ondelete="RESTRICT"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="RESTRICT"), index=True)
    #: set for card responses only; UNIQUE makes a card usable exactly once, even under races
    card_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="RESTRICT"), unique=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id", ondelete="RESTRICT"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, 12))
    #: one per rendered form; a retried or repeated submission of the same form finds the same row
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: short code shown to the respondent
    receipt: Mapped[str] = mapped_column(String(16), unique=True)
    #: the main satisfaction answer (an option of the five-point scale, or 不了解)
    satisfaction: Mapped[str] = mapped_column(String(16))
    #: every answer by question key
    answers: Mapped[dict[str, Any]]
    comment: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    #: the China-time day of ``submitted_at``, generated by the database (never written, never out of
    #: step: VIRTUAL on SQLite, where the figures index stores it; STORED on PostgreSQL)
    day: Mapped[dt.date] = mapped_column(Date, Computed(china_day(sa_column("submitted_at", DateTime(timezone=True)))))
    #: salted hashes only; raw IP addresses and user agents are never stored
    network_hash: Mapped[str] = mapped_column(String(32), default="")
    device_hash: Mapped[str] = mapped_column(String(32), default="")
    #: staff member who keyed in a paper or interview response
    entered_by: Mapped[str] = mapped_column(String(80), default="")
    #: printed number of the paper form, if any
    form_no: Mapped[str] = mapped_column(String(32), default="")
    #: demo data: labelled and kept out of every real figure
    simulated: Mapped[bool] = mapped_column(default=False)
    #: tamper evidence (analysis.chain): which chain, position in it, previous and own hash
    chain_key: Mapped[str] = mapped_column(String(64))
    chain_seq: Mapped[int]
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    #: a paper correction names the row it supersedes (never edited) and the reason; UNIQUE: a row
    #: is superseded at most once, so the versions of a form form a line and the last one counts
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="RESTRICT"), unique=True)
    correction_reason: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[QuestionnaireVersion] = relationship()
    village: Mapped[Village | None] = relationship()

    def __repr__(self) -> str:
        return f"<Response {self.id} q{self.questionnaire_id} {self.channel} {self.receipt}>"


class PaperEntry(Base):
    """One staff member's keying of a paper form, waiting for its second keying (double entry)."""

    __tablename__ = "paper_entries"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "form_no", "entered_by"),
        CheckConstraint("status IN ('pending', 'matched', 'mismatch', 'resolved')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id", ondelete="RESTRICT"))
    form_no: Mapped[str] = mapped_column(String(32))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, 12))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id", ondelete="RESTRICT"))
    answers: Mapped[dict[str, Any]]
    entered_by: Mapped[str] = mapped_column(String(80))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: pending (waiting for the second keying), matched, mismatch, resolved
    status: Mapped[str] = mapped_column(String(12), default="pending")
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="RESTRICT"))

    def __repr__(self) -> str:
        return f"<PaperEntry {self.id} q{self.questionnaire_id} form {self.form_no} by {self.entered_by}>"


class ChainHead(Base):
    """The current end of one response chain; the row lock on it orders that chain's appends."""

    __tablename__ = "chain_heads"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<ChainHead {self.key} #{self.seq}>"


class PublishedHead(Base):
    """A head handed out (printed, sent) at some moment; every later state must extend it."""

    __tablename__ = "published_heads"

    id: Mapped[int] = mapped_column(primary_key=True)
    root: Mapped[str] = mapped_column(String(64), unique=True)
    #: {chain_key: [seq, hash]}
    chains: Mapped[dict[str, Any]]
    responses: Mapped[int]
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<PublishedHead {self.id} {self.root[:12]}>"
