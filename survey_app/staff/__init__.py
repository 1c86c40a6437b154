"""Staff pages: projects and indicators, imports, villages, users."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from survey_app.staff import (  # noqa: E402,F401
    distribution_views,
    paper_views,
    progress_views,
    questionnaire_views,
    results_views,
    views,
)
