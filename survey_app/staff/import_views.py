"""Staff import pages: upload, preview with places, column mapping, single-cell correction, confirm.

The uploaded file waits in the database (:mod:`survey_app.services.import_store`), so
a preview made on one server can be confirmed on another. Nothing is written to the
project tables until 确认导入.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import pickle
import threading
from pathlib import PurePath
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_db, get_session, transaction
from survey_app.importer import ReadOptions, TableReadError, limits, read_table
from survey_app.importer.cells import key
from survey_app.importer.columns import ROLE_LABELS
from survey_app.importer.template import blank_template
from survey_app.models import ImportPreview, Unit
from survey_app.services.import_store import get_preview, load_mapping, merge_options, save_mapping, store_preview
from survey_app.services.importing import apply_import, import_file, plan_import, stored_units
from survey_app.services.scope import ScopeError, can_see_unit, check_import_units, grant_units, preview_visible
from survey_app.staff import bp
from survey_app.staff.forms import ConfirmImportForm, UploadForm

logger = logging.getLogger(__name__)

#: uploads larger than this are read by a background worker (the page refreshes until the preview is ready)
BACKGROUND_BYTES = 256 * 1024
READING, READY, FAILED = "reading", "ready", "failed"
STATUS_LABELS = {READING: "正在读取", READY: "已完成", FAILED: "失败"}

KIND_LABELS = {"quantity": "数值", "time": "时间", "qualitative": "定性", "text": "文字"}
OP_LABELS = {">=": "≥", "<=": "≤", ">": "＞", "<": "＜", "=": "＝"}


def show_target(target) -> str:  # type: ignore[no-untyped-def]
    """A parsed target in words: 数值 ≥95%, 时间 12月底前, 定性."""
    if target is None:
        return ""
    kind = KIND_LABELS.get(target.kind, "")
    if target.value is None:
        return f"{kind}"
    value = f"{target.value:g}"
    return f"{kind} {OP_LABELS.get(target.op, '')}{value}{target.unit or ''}"


def _options_of(preview: ImportPreview) -> ReadOptions:
    return ReadOptions.from_json(preview.options)


def _import_preview(preview: ImportPreview, *, dry_run: bool):  # type: ignore[no-untyped-def]
    """Read (and unless ``dry_run`` import) the pending file with the choices stored on it.

    A file the background worker has read is not read again: its parsed table is planned as it is.
    A table naming a stored unit the account may not see is refused (ScopeError) before anything is
    written; units the import creates are granted to the importing account."""
    stored = preview.options or {}
    session = get_session()
    year = int(stored["year"]) if stored.get("year") else None
    if preview.parsed is not None:
        plan = plan_import(session, _unseal(preview.parsed), year=year)
    else:
        plan = import_file(session, preview.data, preview.filename, actor=current_user.username,
                           user_id=current_user.id, unit_code=stored.get("unit_code") or None,
                           unit_name=stored.get("unit_name") or None, year=year, dry_run=True,
                           options=_options_of(preview))
    new_codes = check_import_units(session, current_user, stored_units(session, plan.table))
    if not dry_run and plan.changed:
        apply_import(session, plan, actor=current_user.username, user_id=current_user.id)
        grant_units(session, current_user, list(session.scalars(select(Unit).where(Unit.code.in_(new_codes)))),
                    actor=current_user.username)
    return plan


def _seal_key() -> bytes:
    key = current_app.secret_key
    return (key if isinstance(key, bytes) else str(key).encode()) + b"|import-preview"


def _seal(data: bytes) -> bytes:
    """HMAC-SHA256 with the app's secret key in front of the pickled table: a row altered in the
    database without the key is refused instead of being unpickled (pickle runs code)."""
    return hmac.new(_seal_key(), data, hashlib.sha256).digest() + data


def _unseal(blob: bytes) -> Any:
    mac, data = bytes(blob[:32]), bytes(blob[32:])
    if not hmac.compare_digest(mac, hmac.new(_seal_key(), data, hashlib.sha256).digest()):
        raise TableReadError("预览数据校验未通过（可能被改动），请重新上传文件。")
    return pickle.loads(data)  # noqa: S301 - sealed above with the secret key, written by _read_in_background


def _read_in_background(app, preview_id: int) -> None:  # type: ignore[no-untyped-def]
    """Worker: read the pending file and store the parsed table, or the reason it failed, on its preview row."""
    with app.app_context():
        session = get_db(app).session()
        try:
            preview = session.get(ImportPreview, preview_id)
            if preview is None:
                return
            stored = preview.options or {}
            try:
                table = read_table(preview.data, preview.filename, unit_code=stored.get("unit_code") or None,
                                   unit_name=stored.get("unit_name") or None, options=_options_of(preview))
                preview.parsed, preview.status, preview.error = _seal(pickle.dumps(table)), READY, None
            except TableReadError as exc:
                preview.parsed, preview.status, preview.error = None, FAILED, str(exc)
            except Exception:
                logger.exception("background read of import preview %s failed", preview_id)
                preview.parsed, preview.status = None, FAILED
                preview.error = f"{preview.filename}：读取时出错，没有写入任何内容。请重新上传；仍不行请联系管理员。"
            session.commit()
        finally:
            session.close()


def _reads_in_background(preview: ImportPreview) -> bool:
    return len(preview.data) > current_app.config.get("IMPORT_BACKGROUND_BYTES", BACKGROUND_BYTES)


def _start_reading(preview: ImportPreview):  # type: ignore[no-untyped-def]
    """Mark the (committed) preview as being read, start a worker thread and send the browser to its status page."""
    session = get_session()
    preview.status, preview.error, preview.parsed = READING, None, None
    session.commit()
    worker = threading.Thread(target=_read_in_background, args=(current_app._get_current_object(), preview.id),
                              name=f"import-preview-{preview.id}", daemon=True)
    current_app.extensions.setdefault("import_workers", []).append(worker)
    worker.start()
    return redirect(url_for("staff.import_status", preview_id=preview.id))


def _render_preview(preview: ImportPreview, status: int = 200):  # type: ignore[no-untyped-def]
    stored = preview.options or {}
    options = _options_of(preview)
    if preview.status == READING:
        return render_template("staff/import_reading.html", preview=preview, refresh=3), 202
    if preview.status == FAILED:
        return render_template("staff/import.html", form=UploadForm(formdata=None), error=preview.error,
                               candidates=[], preview=preview, options=options, roles=ROLE_LABELS), 422
    try:
        plan = _import_preview(preview, dry_run=True)
    except (TableReadError, ScopeError) as exc:
        return render_template("staff/import.html", form=UploadForm(formdata=None), error=str(exc),
                               candidates=getattr(exc, "candidates", []), preview=preview, options=options,
                               roles=ROLE_LABELS), 422
    confirm = ConfirmImportForm(formdata=None, digest=preview.sha256, filename=preview.filename,
                                unit_code=stored.get("unit_code") or "", unit_name=stored.get("unit_name") or "",
                                year=str(stored.get("year") or ""))
    return render_template("staff/import_preview.html", plan=plan, confirm=confirm, preview=preview, options=options,
                           roles=ROLE_LABELS, show_target=show_target), status


@bp.route("/import", methods=["GET", "POST"])
@role_required(*EDITORS)
def import_table():  # type: ignore[no-untyped-def]
    """Upload a target table and preview what importing it would change."""
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename = PurePath(upload.filename or "upload").name
        data = upload.read(limits.MAX_FILE_BYTES + 1)
        session = get_session()
        if len(data) > limits.MAX_FILE_BYTES:
            return render_template("staff/import.html", form=form, roles=ROLE_LABELS,
                                   error=f"{filename}：文件超过 {limits.size_text(limits.MAX_FILE_BYTES)} 的上限"), 422
        options: dict = {"unit_code": form.unit_code.data or "", "unit_name": form.unit_name.data or "",
                         "year": form.year.data or ""}
        if form.unit_code.data and _may_use_unit_code(form.unit_code.data):
            saved = load_mapping(session, form.unit_code.data)
            if saved is not None:
                options.update(saved.to_json())
        preview = store_preview(session, data, filename, uploader=current_user.username,
                                uploader_id=current_user.id, options=options)
        session.commit()
        if _reads_in_background(preview):
            return _start_reading(preview)
        return _render_preview(preview)
    return render_template("staff/import.html", form=form, error=None, roles=ROLE_LABELS)


def _may_use_unit_code(code: str) -> bool:
    """A saved column mapping is used for a new unit's code or a unit the account sees."""
    session = get_session()
    unit = session.scalar(select(Unit).where(Unit.code == code.strip()))
    return unit is None or can_see_unit(session, current_user, unit.id)


