"""The staff audit log (操作日志), newest first: admins and auditors read it."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, select

from survey_app.audit import bp
from survey_app.auth.decorators import role_required
from survey_app.db import get_session
from survey_app.models import AuditEvent, Role


@bp.route("/log")
@role_required(Role.ADMIN, Role.AUDITOR)
def audit_events():  # type: ignore[no-untyped-def]
    """The staff audit log, newest first."""
    session = get_session()
    page = max(request.args.get("page", 1, type=int), 1)
    per_page = 100
    total = session.scalar(select(func.count(AuditEvent.id))) or 0
    events = session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return render_template("audit/log.html", events=events, page=page, total=total, per_page=per_page)
