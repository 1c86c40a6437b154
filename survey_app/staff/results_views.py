"""Results, exclusions, write-back and the self-evaluation table."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_or_404, get_session, transaction
from survey_app.forms_base import controls_in
from survey_app.models import Exclusion, Indicator, Measurement, Project, Questionnaire, Response, Unit
from survey_app.services.cellsafe import clean_text
from survey_app.services.exclusions import ExclusionError, exclude, exclusions_for, revert_exclusion
from survey_app.services.results import compute, compute_all, with_simulated
from survey_app.services.scope import visible_unit_ids
from survey_app.services.selfeval import build_table, evaluation_entries, save_entries
from survey_app.services.selfeval_export import export_docx, export_xlsx
from survey_app.services.writeback import DEFAULT_WEIGHTS, WritebackError, writeback
from survey_app.staff import bp
from survey_app.staff.forms import SimpleForm
from survey_app.staff.sampling_views import prepare_designs


@bp.route("/results")
@role_required(*ALL_ROLES)
def results():  # type: ignore[no-untyped-def]
    """Every satisfaction indicator with a questionnaire: rate, interval, verdict."""
    session = get_session()
    rows = compute_all(session, unit_ids=visible_unit_ids(session, current_user))  # a scoped account: its units only
    # which questionnaires have simulated demo answers (their figures are on the 模拟数据 link)
    simulated = dict.fromkeys(with_simulated(session, [r.questionnaire.id for r in rows]), True)
    prepare_designs([r for r in rows if r.value is not None])  # the rows with a figure show their design
    return render_template("staff/results.html", results=rows, simulated=simulated)


@bp.route("/questionnaires/<int:questionnaire_id>/results")
@role_required(*ALL_ROLES)
def result_detail(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """One indicator's figures, per village, trend, exclusions and write-back history."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    show_simulated = request.args.get("simulated") == "1"
    result = compute(session, questionnaire, simulated=show_simulated)
    history = session.scalars(select(Measurement).where(Measurement.indicator_id == questionnaire.indicator_id)
                              .order_by(Measurement.id.desc())).all()
    return render_template("staff/result_detail.html", r=result, q=questionnaire, history=history,
                           exclusions=exclusions_for(session, questionnaire), form=SimpleForm(),
                           show_simulated=show_simulated)


