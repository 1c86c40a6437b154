"""Login, logout and role checks for staff, admins and auditors."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from survey_app.auth import views  # noqa: E402,F401
