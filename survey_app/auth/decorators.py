"""Role checks: every staff route names the roles that may use it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from survey_app.models import Role

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = (Role.ADMIN, Role.STAFF, Role.AUDITOR)
EDITORS = (Role.ADMIN, Role.STAFF)


def role_required(*roles: Role) -> Callable[[F], F]:
    """Require a logged-in user with one of ``roles``; others get 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
