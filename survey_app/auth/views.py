"""Login and logout views.

Login is throttled per account and per address (failed attempts only; Flask-Limiter,
Redis when configured), every failure is written to the chained audit log, and an
unknown name costs a password hash like a known one. A session carries the account's
session version (see :meth:`User.get_id`) plus its login and last-seen times: logout
and account changes end it, and so do the idle and absolute lifetimes.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from survey_app.auth import bp
from survey_app.auth.forms import LoginForm
from survey_app.db import get_session
from survey_app.extensions import client_address, limiter, login_manager
from survey_app.models import User
from survey_app.services import audit_log
from survey_app.services.accounts import authenticate, end_sessions


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = get_session().get(User, int(ident))
    if user is None or user.session_version != int(version):
        return None  # logged out, password/role changed or deactivated since: the session is over
    return user


def start_session(user: User) -> None:
    """Log ``user`` in on a fresh session: a new CSRF token, nothing carried over, new lifetimes.

    Also for a page where users change their own password: after ``end_sessions(user)`` and the
    commit, this keeps the person who made the change logged in while every other session ends.
    """
    session.clear()
    g.pop("csrf_token", None)
    login_user(user)
    session["login_at"] = session["seen_at"] = time.time()


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return home_url()


def home_url() -> str:
    """Where a role starts: auditors on the audit portal, everyone else on the project list."""
    if current_user.is_authenticated and current_user.role.value == "auditor":
        return url_for("audit.index")
    return url_for("staff.projects")


def _account_key() -> str:
    name = (request.form.get("username") or "").strip().lower()[:80]
    return "login-account:" + name


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    """Only failed attempts count against the login limits (a success redirects)."""
    return response.status_code != 302


def _limits_off() -> bool:
    return not current_app.config.get("RATELIMIT_ENABLED", True)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], key_func=_account_key, methods=["POST"],
               deduct_when=_failed, exempt_when=_limits_off)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
               key_func=lambda: "login-address:" + client_address(), methods=["POST"],
               deduct_when=_failed, exempt_when=_limits_off)
def login():  # type: ignore[no-untyped-def]
    """Log a staff member, admin or auditor in."""
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        user, password_ok = authenticate(db, form.username.data.strip(), form.password.data)
        if not password_ok:
            flash("用户名或密码不正确。", "error")
            # the typed name is logged only when it is an account: an unknown "name" is
            # often a password typed into the wrong box
            audit_log.record(db, actor=user.username if user else "（未知用户名）",
                             user_id=user.id if user else None, action="login_failed", obj=user,
                             address=client_address())
            db.commit()
        elif not user.active:
            flash("该账号已停用，请联系管理员。", "error")
        else:
            start_session(user)
            audit_log.record(db, actor=user.username, user_id=user.id, action="login", obj=user)
            db.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    """Log out (POST only, so a link cannot log anyone out); ends every session of the account."""
    if current_user.is_authenticated:
        db = get_session()
        end_sessions(db.get(User, current_user.id))
        db.commit()
    logout_user()
    session.clear()
    flash("已退出登录。", "info")
    return redirect(url_for("auth.login"))


def enforce_lifetimes() -> None:
    """Before every request: end a staff session idle or open for too long."""
    if request.blueprint not in ("staff", "audit", "auth"):
        # respondent pages never touch the staff session: reading it would add "Vary: Cookie", and
        # the Back button must find the cached form page even after the device cookie was set
        return
    if "_user_id" not in session:
        return
    now = time.time()
    config = current_app.config
    login_at = session.get("login_at", 0)
    seen_at = session.get("seen_at", 0)
    if now - login_at > config["SESSION_ABSOLUTE_SECONDS"] or now - seen_at > config["SESSION_IDLE_SECONDS"]:
        logout_user()
        session.clear()
        flash("登录已过期，请重新登录。", "info")
        return
    if now - seen_at > 60:  # refresh at most once a minute: the cookie is not rewritten on every click
        session["seen_at"] = now


