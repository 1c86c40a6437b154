"""Staff pages: projects and indicators, imports, villages, users."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from survey_app.staff import (  # noqa: E402,F401
    account_views,
    answers_views,
    county_views,
    distribution_views,
    import_views,
    paper_views,
    progress_views,
    questionnaire_views,
    results_views,
    sampling_views,
    share_views,
    views,
)
