"""Login and logout views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from survey_app.auth import bp
from survey_app.auth.forms import LoginForm
from survey_app.db import get_session
from survey_app.extensions import login_manager
from survey_app.models import User
from survey_app.services import audit_log


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return get_session().get(User, int(user_id))
    except ValueError:
        return None


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return home_url()


def home_url() -> str:
    """Where a role starts: auditors on the audit portal, everyone else on the project list."""
    if current_user.is_authenticated and current_user.role.value == "auditor":
        return url_for("audit.index")
    return url_for("staff.projects")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """Log a staff member, admin or auditor in."""
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is None or not user.check_password(form.password.data):
            flash("用户名或密码不正确。", "error")
        elif not user.active:
            flash("该账号已停用，请联系管理员。", "error")
        else:
            login_user(user)
            audit_log.record(session, actor=user.username, user_id=user.id, action="login", obj=user)
            session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    """Log out (POST only, so a link cannot log anyone out)."""
    logout_user()
    flash("已退出登录。", "info")
    return redirect(url_for("auth.login"))
