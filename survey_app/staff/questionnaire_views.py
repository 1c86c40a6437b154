"""Staff views for questionnaires: generate, edit, preview, publish, distribute, enter paper, progress."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict

from flask import Response as FlaskResponse
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from analysis import proportion_interval, verdict
from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_or_404, get_session
from survey_app.models import (
    Channel,
    Indicator,
    Link,
    LinkKind,
    Project,
    Questionnaire,
    QuestionnaireStatus,
    Response,
    Unit,
    Village,
)
from survey_app.respond.views import render_preview
from survey_app.services import collection
from survey_app.services.collection import Answers, CardUsed, NotAccepting, validate_answers
from survey_app.services.distribution import (
    DistributionError,
    bundle_zip,
    card_pages,
    ensure_posters,
    issue_cards,
    link_url,
    links_listing,
    plan_cards,
    qr_svg,
    void_link,
)
from survey_app.services.questionnaires import (
    QuestionnaireError,
    ensure_questionnaire,
    generate_for,
    publish,
    set_status,
)
from survey_app.staff import bp
from survey_app.staff.forms import CardsForm, PaperForm, QuestionnaireForm, SimpleForm


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
    try:
        questionnaire, created = ensure_questionnaire(session, indicator, actor=_actor())
        session.commit()
    except QuestionnaireError as exc:
        session.rollback()
        flash(str(exc), "error")
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
    rows = session.scalars(select(Questionnaire).order_by(Questionnaire.id)).all()
    counts = dict(
        session.execute(
            select(Response.questionnaire_id, func.count(Response.id))
            .where(Response.simulated.is_(False))
            .group_by(Response.questionnaire_id)
        ).all()
    )
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    return render_template("staff/questionnaires.html", questionnaires=rows, counts=counts, units=units,
                           form=SimpleForm())


# -- editing and publishing -----------------------------------------------------------------


@bp.route("/questionnaires/<int:questionnaire_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_questionnaire(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Edit the draft: wording, aspect questions and their order, the rate method."""
    from survey_app.services.questionnaires import update_draft

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
        try:
            update_draft(session, questionnaire, actor=_actor(), title=form.title.data, intro=form.intro.data,
                         satisfaction_text=form.satisfaction_text.data,
                         aspects=(form.aspects.data or "").splitlines(), rate_method=form.rate_method.data,
                         double_entry=form.double_entry.data)
            session.commit()
        except QuestionnaireError as exc:
            session.rollback()
            flash(str(exc), "error")
        else:
            flash("草稿已保存。发布后才会对答卷人生效。", "success")
            return redirect(url_for("staff.edit_questionnaire", questionnaire_id=questionnaire.id))
    return render_template("staff/questionnaire_edit.html", q=questionnaire, form=form, action_form=SimpleForm())


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
    """Freeze the draft as the next version and open the questionnaire."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        version = publish(session, questionnaire, actor=_actor())
        session.commit()
    except QuestionnaireError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
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
    try:
        set_status(session, questionnaire, QuestionnaireStatus(target), actor=_actor())
        session.commit()
    except QuestionnaireError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash("问卷已结束收集。" if target == "closed" else "问卷已重新开放。", "success")
    return redirect(url_for("staff.distribution", questionnaire_id=questionnaire.id))


# -- distribution ---------------------------------------------------------------------------


def _units_villages(questionnaire: Questionnaire) -> list[Village]:
    return list(questionnaire.indicator.project.unit.villages)


def _card_stats(session, questionnaire: Questionnaire) -> dict[int | None, Counter]:  # type: ignore[no-untyped-def]
    stats: dict[int | None, Counter] = defaultdict(Counter)
    for link in questionnaire.links:
        if link.kind == LinkKind.CARD:
            key = "voided" if link.voided_at else "used" if link.used_at else "unused"
            stats[link.village_id][key] += 1
            stats[link.village_id]["issued"] += 1
    return stats


@bp.route("/questionnaires/<int:questionnaire_id>/distribution", methods=["GET", "POST"])
@role_required(*EDITORS)
def distribution(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Posters and card sheets per village, with a proposed number of cards."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    villages = _units_villages(questionnaire)
    form = CardsForm(village_choices=villages)
    plan = plan_error = None
    try:
        plan = plan_cards(questionnaire, villages, expected=(form.expected.data or 98) / 100,
                          response_rate=(form.response_rate.data or 70) / 100)
    except (DistributionError, ValueError) as exc:
        plan_error = str(exc)
    if form.validate_on_submit():
        try:
            chosen = villages if form.village.data == "all" else [
                v for v in villages if str(v.id) == form.village.data]
            planned = {row.village.id: row.cards for row in plan.rows} if plan else {}
            total = 0
            for village in chosen:
                count = form.count.data or planned.get(village.id, 0)
                if count:
                    total += len(issue_cards(session, questionnaire, village, count, actor=_actor()))
            ensure_posters(session, questionnaire, villages, actor=_actor())
            session.commit()
        except DistributionError as exc:
            session.rollback()
            flash(str(exc), "error")
        else:
            flash(f"已发放 {total} 张一次性卡片。", "success")
            return redirect(url_for("staff.distribution", questionnaire_id=questionnaire.id))
    if questionnaire.current_version is not None and request.method == "GET":
        ensure_posters(session, questionnaire, villages, actor=_actor())
        session.commit()
    posters = {link.village_id: link for link in questionnaire.links
               if link.kind == LinkKind.POSTER and link.voided_at is None}
    return render_template(
        "staff/distribution.html", q=questionnaire, villages=villages, form=form, plan=plan,
        plan_error=plan_error, posters=posters, stats=_card_stats(session, questionnaire), base=base_url(),
        link_url=link_url, action_form=SimpleForm(),
    )


@bp.route("/links/<int:link_id>/void", methods=["POST"])
@role_required(*EDITORS)
def void(link_id: int):  # type: ignore[no-untyped-def]
    """Void an unused card or a poster link."""
    session = get_session()
    link = get_or_404(Link, link_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        void_link(session, link, actor=_actor())
        session.commit()
    except DistributionError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash("已作废。", "success")
    return redirect(request.referrer or url_for("staff.distribution", questionnaire_id=link.questionnaire_id))


def _print_context(questionnaire: Questionnaire, village_id: int | None):  # type: ignore[no-untyped-def]
    villages = _units_villages(questionnaire)
    if village_id is not None:
        villages = [v for v in villages if v.id == village_id]
        if not villages:
            abort(404)
    base = base_url()
    return villages, base


@bp.route("/questionnaires/<int:questionnaire_id>/print/posters")
@role_required(*EDITORS)
def print_posters(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """A4 posters, one per village (large QR, project, village, short instructions)."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    return _render_posters(questionnaire, request.args.get("village", type=int))