def _own_preview(preview_id: int) -> ImportPreview | None:
    """A pending upload, if it has not expired and the account may see it (its uploader, or an admin)."""
    preview = get_preview(get_session(), preview_id)
    return preview if preview is not None and preview_visible(current_user, preview) else None


def _preview_from_form() -> ImportPreview:
    digest = request.form.get("digest", "")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        abort(400)
    session = get_session()
    preview_id = request.form.get("preview", type=int)
    preview = _own_preview(preview_id) if preview_id else None
    if preview is None:
        candidate = session.scalar(
            select(ImportPreview).where(ImportPreview.sha256 == digest, ImportPreview.uploader_id == current_user.id)
            .order_by(ImportPreview.id.desc()).limit(1)
        )
        preview = _own_preview(candidate.id) if candidate is not None else None
    if preview is None or preview.sha256 != digest:
        return None  # type: ignore[return-value]
    return preview


@bp.route("/import/preview", methods=["POST"])
@role_required(*EDITORS)
def import_adjust():  # type: ignore[no-untyped-def]
    """Re-read the pending file with staff's column mapping, table choice and cell corrections."""
    preview = _preview_from_form()
    if preview is None:
        flash("预览的文件已失效，请重新上传。", "error")
        return redirect(url_for("staff.import_table"))
    stored = dict(preview.options or {})
    options = _options_of(preview)
    for header, role in zip(request.form.getlist("map_header"), request.form.getlist("map_role"), strict=False):
        if header.strip() and role in ROLE_LABELS:
            options.mapping[key(header)] = role
        elif header.strip() and role == "":
            options.mapping.pop(key(header), None)
    place, text = request.form.get("fix_place", "").strip(), request.form.get("fix_text", "")
    if place:
        options.corrections[place] = text
    for gone in request.form.getlist("unfix"):
        options.corrections.pop(gone, None)
    picks = [int(t) for t in request.form.getlist("table_pick") if t.isdigit()]
    if picks:
        options.tables = picks
    stored.update(options.to_json())
    preview.options = stored
    preview.parsed, preview.status, preview.error = None, READY, None  # read again with the new choices
    session = get_session()
    session.commit()
    if _reads_in_background(preview):
        return _start_reading(preview)
    return _render_preview(preview)