@bp.route("/questionnaires/<int:questionnaire_id>/exclusions", methods=["POST"])
@role_required(*EDITORS)
def add_exclusion(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Exclude one response (by its receipt code) with a reason."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    receipt = clean_text(request.form.get("receipt", "")).strip().upper()[:20]
    refused = controls_in(排除理由=request.form.get("reason"))
    if refused:
        flash(refused, "error")
        return redirect(url_for("staff.result_detail", questionnaire_id=questionnaire.id))
    response = session.scalar(select(Response).where(Response.receipt == receipt,
                                                     Response.questionnaire_id == questionnaire.id))
    if response is None:
        flash(f"本问卷没有回执码为 {receipt or '（空）'} 的答卷。", "error")
    else:
        with transaction(ExclusionError) as done:
            exclude(session, response, request.form.get("reason", ""), actor=current_user.username)
        if done.ok:
            flash(f"已排除回执码 {receipt} 的答卷（原答卷保留，可撤销）。", "success")
    return redirect(url_for("staff.result_detail", questionnaire_id=questionnaire.id))


@bp.route("/exclusions/<int:exclusion_id>/revert", methods=["POST"])
@role_required(*EDITORS)
def revert(exclusion_id: int):  # type: ignore[no-untyped-def]
    """Count an excluded response again, with a reason."""
    session = get_session()
    record = get_or_404(Exclusion, exclusion_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    response = session.get(Response, record.response_id)
    refused = controls_in(撤销理由=request.form.get("reason"))
    if refused:
        flash(refused, "error")
        return redirect(url_for("staff.result_detail", questionnaire_id=response.questionnaire_id))
    with transaction(ExclusionError) as done:
        revert_exclusion(session, record, request.form.get("reason", ""), actor=current_user.username)
    if done.ok:
        flash("已撤销排除，该答卷重新计入。", "success")
    return redirect(url_for("staff.result_detail", questionnaire_id=response.questionnaire_id))


@bp.route("/indicators/<int:indicator_id>/writeback", methods=["POST"])
@role_required(*EDITORS)
def writeback_indicator(indicator_id: int):  # type: ignore[no-untyped-def]
    """写回指标: store the current result on the indicator as a new dated record."""
    session = get_session()
    indicator = get_or_404(Indicator, indicator_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(WritebackError) as done:
        m = writeback(session, indicator, actor=current_user.username)
    if done.ok:
        flash(f"已写回“{indicator.name}”：实际完成值 {m.actual_value}（有效答卷 {m.n} 份，{m.verdict_label}）。", "success")
    return redirect(request.referrer or url_for("staff.project", project_id=indicator.project_id))


# -- self-evaluation -------------------------------------------------------------------------


def _decimal(text: str | None, what: str) -> Decimal | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise WritebackError(f"{what}“{text}”不是数字。") from None
    if value < 0:
        raise WritebackError(f"{what}不能为负数。")
    return value.quantize(Decimal("0.01"))


@bp.route("/projects/<int:project_id>/self-evaluation")
@role_required(*ALL_ROLES)
def self_evaluation(project_id: int):  # type: ignore[no-untyped-def]
    """The 绩效自评表 of a project, with the staff entries and the export links."""
    session = get_session()
    project = get_or_404(Project, project_id)
    entry, actuals = evaluation_entries(session, project)
    return render_template("staff/self_evaluation.html", project=project, table=build_table(session, project),
                           entry=entry, actuals=actuals, weights={**DEFAULT_WEIGHTS, **(entry.weights or {})},
                           form=SimpleForm())


@bp.route("/projects/<int:project_id>/self-evaluation", methods=["POST"])
@role_required(*EDITORS)
def save_self_evaluation(project_id: int):  # type: ignore[no-untyped-def]
    """Store the executed amount, weights and other rows' actual values (all or nothing)."""
    session = get_session()
    project = get_or_404(Project, project_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(WritebackError, ValueError, prefix="没有保存：") as done:
        refused = controls_in(填写的内容="".join(request.form.values()))
        if refused:
            raise WritebackError(refused)
        weights = {k: float(request.form.get(f"w_{k}", v) or 0) for k, v in DEFAULT_WEIGHTS.items()}
        actuals = {}
        for indicator in project.indicators:
            score_text = request.form.get(f"score_{indicator.id}", "").strip()
            actuals[indicator.id] = (
                request.form.get(f"actual_{indicator.id}", "").strip(),
                float(score_text) if score_text else None,
                request.form.get(f"deviation_{indicator.id}", "").strip(),
            )
        save_entries(
            session, project, actor=current_user.username,
            initial=_decimal(request.form.get("initial"), "年初预算数"),
            full_year=_decimal(request.form.get("full_year"), "全年预算数"),
            executed=_decimal(request.form.get("executed"), "全年执行数"),
            outcome=request.form.get("outcome", ""), weights=weights, actuals=actuals,
            supervisor=request.form.get("supervisor"),
        )
    if done.ok:
        flash("自评表已保存。", "success")
    return redirect(url_for("staff.self_evaluation", project_id=project.id))


def _download(data: bytes, name: str, mimetype: str) -> FlaskResponse:
    from urllib.parse import quote

    return FlaskResponse(data, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=self-evaluation.{name.rsplit('.', 1)[-1]}; "
                               f"filename*=UTF-8''{quote(name)}"})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.route("/projects/<int:project_id>/self-evaluation.xlsx")
@role_required(*ALL_ROLES)
def self_evaluation_xlsx(project_id: int):  # type: ignore[no-untyped-def]
    """The project's self-evaluation table as .xlsx."""
    project = get_or_404(Project, project_id)
    data = export_xlsx([build_table(get_session(), project)])
    return _download(data, f"{project.name}绩效自评表.xlsx", XLSX)


@bp.route("/projects/<int:project_id>/self-evaluation.docx")
@role_required(*ALL_ROLES)
def self_evaluation_docx(project_id: int):  # type: ignore[no-untyped-def]
    """The project's self-evaluation table as .docx."""
    project = get_or_404(Project, project_id)
    data = export_docx(build_table(get_session(), project))
    return _download(data, f"{project.name}绩效自评表.docx", DOCX)


@bp.route("/units/<int:unit_id>/self-evaluation.xlsx")
@role_required(*ALL_ROLES)
def unit_self_evaluation_xlsx(unit_id: int):  # type: ignore[no-untyped-def]
    """A whole-unit workbook, one sheet per project."""
    session = get_session()
    unit = get_or_404(Unit, unit_id)
    data = export_xlsx([build_table(session, p) for p in unit.projects])
    return _download(data, f"{unit.name}绩效自评表.xlsx", XLSX)
