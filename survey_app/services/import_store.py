"""Pending upload previews and saved mappings, in the database (never on one server's disk)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from survey_app.db import utcnow
from survey_app.importer import ReadOptions, limits
from survey_app.models import ImportMapping, ImportPreview


def purge_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete previews past their expiry; returns how many."""
    now = now or utcnow()
    result = session.execute(delete(ImportPreview).where(ImportPreview.expires_at < now))
    session.flush()
    return result.rowcount or 0


def store_preview(session: Session, data: bytes, filename: str, *, uploader: str, uploader_id: int | None,
                  options: dict) -> ImportPreview:
    """Keep an uploaded file until it is confirmed or expires (expired ones are purged first)."""
    purge_expired(session)
    now = utcnow()
    preview = ImportPreview(
        sha256=hashlib.sha256(data).hexdigest(),
        filename=filename,
        data=data,
        uploader=uploader,
        uploader_id=uploader_id,
        options=options,
        created_at=now,
        expires_at=now + dt.timedelta(hours=limits.PREVIEW_TTL_HOURS),
    )
    session.add(preview)
    session.flush()
    return preview


def get_preview(session: Session, preview_id: int) -> ImportPreview | None:
    preview = session.get(ImportPreview, preview_id)
    if preview is None:
        return None
    expires = preview.expires_at if preview.expires_at.tzinfo else preview.expires_at.replace(tzinfo=dt.UTC)
    if expires < utcnow():
        return None
    return preview


def load_mapping(session: Session, unit_code: str) -> ReadOptions | None:
    saved = session.scalar(select(ImportMapping).where(ImportMapping.unit_code == unit_code))
    return None if saved is None else ReadOptions.from_json(saved.options)


def save_mapping(session: Session, unit_code: str, options: ReadOptions, *, actor: str) -> None:
    """Save the column mapping and table choice for a unit (cell corrections are one-off and not saved)."""
    data = {"mapping": options.mapping, "sheets": options.sheets, "tables": options.tables}
    saved = session.scalar(select(ImportMapping).where(ImportMapping.unit_code == unit_code))
    if saved is None:
        session.add(ImportMapping(unit_code=unit_code, options=data, updated_by=actor))
    else:
        saved.options, saved.updated_by = data, actor
    session.flush()


def merge_options(saved: ReadOptions, given: ReadOptions) -> ReadOptions:
    """Saved mapping with what was given now on top."""
    return ReadOptions(
        mapping={**saved.mapping, **given.mapping},
        sheets=given.sheets or saved.sheets,
        tables=given.tables or saved.tables,
        corrections=dict(given.corrections),
    )
