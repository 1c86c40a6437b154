"""Staff views for distribution: posters, single-use cards, print sheets, the ZIP."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict

from flask import Response as FlaskResponse
from flask import abort, current_app, flash, redirect, render_template, request, url_for

from survey_app.auth.decorators import EDITORS, role_required
from survey_app.db import get_or_404, get_session, transaction
from survey_app.models import (
    Link,
    LinkKind,
    Questionnaire,
    Village,
)
from survey_app.services.cellsafe import safe_cell
from survey_app.services.distribution import (
    DistributionError,
    address_warning,
    bundle_zip,
    by_village,
    card_pages,
    ensure_posters,
    issue_cards,
    link_url,
    links_listing,
    plan_cards,
    qr_svg,
    void_link,
)
from survey_app.staff import bp
from survey_app.staff.forms import CardsForm, SimpleForm
from survey_app.staff.questionnaire_views import _actor, base_url


def qr_address_warning() -> str | None:
    """A loud warning when QR codes would carry a loopback or private address (SURVEY_PUBLIC_URL unset)."""
    if current_app.config.get("PUBLIC_URL"):
        return None
    return address_warning(base_url())


def _print_css() -> str:
    """print.css, inlined into the downloaded pages so they print the same off-line."""
    from pathlib import Path

    return (Path(current_app.static_folder or "") / "print.css").read_text(encoding="utf-8")


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
    one_list = not by_village(questionnaire)
    form = CardsForm(village_choices=[] if one_list else villages, one_list=one_list)
    plan = plan_error = None
    try:
        plan = plan_cards(questionnaire, villages, expected=(form.expected.data or 98) / 100,
                          response_rate=(form.response_rate.data or 70) / 100)
    except (DistributionError, ValueError) as exc:
        plan_error = str(exc)
    if form.validate_on_submit():
        with transaction(DistributionError, session=session) as done:
            chosen: list[Village | None] = [None] if one_list else (villages if form.village.data == "all" else [
                v for v in villages if str(v.id) == form.village.data])
            planned = {(row.village.id if row.village else None): row.cards for row in plan.rows} if plan else {}
            existing = Counter(link.village_id for link in questionnaire.links
                               if link.kind == LinkKind.CARD and link.voided_at is None)
            total = 0
            for village in chosen:
                key = village.id if village is not None else None
                # an explicit number adds that many; otherwise top up to the suggestion
                count = form.count.data or max(0, planned.get(key, 0) - existing[key])
                if count:
                    total += len(issue_cards(session, questionnaire, village, count, actor=_actor()))
            ensure_posters(session, questionnaire, villages, actor=_actor())
        if done.ok:
            if total or form.count.data:
                flash(f"已发放 {total} 张一次性卡片。", "success")
            else:
                flash("已发卡片已达到建议张数，没有再发。需要更多时请填写张数。", "success")
            return redirect(url_for("staff.distribution", questionnaire_id=questionnaire.id))
    posters = {link.village_id: link for link in questionnaire.links
               if link.kind == LinkKind.POSTER and link.voided_at is None}
    shown = [] if one_list else villages
    return render_template(
        "staff/distribution.html", q=questionnaire, villages=shown, form=form, plan=plan, one_list=one_list,
        plan_error=plan_error, posters=posters,
        missing_posters=[v for v in shown if v.id not in posters] + ([] if None in posters else [None]), stats=_card_stats(session, questionnaire), base=base_url(),
        link_url=link_url, action_form=SimpleForm(), address_warning=qr_address_warning(),
    )


@bp.route("/questionnaires/<int:questionnaire_id>/posters", methods=["POST"])
@role_required(*EDITORS)
def create_posters(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Create the missing poster links (publishing does this; villages added later need it)."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(DistributionError, session=session) as done:
        ensure_posters(session, questionnaire, _units_villages(questionnaire), actor=_actor())
    if done.ok:
        flash("已生成各村海报二维码。", "success")
    return redirect(url_for("staff.distribution", questionnaire_id=questionnaire.id))


@bp.route("/links/<int:link_id>/void", methods=["POST"])
@role_required(*EDITORS)
def void(link_id: int):  # type: ignore[no-untyped-def]
    """Void an unused card or a poster link."""
    session = get_session()
    link = get_or_404(Link, link_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(DistributionError, session=session) as done:
        void_link(session, link, actor=_actor())
    if done.ok:
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


def _render_posters(questionnaire: Questionnaire, village_id: int | None, *, inline_css: str | None = None) -> str:
    villages, base = _print_context(questionnaire, village_id)
    ids = {v.id for v in villages}
    links = [link for link in questionnaire.links if link.kind == LinkKind.POSTER and link.voided_at is None
             and (link.village_id in ids or (village_id is None and link.village_id is None))]
    items = [(link, link_url(base, link), qr_svg(link_url(base, link), scale=10)) for link in links]
    return render_template("print/posters.html", q=questionnaire, items=items, base=base,
                           address_warning=qr_address_warning(), inline_css=inline_css)


@bp.route("/questionnaires/<int:questionnaire_id>/print/cards")
@role_required(*EDITORS)
def print_cards(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """A4 sheets of unused single-use cards, 8 per page with cut marks."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    return _render_cards(questionnaire, request.args.get("village", type=int))


def _render_cards(questionnaire: Questionnaire, village_id: int | None, *, inline_css: str | None = None) -> str:
    villages, base = _print_context(questionnaire, village_id)
    ids = {v.id for v in villages}
    cards = [link for link in questionnaire.links if link.kind == LinkKind.CARD
             and (village_id is None or link.village_id in ids)
             and link.voided_at is None and link.used_at is None]
    cards.sort(key=lambda c: (c.village.code if c.village else "", c.card_no or 0))
    items = [(c, link_url(base, c), qr_svg(link_url(base, c), scale=4)) for c in cards]
    return render_template("print/cards.html", q=questionnaire, pages=card_pages(items), base=base,
                           address_warning=qr_address_warning(), inline_css=inline_css)


@bp.route("/questionnaires/<int:questionnaire_id>/bundle.zip")
@role_required(*EDITORS)
def bundle(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Everything for one questionnaire in one ZIP: posters, card sheets per village, link list."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    css = _print_css()
    files: dict[str, str | bytes] = {"海报.html": _render_posters(questionnaire, None, inline_css=css)}
    for village in _units_villages(questionnaire):
        if any(link.kind == LinkKind.CARD and link.village_id == village.id for link in questionnaire.links):
            files[f"卡片-{village.code}-{village.name}.html"] = _render_cards(questionnaire, village.id,
                                                                            inline_css=css)
    if any(link.kind == LinkKind.CARD and link.village_id is None for link in questionnaire.links):
        files["卡片-全体调查对象.html"] = _render_cards(questionnaire, None, inline_css=css)
    out = io.StringIO()
    rows = links_listing(questionnaire, base_url())
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["url"])
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    files["links.csv"] = "\ufeff" + out.getvalue()
    data = bundle_zip(files)
    name = f"questionnaire-{questionnaire.id}.zip"
    return FlaskResponse(data, mimetype="application/zip",
                         headers={"Content-Disposition": f"attachment; filename={name}"})