def _render_posters(questionnaire: Questionnaire, village_id: int | None) -> str:
    villages, base = _print_context(questionnaire, village_id)
    ids = {v.id for v in villages}
    links = [link for link in questionnaire.links if link.kind == LinkKind.POSTER and link.voided_at is None
             and (link.village_id in ids or (village_id is None and link.village_id is None))]
    items = [(link, link_url(base, link), qr_svg(link_url(base, link), scale=10)) for link in links]
    return render_template("print/posters.html", q=questionnaire, items=items)


@bp.route("/questionnaires/<int:questionnaire_id>/print/cards")
@role_required(*EDITORS)
def print_cards(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """A4 sheets of unused single-use cards, 8 per page with cut marks."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    return _render_cards(questionnaire, request.args.get("village", type=int))


def _render_cards(questionnaire: Questionnaire, village_id: int | None) -> str:
    villages, base = _print_context(questionnaire, village_id)
    ids = {v.id for v in villages}
    cards = [link for link in questionnaire.links if link.kind == LinkKind.CARD and link.village_id in ids
             and link.voided_at is None and link.used_at is None]
    cards.sort(key=lambda c: (c.village.code if c.village else "", c.card_no or 0))
    items = [(c, link_url(base, c), qr_svg(link_url(base, c), scale=4)) for c in cards]
    return render_template("print/cards.html", q=questionnaire, pages=card_pages(items))


@bp.route("/questionnaires/<int:questionnaire_id>/bundle.zip")
@role_required(*EDITORS)
def bundle(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Everything for one questionnaire in one ZIP: posters, card sheets per village, link list."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    files: dict[str, str | bytes] = {"海报.html": _render_posters(questionnaire, None)}
    for village in _units_villages(questionnaire):
        if any(link.kind == LinkKind.CARD and link.village_id == village.id for link in questionnaire.links):
            files[f"卡片-{village.code}-{village.name}.html"] = _render_cards(questionnaire, village.id)
    out = io.StringIO()
    rows = links_listing(questionnaire, base_url())
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["url"])
    writer.writeheader()
    writer.writerows(rows)
    files["links.csv"] = "\ufeff" + out.getvalue()
    data = bundle_zip(files)
    name = f"questionnaire-{questionnaire.id}.zip"
    return FlaskResponse(data, mimetype="application/zip",
                         headers={"Content-Disposition": f"attachment; filename={name}"})


# -- paper entry --------------------------------------------------------------------------------


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
        answers_in = {k: v for k, v in request.form.items() if k not in ("csrf_token", "channel", "form_no", "card_no")}
        answers, errors = validate_answers(version.content, answers_in, villages=villages, fixed_village=None)
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
    form_no = request.form.get("form_no", "")
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


# -- progress -------------------------------------------------------------------------------


@bp.route("/questionnaires/<int:questionnaire_id>/progress")
@role_required(*ALL_ROLES)
def progress(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Per village: cards issued/used, responses by channel, the live rate, last response."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    rows = session.execute(
        select(Response.village_id, Response.channel, Response.satisfaction, func.count(Response.id),
               func.max(Response.submitted_at))
        .where(Response.questionnaire_id == questionnaire.id, Response.simulated.is_(False))
        .group_by(Response.village_id, Response.channel, Response.satisfaction)
    ).all()
    per_village: dict[int | None, dict[str, object]] = defaultdict(
        lambda: {"channels": Counter(), "answers": Counter(), "last": None})
    for village_id, channel, satisfaction, count, last in rows:
        entry = per_village[village_id]
        entry["channels"][channel] += count  # type: ignore[index]
        entry["answers"][satisfaction] += count  # type: ignore[index]
        if entry["last"] is None or last > entry["last"]:  # type: ignore[operator]
            entry["last"] = last
    rate_method = (questionnaire.current_version.content if questionnaire.current_version else {}).get("rate_method")

    def summary(answers: Counter) -> dict[str, object]:
        satisfied = answers["非常满意"] + answers["满意"]
        valid = sum(v for k, v in answers.items() if k != "不了解")
        out: dict[str, object] = {"satisfied": satisfied, "valid": valid, "dont_know": answers["不了解"]}
        if valid:
            out["interval"] = proportion_interval(satisfied, valid, method="wilson")
        return out

    total = Counter()
    for entry in per_village.values():
        total.update(entry["answers"])  # type: ignore[arg-type]
    overall = summary(total)
    indicator = questionnaire.indicator
    judged = None
    if overall["valid"]:
        population = indicator.population if indicator.population_unit == "人" else None
        if population is not None and overall["valid"] > population:  # type: ignore[operator]
            population = None
        judged = verdict(overall["satisfied"], overall["valid"], indicator.target, population=population)  # type: ignore[arg-type]
    return render_template(
        "staff/progress.html", q=questionnaire, villages=_units_villages(questionnaire), per_village=per_village,
        summary=summary, overall=overall, judged=judged, stats=_card_stats(session, questionnaire),
        rate_method=rate_method, channels=list(Channel),
    )
