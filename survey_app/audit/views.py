"""Read-only evidence for auditors (staff may publish heads); nothing here edits survey data."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from typing import Any

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from analysis.chain import root
from survey_app.audit import bp
from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_or_404, get_session, will_write
from survey_app.forms_base import controls_in
from survey_app.models import (
    AuditEvent,
    Link,
    LinkKind,
    Measurement,
    PublishedHead,
    Questionnaire,
    Response,
)
from survey_app.services.cellsafe import safe_cell
from survey_app.services.exclusions import exclusions_for
from survey_app.services.flags import compute_flags, flagged_ids
from survey_app.services.integrity import EXPORT_FIELDS, bundle, current_head, publish_head, verify_database
from survey_app.services.results import compute
from survey_app.services.scope import (
    can_see_unit,
    chain_visible,
    event_condition,
    problem_visible,
    questionnaire_ids,
    restrict_questionnaires,
)
from survey_app.staff.forms import SimpleForm


def _overview(problems: list[Any] | None):  # type: ignore[no-untyped-def]
    """The audit start page; an account of some units sees their chains, claims and findings only.

    The root covers every unit's chains (it is the county's one public commitment); findings about
    other units' rows are counted, not shown, so a scoped auditor still learns that the check failed.
    """
    session = get_session()
    heads = current_head(session)
    published = session.scalars(select(PublishedHead).order_by(PublishedHead.id.desc())).all()
    questionnaires = session.scalars(restrict_questionnaires(select(Questionnaire).order_by(Questionnaire.id),
                                                             Questionnaire.id, session, current_user)).all()
    shown = {k: v for k, v in heads.items() if k == "audit" or chain_visible(session, current_user, k)}
    hidden_problems = 0
    if problems is not None:
        visible = [p for p in problems if problem_visible(session, current_user, p)]
        hidden_problems, problems = len(problems) - len(visible), visible
    return render_template("audit/index.html", heads=shown, root=root(heads), published=published,
                           questionnaires=questionnaires, other_chains=len(heads) - len(shown),
                           total=sum(seq for key, (seq, _) in shown.items() if key != "audit"),
                           form=SimpleForm(), problems=problems, hidden_problems=hidden_problems)


@bp.route("/")
@role_required(*ALL_ROLES)
def index():  # type: ignore[no-untyped-def]
    """The claims, the current head of the response log and the published heads."""
    return _overview(None)


@bp.route("/verify")
@role_required(*ALL_ROLES)
def verify():  # type: ignore[no-untyped-def]
    """The same page, with the live database checked against the chains now."""
    return _overview(verify_database(get_session()))


@bp.route("/head/publish", methods=["POST"])
@role_required(*EDITORS)
def publish():  # type: ignore[no-untyped-def]
    """Record the current head as published (then print it or send it to the auditor)."""
    session = get_session()
    if not SimpleForm().validate_on_submit():
        abort(400)
    refused = controls_in(备注=request.form.get("note"))
    if refused:
        flash(refused, "error")
        return redirect(url_for("audit.index"))
    head = publish_head(session, actor=current_user.username, note=request.form.get("note", ""))
    session.commit()
    flash(f"已发布链头 {head.root}。请打印或发送给审计人员。", "success")
    return redirect(url_for("audit.head", root=head.root))


@bp.route("/head")
@role_required(*ALL_ROLES)
def head():  # type: ignore[no-untyped-def]
    """A printable head: the root and every chain position it stands for."""
    session = get_session()
    wanted = request.args.get("root")
    if wanted:
        record = session.scalar(select(PublishedHead).where(PublishedHead.root == wanted))
        if record is None:
            abort(404)
        chains = {k: tuple(v) for k, v in record.chains.items()}
    else:
        record, chains = None, current_head(session)
    if request.args.get("format") == "json":
        return FlaskResponse(json.dumps({"root": root(chains), "chains": {k: list(v) for k, v in chains.items()}},
                                        ensure_ascii=False, indent=2), mimetype="application/json")
    session = get_session()
    shown = {k: v for k, v in chains.items() if k == "audit" or chain_visible(session, current_user, k)}
    return render_template("audit/head.html", record=record, chains=shown, root=root(chains),
                           other_chains=len(chains) - len(shown))


#: a bundle larger than this once unpacked is refused before it is read (bounded memory)
MAX_BUNDLE_UNPACKED = 200 * 1024 * 1024


@bp.route("/verify-bundle", methods=["GET", "POST"])
@role_required(*ALL_ROLES)
def verify_uploaded_bundle():  # type: ignore[no-untyped-def]
    """Check a downloaded audit bundle in the browser, as ``python -m analysis verify`` does.

    The POST only reads the uploaded file: nothing is stored or changed, so auditors may use it.
    """
    import tempfile
    import zipfile

    from analysis.verify import BundleError, verify_bundle

    report = error = None
    head_root = (request.form.get("head") or "").strip().lower() or None
    if request.method == "POST":
        if not SimpleForm().validate_on_submit():
            abort(400)
        upload = request.files.get("bundle")
        if upload is None or not upload.filename:
            error = "请选择要核验的审计包（.zip 文件）。"
        else:
            with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
                upload.save(handle)
                handle.flush()
                try:
                    with zipfile.ZipFile(handle.name) as archive:
                        if sum(info.file_size for info in archive.infolist()) > MAX_BUNDLE_UNPACKED:
                            raise BundleError("too large")
                    report = verify_bundle(handle.name, head=head_root)
                except (BundleError, zipfile.BadZipFile, ValueError, KeyError):
                    error = (f"“{upload.filename}”不是本系统导出的审计包，或文件已损坏、过大。"
                             "请在审计首页重新下载“审计包（ZIP）”后再试。")
    return render_template("audit/verify_bundle.html", report=report, error=error, head=head_root or "",
                           form=SimpleForm())


@bp.route("/bundle.zip")
@role_required(*ALL_ROLES)
def download_bundle():  # type: ignore[no-untyped-def]
    """The audit bundle (verify offline with python -m analysis verify)."""
    will_write()  # a GET that writes: the export itself is logged
    session = get_session()
    data = bundle(session, actor=current_user.username, user=current_user)
    session.commit()  # the export itself is logged
    return FlaskResponse(data, mimetype="application/zip",
                         headers={"Content-Disposition": "attachment; filename=audit-bundle.zip"})


def _frame(questionnaire: Questionnaire) -> list[dict[str, Any]]:
    stats: dict[Any, Counter] = defaultdict(Counter)
    for link in questionnaire.links:
        name = link.village.name if link.village else "全镇"
        if link.kind == LinkKind.CARD:
            stats[name]["issued"] += 1
            stats[name]["used"] += link.used_at is not None
            stats[name]["voided"] += link.voided_at is not None
        else:
            stats[name]["posters"] += 1
    return [{"village": k, **v} for k, v in stats.items()]


@bp.route("/questionnaires/<int:questionnaire_id>")
@role_required(*ALL_ROLES)
def evidence(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Everything a satisfaction claim rests on, for one indicator."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    result = compute(session, questionnaire)
    flags = compute_flags(session, questionnaire)
    without = compute(session, questionnaire, leave_out=flagged_ids(flags)) if flags else None
    claim = session.scalar(select(Measurement).where(Measurement.indicator_id == questionnaire.indicator_id)
                           .order_by(Measurement.id.desc()).limit(1))
    frame = _frame(questionnaire)
    issued = sum(row.get("issued", 0) for row in frame)
    used = sum(row.get("used", 0) for row in frame)
    link_ids = [link.id for link in questionnaire.links]
    response_ids = session.scalars(select(Response.id).where(Response.questionnaire_id == questionnaire.id)).all()
    events = session.scalars(
        select(AuditEvent).where(or_(
            (AuditEvent.object_type == "Questionnaire") & (AuditEvent.object_id == str(questionnaire.id)),
            (AuditEvent.object_type == "Indicator") & (AuditEvent.object_id == str(questionnaire.indicator_id)),
            (AuditEvent.object_type == "Link") & (AuditEvent.object_id.in_([str(i) for i in link_ids])),
            (AuditEvent.object_type == "Response") & (AuditEvent.object_id.in_([str(i) for i in response_ids])),
        )).order_by(AuditEvent.id)
    ).all()
    return render_template("audit/evidence.html", q=questionnaire, r=result, flags=flags, without=without,
                           claim=claim, frame=frame, issued=issued, used=used, events=events,
                           exclusions=exclusions_for(session, questionnaire))


# -- raw data exports ---------------------------------------------------------------------------------

KINDS = ("responses", "cards", "exclusions", "audit_log", "versions")


def _table(kind: str, questionnaire: Questionnaire | None) -> tuple[list[str], list[list[Any]]]:
    """One raw table, limited to ``questionnaire`` or else to the units the account sees."""
    session = get_session()
    scoped = questionnaire_ids(session, current_user)
    questionnaires = ([questionnaire] if questionnaire else session.scalars(
        restrict_questionnaires(select(Questionnaire).order_by(Questionnaire.id), Questionnaire.id, session,
                                current_user)))
    if kind == "responses":
        query = select(Response).where(Response.simulated.is_(False)).order_by(Response.id)
        if questionnaire is not None:
            query = query.where(Response.questionnaire_id == questionnaire.id)
        elif scoped is not None:
            query = query.where(Response.questionnaire_id.in_(scoped))
        fields = [*EXPORT_FIELDS, "started_at"]
        rows = [[_cell(getattr(r, f)) for f in fields] for r in session.scalars(query)]
        return fields, rows
    if kind == "cards":
        query = select(Link).order_by(Link.id)
        if questionnaire is not None:
            query = query.where(Link.questionnaire_id == questionnaire.id)
        elif scoped is not None:
            query = query.where(Link.questionnaire_id.in_(scoped))
        fields = ["id", "questionnaire_id", "village", "kind", "card_no", "created_at", "used_at", "voided_at"]
        return fields, [[c.id, c.questionnaire_id, c.village.name if c.village else "", c.kind.value, c.card_no,
                         _cell(c.created_at), _cell(c.used_at), _cell(c.voided_at)] for c in session.scalars(query)]
    if kind == "exclusions":
        fields = ["id", "receipt", "reason", "excluded_by", "excluded_at", "reverted_at", "reverted_by", "revert_reason"]
        pairs = []
        for q in questionnaires:
            pairs += exclusions_for(session, q)
        return fields, [[e.id, r.receipt, e.reason, e.excluded_by, _cell(e.excluded_at), _cell(e.reverted_at),
                         e.reverted_by or "", e.revert_reason] for e, r in pairs]
    if kind == "audit_log":
        fields = ["id", "at", "actor", "action", "object_type", "object_id", "details"]
        return fields, [[e.id, _cell(e.at), e.actor, e.action, e.object_type, e.object_id, _cell(e.details)]
                        for e in session.scalars(select(AuditEvent).where(event_condition(session, current_user))
                                                 .order_by(AuditEvent.id))]
    fields = ["questionnaire_id", "number", "published_at", "published_by", "content_hash", "content"]
    versions = [v for q in questionnaires for v in q.versions]
    return fields, [[v.questionnaire_id, v.number, _cell(v.published_at), v.published_by, v.content_hash,
                     _cell(v.content)] for v in versions]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if hasattr(value, "isoformat"):
        from analysis.chain import timestamp

        return timestamp(value)
    return getattr(value, "value", value)


@bp.route("/export/<kind>.<fmt>")
@role_required(*ALL_ROLES)
def export(kind: str, fmt: str):  # type: ignore[no-untyped-def]
    """Raw data as CSV or XLSX (hashes only, no personal data); ?questionnaire=ID to narrow."""
    if kind not in KINDS or fmt not in ("csv", "xlsx"):
        abort(404)
    questionnaire_id = request.args.get("questionnaire", type=int)
    questionnaire = get_or_404(Questionnaire, questionnaire_id) if questionnaire_id else None
    if questionnaire is not None and not can_see_unit(get_session(), current_user,
                                                      questionnaire.indicator.project.unit_id):
        abort(404)  # another unit's questionnaire: as if it did not exist
    fields, raw_rows = _table(kind, questionnaire)
    rows = [[safe_cell(value) for value in row] for row in raw_rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(fields)
        writer.writerows(rows)
        return FlaskResponse("\ufeff" + out.getvalue(), mimetype="text/csv",
                             headers={"Content-Disposition": f"attachment; filename={kind}.csv"})
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = kind
    sheet.append(fields)
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return FlaskResponse(data.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         headers={"Content-Disposition": f"attachment; filename={kind}.xlsx"})
