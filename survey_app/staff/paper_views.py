"""Staff views for paper questionnaires and interviews, with double entry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from survey_app.auth.decorators import EDITORS, role_required
from survey_app.db import get_or_404, get_session
from survey_app.models import (
    Channel,
    Link,
    LinkKind,
    Questionnaire,
)
from survey_app.services import collection
from survey_app.services.cellsafe import clean_text
from survey_app.services.collection import Answers, CardUsed, NotAccepting, validate_answers
from survey_app.staff import bp
from survey_app.staff.distribution_views import _units_villages
from survey_app.staff.forms import PaperForm, SimpleForm
from survey_app.staff.questionnaire_views import _actor


@bp.route("/questionnaires/<int:questionnaire_id>/paper", methods=["GET", "POST"])
@role_required(*EDITORS)
def paper_entry(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Fast keyboard entry of paper questionnaires and interviews."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    version = questionnaire.current_version
    if version is None:
        flash("问卷还没有发布。", "error")
        return redirect(url_for("staff.edit_questionnaire", questionnaire_id=questionnaire.id))
    villages = _units_villages(questionnaire)
    form = PaperForm()
    errors: dict[str, str] = {}
    answers_in: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        typed = {k: v for k, v in request.form.items() if k not in ("csrf_token", "channel", "form_no", "card_no")}
        answers_in = {k: clean_text(v) for k, v in typed.items()}
        answers, errors = validate_answers(version.content, typed, villages=villages, fixed_village=None)
        if answers is not None:
            result = _store_paper(session, questionnaire, answers, form)
            if result is not None:
                return result
    elif request.method == "POST":
        errors = {k: "；".join(v) for k, v in form.errors.items()}
    pending = collection.mismatches(session, questionnaire)
    return render_template("staff/paper.html", q=questionnaire, version=version, form=form, villages=villages,
                           answers=answers_in, errors=errors, mismatches=pending)


def _store_paper(session, questionnaire: Questionnaire, answers: Answers, form: PaperForm):  # type: ignore[no-untyped-def]
    card = None
    if form.card_no.data:
        card = session.scalar(select(Link).where(Link.questionnaire_id == questionnaire.id, Link.kind == LinkKind.CARD,
                                                 Link.card_no == form.card_no.data,
                                                 Link.village_id == answers.village_id))
        if card is None:
            flash(f"没有找到该村编号为 {form.card_no.data} 的卡片。", "error")
            return None
    try:
        result = collection.enter_paper(session, questionnaire, answers=answers, channel=Channel(form.channel.data),
                                        form_no=form.form_no.data or "", actor=_actor(), card=card)
        session.commit()
    except CardUsed as exc:
        session.rollback()
        flash(f"该卡片已于 {exc.used_at:%Y-%m-%d %H:%M} 使用过，不能再录入。", "error")
        return None
    except (ValueError, NotAccepting) as exc:
        session.rollback()
        flash(str(getattr(exc, "reason", exc)), "error")
        return None
    messages = {
        "stored": f"已保存，回执码 {result.response.receipt if result.response else ''}。",
        "duplicate": "这份问卷已经录入过，没有重复保存。",
        "pending": "第一次录入已保存，等待另一位工作人员第二次录入后才计入结果。",
        "matched": "两次录入一致，已计入结果。",
        "mismatch": "两次录入不一致，已列入下方待核对清单：" + "；".join(
            f"{k}：{a} / {b}" for k, (a, b) in result.differences.items()),
    }
    flash(messages[result.status], "error" if result.status == "mismatch" else "success")
    return redirect(url_for("staff.paper_entry", questionnaire_id=questionnaire.id))


@bp.route("/questionnaires/<int:questionnaire_id>/paper/resolve", methods=["POST"])
@role_required(*EDITORS)
def resolve_paper(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Settle a double-entry mismatch with the answers read again off the paper."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    version = questionnaire.current_version
    if version is None or not SimpleForm().validate_on_submit():
        abort(400)
    form_no = clean_text(request.form.get("form_no", ""))
    answers_in = {k: v for k, v in request.form.items() if k not in ("csrf_token", "form_no")}
    answers, errors = validate_answers(version.content, answers_in, villages=_units_villages(questionnaire),
                                       fixed_village=None)
    if answers is None:
        flash("核对结果不完整：" + "；".join(errors.values()), "error")
    else:
        try:
            response = collection.resolve_mismatch(session, questionnaire, form_no, answers, actor=_actor())
            session.commit()
        except (ValueError, NotAccepting) as exc:
            session.rollback()
            flash(str(exc), "error")
        else:
            flash(f"问卷 {form_no} 已核对并计入结果，回执码 {response.receipt}。", "success")
    return redirect(url_for("staff.paper_entry", questionnaire_id=questionnaire.id))
