"""Create and change user accounts."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app.models import Role, User
from survey_app.services import audit_log

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,80}$")
MIN_PASSWORD = 8


_dummy_hash: list[str] = []


class AccountError(ValueError):
    """An account change that cannot be made; the message is for the user."""


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD} 个字符。")


def end_sessions(user: User) -> None:
    """End every login session of ``user`` (all devices): logout, password, role or active change."""
    user.session_version = (user.session_version or 1) + 1


def authenticate(session: Session, username: str, password: str) -> tuple[User | None, bool]:
    """(the account named ``username`` or None, whether ``password`` is its password).

    An unknown name costs one password hash too, so response times do not tell which
    names exist.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        if not _dummy_hash:
            _dummy_hash.append(generate_password_hash("not a password of anyone"))
        check_password_hash(_dummy_hash[0], password)
        return None, False
    return user, user.check_password(password)


def create_user(session: Session, username: str, password: str, role: Role | str, *, actor: str) -> User:
    """Create an account (flush only)."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise AccountError("用户名只能包含字母、数字、汉字、下划线、点和横线，长度 2–80。")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"未知角色“{role}”，可选：admin、staff、auditor。") from None
    check_password_strength(password)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"用户名“{username}”已存在。")
    user = User(username=username, role=role, active=True)
    user.set_password(password)
    session.add(user)
    session.flush()
    audit_log.record(session, actor=actor, action="create_user", obj=user, username=username, role=role.value)
    return user


def update_user(
    session: Session,
    user: User,
    *,
    actor: str,
    role: Role | str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change role, active flag or password (flush only)."""
    changes: dict[str, object] = {}
    if role is not None and Role(role) != user.role:
        user.role = Role(role)
        changes["role"] = user.role.value
    if active is not None and active != user.active:
        user.active = active
        changes["active"] = active
    if password:
        check_password_strength(password)
        user.set_password(password)
        changes["password"] = "changed"
    if changes:
        end_sessions(user)
        session.flush()
        audit_log.record(session, actor=actor, action="update_user", obj=user, **changes)
    return user
