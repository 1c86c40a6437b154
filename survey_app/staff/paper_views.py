"""Staff views for paper questionnaires and interviews, with double entry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from survey_app.auth.decorators import EDITORS, role_required
from survey_app.db import get_or_404, get_session, transaction
from survey_app.filters import local_time
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
        answers, errors = validate_answers(version.content, _village_as_id(typed, villages), villages=villages,
                                           fixed_village=None)
        if answers is not None:
            result = _store_paper(session, questionnaire, answers, form)
            if result is not None:
                return result
    elif request.method == "POST":
        errors = {k: "；".join(v) for k, v in form.errors.items()}
    pending = collection.mismatches(session, questionnaire)
    return render_template("staff/paper.html", q=questionnaire, version=version, form=form, villages=villages,
                           answers=answers_in, errors=errors, mismatches=pending,
                           readable_answers=lambda a: readable_answers(questionnaire, a))


def _village_as_id(answers_in: dict[str, str], villages: list) -> dict[str, str]:  # type: ignore[type-arg]
    """The village typed by name (the field searches as you type) given as its id, as the validator expects."""
    typed = (answers_in.get("village") or "").strip()
    match = next((v for v in villages if v.name == typed), None)
    return {**answers_in, "village": str(match.id)} if match is not None else answers_in


def _store_paper(session, questionnaire: Questionnaire, answers: Answers, form: PaperForm):  # type: ignore[no-untyped-def]
    card = None
    if form.card_no.data:
        card = session.scalar(select(Link).where(Link.questionnaire_id == questionnaire.id, Link.kind == LinkKind.CARD,
                                                 Link.card_no == form.card_no.data,
                                                 Link.village_id == answers.village_id))
        if card is None:
            flash(f"没有找到该村编号为 {form.card_no.data} 的卡片。", "error")
            return None
    with transaction(CardUsed, NotAccepting, ValueError, session=session,
                     message=lambda exc: _refusal(card, exc)) as done:
        result = collection.enter_paper(session, questionnaire, answers=answers, channel=Channel(form.channel.data),
                                        form_no=form.form_no.data or "", actor=_actor(), card=card)
    if not done.ok:
        return None
    messages = {
        "stored": f"已保存，回执码 {result.response.receipt if result.response else ''}。",
        "duplicate": "这份问卷已经录入过，没有重复保存。",
        "pending": "第一次录入已保存，等待另一位工作人员第二次录入后才计入结果。",
        "matched": "两次录入一致，已计入结果。",
        "mismatch": "两次录入不一致，已列入下方待核对清单：" + "；".join(
            describe_differences(questionnaire, result.differences)),
    }
    flash(messages[result.status], "error" if result.status == "mismatch" else "success")
    return redirect(url_for("staff.paper_entry", questionnaire_id=questionnaire.id))


def _refusal(card: Link | None, exc: Exception) -> str:
    """Why a paper entry was not saved, in the clerk's words."""
    if isinstance(exc, CardUsed):
        return card_used_message(card, exc)
    if isinstance(exc, NotAccepting):
        return NOT_ACCEPTING.get(exc.reason, "问卷现在不接收答卷。")
    return str(exc)


NOT_ACCEPTING = {
    "voided": "这张卡片已作废，不能录入。",
    "closed": "问卷已结束收集，不能再录入。请先在“二维码发放”页重新开放。",
    "unpublished": "问卷还没有发布，不能录入。",
}
CHANNELS = {"paper": "纸质问卷", "interview": "访谈录入", "poster": "扫海报二维码", "card": "扫卡片二维码"}


def card_used_message(card: Link | None, exc: CardUsed) -> str:
    """Why a card cannot be keyed again, naming the entry that used it (local time)."""
    number = f"第 {card.card_no} 号卡片" if card is not None else "该卡片"
    first = exc.response
    if first is None:
        return f"{number}已于 {local_time(exc.used_at)} 录入过，同一张卡片只能计入一次，这次没有保存。"
    how = CHANNELS.get(first.channel.value, first.channel.value)
    who = f"，录入人 {first.entered_by}" if first.entered_by else ""
    form_no = f"，问卷编号 {first.form_no}" if first.form_no else ""
    return (f"{number}已录入过：{local_time(first.submitted_at)}（{how}{who}{form_no}），回执码 {first.receipt}。"
            "同一张卡片只能计入一次，这次没有保存。")


class _Labels:
    """Question texts, village names and card numbers of a questionnaire, for showing keyed answers."""

    def __init__(self, questionnaire: Questionnaire) -> None:
        version = questionnaire.current_version
        self.texts = {q["key"]: q["text"].rstrip("：:？?") for q in (version.content["questions"] if version else [])}
        self.villages = {str(v.id): v.name for v in _units_villages(questionnaire)}
        self.cards = {str(link.id): f"第 {link.card_no} 号" for link in questionnaire.links if link.card_no is not None}

    def __call__(self, key: str, value: object) -> tuple[str, str]:
        text = "" if value is None else str(value)
        if key == "_village_id":
            return "所在村", self.villages.get(text, text)
        if key == "_card_id":
            return "卡片编号", self.cards.get(text, text)
        return self.texts.get(key, key), text


def readable_answers(questionnaire: Questionnaire, answers: dict[str, object]) -> list[str]:
    """One keyed entry as “题目：答案” lines (village and card by name, not by id)."""
    label = _Labels(questionnaire)
    return [f"{name}：{shown or '未填'}" for name, shown in (label(k, v) for k, v in answers.items())]


def describe_differences(questionnaire: Questionnaire, differences: dict[str, tuple[str, str]]) -> list[str]:
    """Double-entry differences in the words of the questionnaire (question text, village and card names)."""
    label = _Labels(questionnaire)
    lines = []
    for key, (first, second) in differences.items():
        name, first = label(key, first)
        _, second = label(key, second)
        lines.append(f"“{name}”：第一次“{first or '未填'}”，第二次“{second or '未填'}”")
    return lines


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
    answers, errors = validate_answers(version.content, _village_as_id(answers_in, _units_villages(questionnaire)),
                                       villages=_units_villages(questionnaire), fixed_village=None)
    if answers is None:
        label = _Labels(questionnaire)
        flash(f"问卷 {form_no} 的核对结果没有保存：" + "；".join(
            f"“{label(key, '')[0]}”{message}" for key, message in errors.items()), "error")
    else:
        with transaction(ValueError, NotAccepting, session=session, message=str) as done:
            response = collection.resolve_mismatch(session, questionnaire, form_no, answers, actor=_actor())
        if done.ok:
            flash(f"问卷 {form_no} 已核对并计入结果，回执码 {response.receipt}。", "success")
    return redirect(url_for("staff.paper_entry", questionnaire_id=questionnaire.id))
