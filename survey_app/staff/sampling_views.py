"""Staff pages for honest samples: frames per village, the seeded draw, visit lists, dispositions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from survey_app.auth.decorators import EDITORS, role_required
from survey_app.db import get_or_404, get_session, transaction
from survey_app.models import Link, Questionnaire, Village
from survey_app.services import sampling
from survey_app.services.sampling import DISPOSITION_LABELS, STAFF_DISPOSITIONS, SamplingError
from survey_app.staff import bp
from survey_app.staff.forms import SimpleForm


def _villages(questionnaire: Questionnaire) -> list[Village]:
    return list(questionnaire.indicator.project.unit.villages)


def _whole(value: str, what: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 7:
        raise SamplingError(f"{what}必须是整数，填写的是“{value[:12]}”。")
    return int(value)


def _save_frames(session, questionnaire: Questionnaire) -> str:  # type: ignore[no-untyped-def]
    changed = 0
    for village in _villages(questionnaire):
        size = _whole(request.form.get(f"frame-{village.id}", ""), f"{village.name}的名单人数")
        description = request.form.get(f"desc-{village.id}", "")
        list_hash = ""
        upload = request.files.get(f"list-{village.id}")
        if upload and upload.filename:
            size, list_hash = sampling.parse_numbered_list(upload.read(16 * sampling.MAX_FRAME + 1))
        before = sampling.frames_of(session, questionnaire).get(village.id)
        if size is None and before is None:
            continue
        sampling.set_frame(session, questionnaire, village, size, actor=current_user.username,
                           description=description, list_hash=list_hash or (before.list_hash if before and
                                                                               size == before.size else ""))
        changed += 1
    return f"已保存 {changed} 个村的名单。"


@bp.route("/questionnaires/<int:questionnaire_id>/sampling", methods=["GET", "POST"])
@role_required(*EDITORS)
def sampling_page(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Frames per village, declare the draw, draw with the public number."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    form = SimpleForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        action = request.form.get("action")
        with transaction(SamplingError, session=session) as done:
            if action == "frames":
                message = _save_frames(session, questionnaire)
            elif action == "declare":
                frames = sampling.frames_of(session, questionnaire)
                sizes = {vid: _whole(request.form.get(f"size-{vid}", ""), f"{f.village.name}的抽取数量") or 0
                         for vid, f in frames.items()}
                sampling.declare_draw(session, questionnaire, request.form.get("lottery", ""), sizes,
                                      actor=current_user.username)
                message = "抽样已登记。请把登记内容（链头、公开号码来源、各村数量）打印或公布，等公开号码揭晓后再抽取。"
            elif action == "draw":
                cards = sampling.perform_draw(session, questionnaire, request.form.get("number", ""),
                                              actor=current_user.username)
                message = f"已抽取，并按抽中位置发放 {len(cards)} 张卡片。"
            else:
                abort(400)
        if done.ok:
            flash(message, "success")
            return redirect(url_for("staff.sampling_page", questionnaire_id=questionnaire.id))
    draw = sampling.draw_of(session, questionnaire)
    allocation = None
    if draw is None and "expected" in request.args:
        try:
            allocation = sampling.plan_allocation(
                session, questionnaire, (_whole(request.args.get("expected", ""), "预计满意率") or 0) / 100,
                (_whole(request.args.get("response", ""), "预计应答率") or 0) / 100)
        except SamplingError as exc:
            flash(str(exc), "error")
    cards = sampling.drawn_cards(questionnaire)
    per_village: dict[int, int] = {}
    for card in cards:
        per_village[card.village_id] = per_village.get(card.village_id, 0) + 1  # type: ignore[index]
    return render_template(
        "staff/sampling.html", q=questionnaire, villages=_villages(questionnaire), form=form, draw=draw,
        frames=sampling.frames_of(session, questionnaire), per_village=per_village, allocation=allocation,
        root=sampling.current_root(session), problems=sampling.issued_problems(session, questionnaire),
        command=sampling.check_command(draw) if draw is not None and draw.seed else "",
    )


@bp.route("/questionnaires/<int:questionnaire_id>/sampling/villages/<int:village_id>", methods=["GET", "POST"])
@role_required(*EDITORS)
def visit_list(questionnaire_id: int, village_id: int):  # type: ignore[no-untyped-def]
    """Printable visit list of one village (position → card), with bulk disposition entry."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    village = get_or_404(Village, village_id)
    form = SimpleForm()
    cards = sampling.drawn_cards(questionnaire, village.id)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        with transaction(SamplingError, session=session) as done:
            updates = {}
            for card in cards:
                if f"disp-{card.id}" not in request.form:
                    continue
                updates[card.id] = (request.form.get(f"disp-{card.id}", ""),
                                    _whole(request.form.get(f"visits-{card.id}", ""), f"卡片 {card.card_no} 的上门次数"))
            changed = sampling.set_dispositions(session, questionnaire, updates, actor=current_user.username)
        if done.ok:
            flash(f"已保存 {changed} 张卡片的结果。", "success")
            return redirect(url_for("staff.visit_list", questionnaire_id=questionnaire.id, village_id=village.id))
    answered = sampling._answered(session, [c.id for c in cards])
    rows = [{"card": c, "state": sampling.effective_disposition(c, answered),
             "replaced": any(o.replaces_id == c.id for o in cards)} for c in sorted(cards, key=lambda c: c.position)]
    return render_template(
        "staff/visit_list.html", q=questionnaire, village=village, rows=rows, form=form,
        draw=sampling.draw_of(session, questionnaire), labels=DISPOSITION_LABELS, choices=STAFF_DISPOSITIONS,
        printing=request.args.get("print") == "1",
    )


