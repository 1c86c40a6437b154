"""Reading the answers: per-question results, comments, the response list, one response, exports."""

from __future__ import annotations

import tempfile
from urllib.parse import quote

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_db, get_or_404, get_session, transaction
from survey_app.models import Channel, Exclusion, Questionnaire, Response
from survey_app.services import answers as svc
from survey_app.services import exports
from survey_app.services.collection import validate_answers
from survey_app.services.corrections import CorrectionError, correct, history, successor
from survey_app.services.exclusions import ExclusionError, exclude
from survey_app.services.paging import paginate, sorted_by
from survey_app.staff import bp
from survey_app.staff.forms import SimpleForm

MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8", "spss": "application/zip"}


def _filters() -> svc.Filters:
    filters = svc.Filters.from_args(request.args)
    for error in filters.errors:
        flash(error, "error")
    return filters


def _context(questionnaire: Questionnaire, filters: svc.Filters) -> dict:  # type: ignore[type-arg]
    return {"q": questionnaire, "filters": filters, "channels": list(Channel),
            "villages": sorted(questionnaire.indicator.project.unit.villages, key=lambda v: v.name),
            "identities": svc.identities(questionnaire), "versions": [v.number for v in questionnaire.versions],
            "form": SimpleForm()}


@bp.route("/questionnaires/<int:questionnaire_id>/answers")
@role_required(*ALL_ROLES)
def answers(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Every question's counts and shares with a bar chart; the satisfaction rate with its interval; cross-tabs."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    filters = _filters()
    total, questions = svc.question_results(session, questionnaire, filters)
    return render_template("answers/results.html", total=total, questions=questions,
                           by_village=svc.crosstab(session, questionnaire, filters, "village"),
                           by_identity=svc.crosstab(session, questionnaire, filters, "identity"),
                           **_context(questionnaire, filters))


@bp.route("/questionnaires/<int:questionnaire_id>/comments")
@role_required(*ALL_ROLES)
def comments(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """All 意见建议, newest first, searchable, with their follow-up state."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    filters = _filters()
    page = paginate(session, svc.comments_query(session, questionnaire, filters), request.args)
    followups = svc.latest_followups(session, [r.id for r in page.items])
    return render_template("answers/comments.html", page=page, followups=followups,
                           names=svc.village_names(questionnaire), **_context(questionnaire, filters))


@bp.route("/responses/<int:response_id>/followup", methods=["POST"])
@role_required(*EDITORS)
def follow_up(response_id: int):  # type: ignore[no-untyped-def]
    """Mark a comment as followed up (with a note), or reopen it."""
    session = get_session()
    response = get_or_404(Response, response_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(ValueError, session=session) as done:
        svc.follow_up(session, response, request.form.get("note", ""), done=request.form.get("done") != "0",
                      actor=current_user.username)
    if done.ok:
        flash("已记录跟进情况。", "success")
    return redirect(request.form.get("next") or url_for("staff.comments", questionnaire_id=response.questionnaire_id))


@bp.route("/questionnaires/<int:questionnaire_id>/responses")
@role_required(*ALL_ROLES)
def responses(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """The responses, filtered, sorted and paginated; exclusion of several at once with a reason."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    filters = _filters()
    query, sort = sorted_by(svc.responses_query(session, questionnaire, filters), request.args, svc.SORTS,
                            "-submitted_at")
    page = paginate(session, query.order_by(Response.id.desc()), request.args)
    excluded = svc.excluded_ids(session, [r.id for r in page.items])
    numbers = {v.id: v.number for v in questionnaire.versions}
    return render_template("answers/responses.html", page=page, excluded=excluded, sort=sort, numbers=numbers,
                           names=svc.village_names(questionnaire), **_context(questionnaire, filters))


@bp.route("/questionnaires/<int:questionnaire_id>/responses/exclude", methods=["POST"])
@role_required(*EDITORS)
def exclude_responses(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Exclude the ticked responses with one reason (all or nothing)."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    ids = sorted({int(i) for i in request.form.getlist("ids") if i.isdigit()})
    back = request.form.get("next") or url_for("staff.responses", questionnaire_id=questionnaire.id)
    if not ids:
        flash("请先勾选要排除的答卷。", "error")
        return redirect(back)
    chosen = session.scalars(select(Response).where(Response.id.in_(ids),
                                                    Response.questionnaire_id == questionnaire.id)).all()
    with transaction(ExclusionError, session=session, prefix="没有排除任何答卷：") as done:
        if len(chosen) != len(ids):
            raise ExclusionError("勾选的答卷中有不属于本问卷的，没有排除任何答卷。")
        for response in chosen:
            exclude(session, response, request.form.get("reason", ""), actor=current_user.username)
    if done.ok:
        flash(f"已排除 {len(chosen)} 份答卷（原答卷保留，可在结果详情页撤销）。", "success")
    return redirect(back)


def _single(response: Response):  # type: ignore[no-untyped-def]
    session = get_session()
    from survey_app.services.flags import compute_flags

    questionnaire = session.get(Questionnaire, response.questionnaire_id)
    flags = [f for f in compute_flags(session, questionnaire) if response.id in f.response_ids]
    exclusion_history = session.scalars(select(Exclusion).where(Exclusion.response_id == response.id)
                                        .order_by(Exclusion.id)).all()
    return {"q": questionnaire, "r": response, "content": response.version.content, "flags": flags,
            "exclusions": exclusion_history, "line": history(session, response), "later": successor(session, response),
            "followups": svc.latest_followups(session, [response.id]), "form": SimpleForm(),
            "villages": sorted(questionnaire.indicator.project.unit.villages, key=lambda v: v.name)}


@bp.route("/responses/<int:response_id>")
@role_required(*ALL_ROLES)
def response_detail(response_id: int):  # type: ignore[no-untyped-def]
    """One response: answers as the respondent saw the questions, channel, receipt, chain position, flags."""
    return render_template("answers/response.html", **_single(get_or_404(Response, response_id)))


@bp.route("/responses/<int:response_id>/correct", methods=["POST"])
@role_required(*EDITORS)
def correct_response(response_id: int):  # type: ignore[no-untyped-def]
    """Correct a mistyped paper form: a new row supersedes this one (which stays), with a reason."""
    session = get_session()
    response = get_or_404(Response, response_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    questionnaire = session.get(Questionnaire, response.questionnaire_id)
    villages = list(questionnaire.indicator.project.unit.villages)
    checked, errors = validate_answers(response.version.content, request.form, villages=villages, fixed_village=None)
    if checked is None:
        flash("更正没有保存：" + "；".join(errors.values()), "error")
        return redirect(url_for("staff.response_detail", response_id=response.id))
    with transaction(CorrectionError, session=session) as done:
        new = correct(session, response, checked, request.form.get("reason", ""), actor=current_user.username)
    if not done.ok:
        return redirect(url_for("staff.response_detail", response_id=response.id))
    flash(f"已更正：新记录回执码 {new.receipt} 取代 {response.receipt}（原记录保留）。", "success")
    return redirect(url_for("staff.response_detail", response_id=new.id))


@bp.route("/questionnaires/<int:questionnaire_id>/export.<fmt>")
@role_required(*ALL_ROLES)
def export_answers(questionnaire_id: int, fmt: str):  # type: ignore[no-untyped-def]
    """.xlsx, .csv or SPSS .zip of every response (simulated ones only with ?simulated=1)."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if fmt not in exports.FORMATS:
        abort(404)
    simulated = request.args.get("simulated") == "1"
    name = exports.filename(questionnaire, fmt, simulated)
    disposition = f"attachment; filename=answers.{name.rsplit('.', 1)[-1]}; filename*=UTF-8''{quote(name)}"
    if fmt == "csv":
        database, ident = get_db(), questionnaire.id

        def chunks():  # type: ignore[no-untyped-def]
            # a session of its own: the download outlives the request's session
            own = database.session()
            try:
                yield from exports.csv_chunks(own, own.get(Questionnaire, ident), simulated=simulated)
            finally:
                own.close()

        return FlaskResponse(chunks(), mimetype=MIMETYPES[fmt], headers={"Content-Disposition": disposition})
    spool = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by the stream below
    try:
        exports.write(session, questionnaire, fmt, spool, simulated=simulated, codes=request.args.get("codes") != "0")
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def stream():  # type: ignore[no-untyped-def]
        with spool:
            while chunk := spool.read(256 * 1024):
                yield chunk

    return FlaskResponse(stream(), mimetype=MIMETYPES[fmt], headers={
        "Content-Disposition": disposition, "Content-Length": str(size)})
