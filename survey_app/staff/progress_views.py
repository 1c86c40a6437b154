"""Staff view of collection progress per village."""

from __future__ import annotations

from collections import Counter, defaultdict

from flask import render_template
from sqlalchemy import func, select

from survey_app.auth.decorators import ALL_ROLES, role_required
from survey_app.db import get_or_404, get_session
from survey_app.models import (
    Channel,
    Questionnaire,
    Response,
)
from survey_app.services.answers import superseded
from survey_app.services.distribution import by_village as surveyed_by_village
from survey_app.services.results import compute
from survey_app.staff import bp
from survey_app.staff.distribution_views import _card_stats, _units_villages


@bp.route("/questionnaires/<int:questionnaire_id>/progress")
@role_required(*ALL_ROLES)
def progress(questionnaire_id: int):  # type: ignore[no-untyped-def]
    """Per village: cards issued/used, responses by channel, the live figure, last response."""
    session = get_session()
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    rows = session.execute(
        select(Response.village_id, Response.channel, func.count(Response.id), func.max(Response.submitted_at))
        .where(Response.questionnaire_id == questionnaire.id, Response.simulated.is_(False), ~superseded())
        .group_by(Response.village_id, Response.channel)
    ).all()
    per_village: dict[int | None, dict[str, object]] = defaultdict(lambda: {"channels": Counter(), "last": None})
    for village_id, channel, count, last in rows:
        entry = per_village[village_id]
        entry["channels"][channel] += count  # type: ignore[index]
        if entry["last"] is None or last > entry["last"]:  # type: ignore[operator]
            entry["last"] = last
    # every rate on this page comes from the one figure function, exclusions applied
    result = compute(session, questionnaire)
    figures_by_village = {v.village_id: v for v in result.villages}
    per_village_design = surveyed_by_village(questionnaire)
    return render_template(
        "staff/progress.html", q=questionnaire, per_village=per_village, one_list=not per_village_design,
        villages=_units_villages(questionnaire) if per_village_design else [],
        r=result, by_village=figures_by_village, stats=_card_stats(session, questionnaire), channels=list(Channel),
    )
