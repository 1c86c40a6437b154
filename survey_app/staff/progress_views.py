"""Staff view of collection progress per village."""

from __future__ import annotations

from collections import Counter, defaultdict

from flask import render_template
from sqlalchemy import func, select

from analysis import proportion_interval, verdict
from survey_app.auth.decorators import ALL_ROLES, role_required
from survey_app.db import get_or_404, get_session
from survey_app.models import (
    Channel,
    Questionnaire,
    Response,
)
from survey_app.staff import bp
from survey_app.services.distribution import by_village
from survey_app.staff.distribution_views import _card_stats, _units_villages


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
        "staff/progress.html", q=questionnaire, per_village=per_village, one_list=not by_village(questionnaire),
        villages=_units_villages(questionnaire) if by_village(questionnaire) else [],
        summary=summary, overall=overall, judged=judged, stats=_card_stats(session, questionnaire),
        rate_method=rate_method, channels=list(Channel),
    )
