"""Respondent pages: no login, no JavaScript, one light page per questionnaire."""

from flask import Blueprint

bp = Blueprint("respond", __name__)

from survey_app.respond import views  # noqa: E402,F401
