"""Pending upload previews and saved column mappings of the target-table importer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.db import Base, utcnow


class ImportPreview(Base):
    """An uploaded file waiting for 确认导入: kept in the database (any server can confirm it), expired after a day."""

    __tablename__ = "import_previews"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploader: Mapped[str] = mapped_column(String(80))
    #: ReadOptions.to_json() plus unit_code/unit_name/year given on upload
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: ready (read in the request, or by the background worker), reading (a worker is at it), failed (see error)
    status: Mapped[str] = mapped_column(String(20), default="ready", server_default="ready")
    #: the Chinese reason when status is failed
    error: Mapped[str | None] = mapped_column(Text)
    #: the table the background worker read (pickled ParsedTable), so the page does not read it again
    parsed: Mapped[bytes | None] = mapped_column(LargeBinary)


class ImportMapping(Base):
    """A unit's saved column mapping / table choice, reused when its next table is imported."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32), unique=True)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