@bp.route("/import/preview/<int:preview_id>")
@role_required(*EDITORS)
def import_status(preview_id: int):  # type: ignore[no-untyped-def]
    """A pending upload: 正在读取 (refreshing itself), its error, or its preview once read."""
    preview = _own_preview(preview_id)
    if preview is None:
        flash("预览的文件已失效，请重新上传。", "error")
        return redirect(url_for("staff.import_table"))
    return _render_preview(preview)


@bp.route("/import/confirm", methods=["POST"])
@role_required(*EDITORS)
def confirm_import():  # type: ignore[no-untyped-def]
    """Import the previewed file (read again from the database, with the staff's choices)."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    preview = _preview_from_form()
    if preview is None:
        flash("预览的文件已失效，请重新上传。", "error")
        return redirect(url_for("staff.import_table"))
    if preview.status != READY:
        return redirect(url_for("staff.import_status", preview_id=preview.id))
    session = get_session()
    options = _options_of(preview)
    with transaction(TableReadError, ScopeError, session=session) as done:
        plan = _import_preview(preview, dry_run=False)
        if request.form.get("save_map") and (options.mapping or options.sheets or options.tables):
            for code, _ in plan.table.units:
                save_mapping(session, code, merge_options(ReadOptions(), options), actor=current_user.username)
        session.delete(preview)
    if not done.ok:
        return redirect(url_for("staff.import_table"))
    flash(f"{form.filename.data}：{plan.summary()}", "success")
    return redirect(url_for("staff.projects"))


@bp.route("/import/template.xlsx")
@role_required(*ALL_ROLES)
def import_template():  # type: ignore[no-untyped-def]
    """A blank target table (.xlsx) with the standard columns and an example row."""
    return send_file(io.BytesIO(blank_template()), as_attachment=True, download_name="绩效目标表模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