@bp.route("/questionnaires/<int:questionnaire_id>/sampling/pool", methods=["POST"])
@role_required(*EDITORS)
def pool_posters(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Switch "合并海报答卷": pool self-selected answers into the random draw's figure, or not."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    pool = request.form.get("pool") == "1"
    if sampling.set_pool_posters(session, questionnaire, pool, actor=current_user.username):
        session.commit()
        flash("已合并海报答卷：满意率按自愿作答计算，并如实标注。" if pool else
              "已取消合并：满意率只按抽中卡片的答卷计算。", "success")
    return redirect(url_for("staff.sampling_page", questionnaire_id=questionnaire.id))


@bp.route("/links/<int:link_id>/replace", methods=["POST"])
@role_required(*EDITORS)
def replace_card(link_id: int):  # type: ignore[no-untyped-def]
    """Issue a card for the next reserve position in place of a card found not eligible."""
    session = get_session()
    card = get_or_404(Link, link_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(SamplingError, session=session) as done:
        new = sampling.replace_card(session, card, actor=current_user.username)
    if done.ok:
        flash(f"已按替补顺序发放卡片 {new.card_no}（名单第 {new.position} 号）。", "success")
    if card.village_id is None:
        return redirect(url_for("staff.sampling_page", questionnaire_id=card.questionnaire_id))
    return redirect(url_for("staff.visit_list", questionnaire_id=card.questionnaire_id, village_id=card.village_id))


def _design_key(result):  # type: ignore[no-untyped-def]
    return result.questionnaire.id, result.simulated, result.valid_n, result.successes


@bp.app_template_global("design_of")
def design_of(result):  # type: ignore[no-untyped-def]
    """The design assessment of a result, once per request (used by ``_partials/design*.html``)."""
    from flask import g

    cache = g.setdefault("design_assessments", {})
    if _design_key(result) not in cache:
        prepare_designs([result])
    return cache[_design_key(result)]


def prepare_designs(results) -> None:  # type: ignore[no-untyped-def]
    """Assess the designs of all ``results`` a page shows at once (draws, cards and answers read once)."""
    from flask import g

    cache = g.setdefault("design_assessments", {})
    missing = [r for r in results if _design_key(r) not in cache]
    for result, assessment in zip(missing, sampling.design_assessments(get_session(), missing), strict=True):
        cache[_design_key(result)] = assessment
