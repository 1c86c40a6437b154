"""Own account: change one's password. (Admins deactivate accounts on the 账号 page.)"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo

from survey_app.auth.decorators import ALL_ROLES, role_required
from survey_app.auth.views import start_session
from survey_app.db import get_session
from survey_app.models import AuditEvent, User
from survey_app.services import audit_log
from survey_app.services.accounts import AccountError, check_password_strength, end_sessions
from survey_app.staff import bp


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请填写当前密码")])
    new = PasswordField("新密码", validators=[DataRequired("请填写新密码")])
    again = PasswordField("再输入一次新密码", validators=[DataRequired("请再输入一次新密码"),
                                                     EqualTo("new", "两次输入的新密码不一致")])
    submit = SubmitField("修改密码")


def last_logins(session: Session) -> dict[str, object]:
    """Each account's last login, from the (hash-chained) audit log."""
    rows = session.execute(select(AuditEvent.actor, func.max(AuditEvent.at)).where(AuditEvent.action == "login")
                           .group_by(AuditEvent.actor)).all()
    return dict(rows)


@bp.route("/account/password", methods=["GET", "POST"])
@role_required(*ALL_ROLES)
def change_password():  # type: ignore[no-untyped-def]
    """Change one's own password (the current one is asked for again)."""
    session = get_session()
    form = PasswordForm()
    if form.validate_on_submit():
        user = session.get(User, current_user.id)
        if not user.check_password(form.current.data):
            form.current.errors.append("当前密码不正确。")
        else:
            try:
                check_password_strength(form.new.data)
            except AccountError as exc:
                form.new.errors.append(str(exc))
            else:
                user.set_password(form.new.data)
                end_sessions(user)  # every other login of this account ends
                audit_log.record(session, actor=user.username, user_id=user.id, action="change_own_password", obj=user)
                session.commit()
                start_session(user)  # this one goes on
                flash("密码已修改。", "success")
                return redirect(url_for("staff.projects"))
    return render_template("staff/password.html", form=form)
