"""Create and change user accounts."""

from __future__ import annotations

import re

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app.models import Role, Unit, User
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


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    actor: str,
    units: Sequence[Unit] = (),
    all_units: bool = False,
) -> User:
    """Create an account (flush only) that sees ``units``, or every unit with ``all_units``.

    Admins see every unit whatever is passed. An account without units sees no unit's data
    until an admin grants it one (or it imports a table for a new unit: importing.py).
    """
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
    user = User(username=username, role=role, active=True, all_units=all_units or role == Role.ADMIN,
                units=list(units))
    user.set_password(password)
    session.add(user)
    session.flush()
    audit_log.record(session, actor=actor, action="create_user", obj=user, username=username, role=role.value,
                     **_scope_fields(user))
    return user


def _scope_fields(user: User) -> dict[str, object]:
    return {"all_units": user.all_units, "units": [unit.code for unit in user.units]}


def update_user(
    session: Session,
    user: User,
    *,
    actor: str,
    role: Role | str | None = None,
    active: bool | None = None,
    password: str | None = None,
    units: Sequence[Unit] | None = None,
    all_units: bool | None = None,
) -> User:
    """Change role, active flag, password or the units the account sees (flush only)."""
    changes: dict[str, object] = {}
    if units is not None and {u.id for u in units} != {u.id for u in user.units}:
        user.units = list(units)
        changes["units"] = sorted(unit.code for unit in units)
    if all_units is not None and all_units != user.all_units:
        user.all_units = all_units
        changes["all_units"] = all_units
    if role is not None and Role(role) != user.role:
        user.role = Role(role)
        changes["role"] = user.role.value
        if user.role == Role.ADMIN:
            user.all_units = True
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
