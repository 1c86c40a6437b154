"""Sharing poster links in WeChat groups: QR images (PNG, SVG) and a link to copy."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.db import get_or_404, get_session, transaction
from survey_app.models import Link, LinkKind, Questionnaire
from survey_app.services.distribution import link_url
from survey_app.services.share import caption, cjk_font_path, share_png, share_svg
from survey_app.staff import bp
from survey_app.staff.forms import SimpleForm
from survey_app.staff.questionnaire_views import base_url


@bp.route("/questionnaires/<int:questionnaire_id>/share")
@role_required(*ALL_ROLES)
def share(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Every open poster link: its QR image to download, and the link to copy into a WeChat group."""
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    links = get_session().scalars(
        select(Link).where(Link.questionnaire_id == questionnaire.id, Link.kind == LinkKind.POSTER,
                           Link.voided_at.is_(None)).order_by(Link.village_id.is_not(None), Link.id)).all()
    base = base_url()
    items = [(link, link_url(base, link), caption(link)) for link in links]
    return render_template("answers/share.html", q=questionnaire, items=items, png_text=cjk_font_path() is not None)


@bp.route("/links/<int:link_id>/qr.<fmt>")
@role_required(*ALL_ROLES)
def link_qr(link_id: int, fmt: str):  # type: ignore[no-untyped-def]
    """The link's QR code with village and project under it, as PNG or SVG (a download)."""
    link = get_or_404(Link, link_id)
    if fmt not in ("png", "svg"):
        abort(404)
    url = link_url(base_url(), link)
    place, _ = caption(link)
    name = f"二维码-{place}.{fmt}"
    if fmt == "svg":
        body, mimetype = share_svg(link, url).encode("utf-8"), "image/svg+xml"
    else:
        body, mimetype = share_png(link, url), "image/png"
    return FlaskResponse(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=qr.{fmt}; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, max-age=300"})


@bp.route("/questionnaires/<int:questionnaire_id>/schedule", methods=["POST"])
@role_required(*EDITORS)
def set_schedule(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Save the start/end times and the optional target number of valid responses."""
    from survey_app.services.schedule import ScheduleError
    from survey_app.services.schedule import set_schedule as save

    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction(ScheduleError, session=session, prefix="没有保存：") as done:
        save(session, questionnaire, opens=request.form.get("opens_at", ""), closes=request.form.get("closes_at", ""),
             target=request.form.get("target_valid", ""), actor=current_user.username)
    if done.ok:
        flash("收集时间已保存。", "success")
    return redirect(url_for("staff.progress", questionnaire_id=questionnaire.id))


CARD_STATES = {"unused": "未使用", "used": "已使用", "void": "作废"}


@bp.route("/questionnaires/<int:questionnaire_id>/cards")
@role_required(*ALL_ROLES)
def cards(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """The single-use cards: find by village, card number or state; sorted and paginated; void unused ones."""
    from survey_app.models import Village
    from survey_app.services.paging import paginate, sorted_by

    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    query = select(Link).outerjoin(Village, Village.id == Link.village_id).where(
        Link.questionnaire_id == questionnaire.id, Link.kind == LinkKind.CARD)
    village = request.args.get("village", "")
    if village.isdigit():
        query = query.where(Link.village_id == int(village))
    state = request.args.get("state", "")
    if state == "unused":
        query = query.where(Link.used_at.is_(None), Link.voided_at.is_(None))
    elif state == "used":
        query = query.where(Link.used_at.is_not(None))
    elif state == "void":
        query = query.where(Link.voided_at.is_not(None))
    number = (request.args.get("card_no") or "").strip()
    if number.isdigit():
        query = query.where(Link.card_no == int(number))
    query, sort = sorted_by(query, request.args, {"village": Village.name, "card_no": Link.card_no,
                                                  "used_at": Link.used_at}, "village")
    page = paginate(session, query.order_by(Village.name, Link.card_no), request.args)
    villages = sorted(questionnaire.indicator.project.unit.villages, key=lambda v: v.name)
    return render_template("answers/cards.html", q=questionnaire, page=page, sort=sort, villages=villages,
                           states=CARD_STATES, form=SimpleForm())
