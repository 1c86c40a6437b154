"""Auditor pages: evidence per claim, quality flags, raw data, the response log's head."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from survey_app.audit import log_views, views  # noqa: E402,F401
