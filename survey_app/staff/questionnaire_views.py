"""Staff views for questionnaires: generate, edit, preview, publish, change status."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_or_404, get_session, transaction
from survey_app.models import (
    Indicator,
    Project,
    Questionnaire,
    QuestionnaireStatus,
    Response,
    Unit,
)
from survey_app.respond.views import render_preview
from survey_app.services.distribution import ensure_posters
from survey_app.services.questionnaires import (
    QuestionnaireError,
    ensure_questionnaire,
    generate_for,
    publish,
    set_status,
    update_draft,
)
from survey_app.services.scope import restrict_questionnaires, visible_units
from survey_app.staff import bp
from survey_app.staff.forms import QuestionnaireForm, SimpleForm


def base_url() -> str:
    return current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")


def _actor() -> str:
    return current_user.username


# -- generation -------------------------------------------------------------------------


@bp.route("/indicators/<int:indicator_id>/questionnaire", methods=["POST"])
@role_required(*EDITORS)
def generate_questionnaire(indicator_id: int):  # type: ignore[no-untyped-def]
    """Generate the questionnaire draft for one satisfaction indicator."""
    session = get_session()
    indicator = get_or_404(Indicator, indicator_id)
    with transaction(QuestionnaireError, session=session) as done:
        questionnaire, created = ensure_questionnaire(session, indicator, actor=_actor())
    if not done.ok:
        return redirect(url_for("staff.project", project_id=indicator.project_id))
    flash("已生成问卷草稿。" if created else "该指标已有问卷。", "success")
    return redirect(url_for("staff.edit_questionnaire", questionnaire_id=questionnaire.id))


@bp.route("/projects/<int:project_id>/questionnaires", methods=["POST"])
@role_required(*EDITORS)
def generate_project_questionnaires(project_id: int):  # type: ignore[no-untyped-def]
    """Generate drafts for all satisfaction indicators of a project."""
    session = get_session()
    project = get_or_404(Project, project_id)
    created, existing = generate_for(session, list(project.indicators), actor=_actor())
    session.commit()
    flash(f"新生成问卷 {created} 份，已有 {existing} 份。", "success")
    return redirect(url_for("staff.questionnaires"))


@bp.route("/units/<int:unit_id>/questionnaires", methods=["POST"])
@role_required(*EDITORS)
def generate_unit_questionnaires(unit_id: int):  # type: ignore[no-untyped-def]
    """Generate drafts for all satisfaction indicators of a unit."""
    session = get_session()
    unit = get_or_404(Unit, unit_id)
    indicators = [i for p in unit.projects for i in p.indicators]
    created, existing = generate_for(session, indicators, actor=_actor())
    session.commit()
    flash(f"新生成问卷 {created} 份，已有 {existing} 份。", "success")
    return redirect(url_for("staff.questionnaires"))


@bp.route("/questionnaires")
@role_required(*ALL_ROLES)
def questionnaires():  # type: ignore[no-untyped-def]
    """All questionnaires with their state and response counts."""
    session = get_session()
    rows = session.scalars(restrict_questionnaires(select(Questionnaire).order_by(Questionnaire.id), Questionnaire.id,
                                                   session, current_user)).all()
    counts = dict(
        session.execute(
            select(Response.questionnaire_id, func.count(Response.id))
            .where(Response.simulated.is_(False))
            .group_by(Response.questionnaire_id)
        ).all()
    )
    units = visible_units(session, current_user)
    return render_template("staff/questionnaires.html", questionnaires=rows, counts=counts, units=units,
                           form=SimpleForm())


# -- editing and publishing -----------------------------------------------------------------


@bp.route("/questionnaires/<int:questionnaire_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_questionnaire(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Edit the draft: wording, aspect questions and their order, the rate method."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    draft = questionnaire.draft
    form = QuestionnaireForm()
    if request.method == "GET":
        main = next(q for q in draft["questions"] if q["key"] == "satisfaction")
        form.title.data = draft["title"]
        form.intro.data = draft["intro"]
        form.satisfaction_text.data = main["text"]
        form.aspects.data = "\n".join(q["text"] for q in draft["questions"] if q["key"].startswith("aspect_"))
        form.rate_method.data = draft.get("rate_method", "top2")
        form.double_entry.data = questionnaire.double_entry
    if form.validate_on_submit():
        was_double = questionnaire.double_entry
        with transaction(QuestionnaireError, session=session) as done:
            _save_draft(session, questionnaire, form)
        if done.ok:
            flash("草稿已保存。问卷内容要发布后才会对答卷人生效。", "success")
            if questionnaire.double_entry != was_double:
                flash("纸质问卷双人录入已" + ("开启：从现在起录入的纸质问卷要由两位工作人员分别录入，一致后才计入结果"
                                        if questionnaire.double_entry else "关闭：从现在起录入一次即计入结果")
                      + "。这项设置立即生效，不需要重新发布；已经录入的问卷不受影响。", "success")
            return redirect(url_for("staff.edit_questionnaire", questionnaire_id=questionnaire.id))
    return render_template("staff/questionnaire_edit.html", q=questionnaire, form=form, action_form=SimpleForm())


def _save_draft(session, questionnaire: Questionnaire, form: QuestionnaireForm) -> None:  # type: ignore[no-untyped-def]
    update_draft(session, questionnaire, actor=_actor(), title=form.title.data, intro=form.intro.data,
                 satisfaction_text=form.satisfaction_text.data, aspects=(form.aspects.data or "").splitlines(),
                 rate_method=form.rate_method.data, double_entry=form.double_entry.data)


@bp.route("/questionnaires/<int:questionnaire_id>/preview")
@role_required(*ALL_ROLES)
def preview_questionnaire(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """The draft exactly as a phone shows it (?version=N for a published version)."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    number = request.args.get("version", type=int)
    if number is not None:
        version = next((v for v in questionnaire.versions if v.number == number), None)
        if version is None:
            abort(404)
        return render_preview(questionnaire, version.content)
    return render_preview(questionnaire, questionnaire.draft)


