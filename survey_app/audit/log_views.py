"""The staff audit log (操作日志), newest first: admins and auditors read it."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from survey_app.audit import bp
from survey_app.auth.decorators import role_required
from survey_app.db import get_session
from survey_app.models import AuditEvent, Role
from survey_app.services.scope import event_condition


@bp.route("/log")
@role_required(Role.ADMIN, Role.AUDITOR)
def audit_events():  # type: ignore[no-untyped-def]
    """The staff audit log, newest first."""
    from survey_app.services.paging import paginate, sorted_by

    session = get_session()
    query = select(AuditEvent).where(event_condition(session, current_user))
    search = (request.args.get("q") or "").strip()[:100]
    if search:
        query = query.where(AuditEvent.actor.contains(search, autoescape=True)
                            | AuditEvent.action.contains(search, autoescape=True)
                            | AuditEvent.object_id.contains(search, autoescape=True))
    query, sort = sorted_by(query, request.args, {"id": AuditEvent.id, "actor": AuditEvent.actor,
                                                  "action": AuditEvent.action}, "-id")
    page = paginate(session, query.order_by(AuditEvent.id.desc()), request.args)
    return render_template("audit/log.html", events=page.items, page=page, sort=sort, search=search)
