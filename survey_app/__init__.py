"""Survey service for satisfaction indicators in budget performance tables."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask, abort, redirect, request
from flask.sessions import SecureCookieSessionInterface

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``templates/`` or ``migrations/``: top level in a checkout, ``<prefix>/share/survey-app/`` when installed."""
    checkout = PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "survey-app" / name


def _trust_proxies(app: Flask) -> None:
    """Behind ``SURVEY_TRUSTED_PROXIES`` reverse proxies, read the client's address and scheme from them.

    Rate limits, device and network hashes and flags then see the villager's address, not the
    proxy's (without it a whole county shares one address and one limit). With 0 (the default)
    X-Forwarded-* headers are ignored, so a client cannot pick its own address.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or app.config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


class _SessionInterface(SecureCookieSessionInterface):
    """Respondent pages never use the staff session: no ``Vary: Cookie`` on them (Flask-Login reads
    the session after every request), so the Back button finds the cached form page even though
    the device cookie was set by it."""

    def open_session(self, app, request):  # type: ignore[no-untyped-def]
        # no session cookie (every respondent, and staff before logging in): an empty session,
        # without building the signing serializer for nothing (a cost on every respondent request)
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):  # type: ignore[no-untyped-def]
        if request.blueprint == "respond" and not session.modified:
            session.accessed = False
        super().save_session(app, session, response)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: configuration, database, extensions, blueprints."""
    instance_path = os.environ.get("SURVEY_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=instance_path or None,
        template_folder=str(resource_dir("templates")),
    )
    os.makedirs(app.instance_path, exist_ok=True)

    from survey_app.config import load_config

    app.config.from_mapping(load_config(app.instance_path, test_config))
    app.session_interface = _SessionInterface()

    _trust_proxies(app)

    from survey_app import db
    from survey_app.extensions import csrf, limiter, login_manager

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    if (app.config.get("RATELIMIT_ENABLED", True) and str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory")
            and app.config["WORKERS"] > 1):
        app.logger.warning(
            "rate limits are kept in memory by each of the %d worker processes, so every limit is %d times "
            "as loose; set SURVEY_REDIS_URL (the production store) to share them", app.config["WORKERS"],
            app.config["WORKERS"])

    from survey_app import errors
    from survey_app.audit import bp as audit_bp
    from survey_app.auth import bp as auth_bp
    from survey_app.respond import bp as respond_bp
    from survey_app.staff import bp as staff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(__import__("survey_app.help_views", fromlist=["bp"]).bp)
    errors.init_app(app)

    @app.route("/")
    def index():  # type: ignore[no-untyped-def]
        """Start page: the project list (the audit portal for auditors)."""
        from survey_app.auth.views import home_url

        return redirect(home_url())

    from survey_app.auth.views import enforce_lifetimes

    app.before_request(enforce_lifetimes)

    @app.before_request
    def _refuse_other_units():  # type: ignore[no-untyped-def]
        # a row of a unit the account may not see answers 404, like a row that does not exist
        # (services.scope: every URL argument naming a row is checked here, for every route)
        from flask_login import current_user

        if request.blueprint == "respond" or not request.view_args or not current_user.is_authenticated:
            return None
        from survey_app.db import get_session
        from survey_app.services.scope import can_see_unit, unit_of_view_args

        session = get_session()
        units = unit_of_view_args(session, request.view_args)
        if len(set(units)) > 1:  # rows of two units in one URL (a village of another unit's questionnaire)
            abort(404)
        for unit_id in units:
            if unit_id is None or not can_see_unit(session, current_user, unit_id):
                abort(404)
        return None

    @app.before_request
    def _refuse_long_urls():  # type: ignore[no-untyped-def]
        # QR links are ~60 characters; gunicorn refuses request lines over --limit-request-line
        # with an English page of its own, so this limit sits below it (README "Security")
        if len(request.full_path) > app.config["MAX_URL_LENGTH"]:
            abort(414)

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # respondent pages carry tokens in their URLs: never a Referer. Staff pages send one to
        # their own origin only, which Flask-WTF's CSRF check requires on HTTPS.
        response.headers.setdefault("Referrer-Policy",
                                    "no-referrer" if request.blueprint == "respond" else "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["HSTS"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.blueprint in ("staff", "audit", "auth"):
            # staff pages, every export and card print pages (unused single-use URLs) stay off disk
            response.headers["Cache-Control"] = "no-store"
        return response

    from survey_app.filters import register_filters

    register_filters(app)
    return app