@bp.route("/questionnaires/<int:questionnaire_id>/publish", methods=["POST"])
@role_required(*EDITORS)
def publish_questionnaire(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Publish what is on the screen: the edit form's fields are saved and frozen as the next version.

    The 发布 button sits inside the edit form (``formaction``), so edits not yet saved as a draft are
    published, never silently dropped; when they are invalid nothing is published and the page
    comes back with the edits kept. A bare POST (no fields) publishes the saved draft. Publishing
    also creates the poster links, so opening the distribution page changes nothing.
    """
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    with_fields = "title" in request.form
    form = QuestionnaireForm() if with_fields else SimpleForm()
    if not form.validate_on_submit():
        if not with_fields:
            abort(400)
        flash("没有发布：请先改正下面标出的问题。", "error")
        return render_template("staff/questionnaire_edit.html", q=questionnaire, form=form,
                               action_form=SimpleForm())
    with transaction(QuestionnaireError, session=session, prefix="没有发布：") as done:
        if with_fields:
            _save_draft(session, questionnaire, form)
        version = publish(session, questionnaire, actor=_actor())
        ensure_posters(session, questionnaire, list(questionnaire.indicator.project.unit.villages), actor=_actor())
    if not done.ok:
        if with_fields:
            return render_template("staff/questionnaire_edit.html", q=questionnaire, form=form,
                                   action_form=SimpleForm())
        return redirect(url_for("staff.edit_questionnaire", questionnaire_id=questionnaire.id))
    flash(f"已发布第 {version.number} 版。已发布的版本不会再改变。", "success")
    return redirect(url_for("staff.distribution", questionnaire_id=questionnaire.id))


@bp.route("/questionnaires/<int:questionnaire_id>/status", methods=["POST"])
@role_required(*EDITORS)
def questionnaire_status(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Close a questionnaire or reopen it."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    target = request.form.get("status")
    if target not in ("closed", "published"):
        abort(400)
    with transaction(QuestionnaireError, session=session) as done:
        set_status(session, questionnaire, QuestionnaireStatus(target), actor=_actor())
    if done.ok:
        flash("问卷已结束收集。" if target == "closed" else "问卷已重新开放。", "success")
    return redirect(url_for("staff.distribution", questionnaire_id=questionnaire.id))
