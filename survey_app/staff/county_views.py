"""The county overview: every visible unit's satisfaction indicators, for admins and auditors."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from survey_app.auth.decorators import role_required
from survey_app.db import get_session
from survey_app.models import Role
from survey_app.services.overview import STATUS_LABELS, filter_status, overview, sort_rows, status_counts
from survey_app.services.scope import visible_units
from survey_app.staff import bp


@bp.route("/county")
@role_required(Role.ADMIN, Role.AUDITOR)
def county():  # type: ignore[no-untyped-def]
    """Status, verdict, rate, response rate and flags of every satisfaction indicator, sortable and filterable."""
    session = get_session()
    units = visible_units(session, current_user)
    unit_code = (request.args.get("unit") or "").strip()[:32] or None
    unit = next((u for u in units if u.code == unit_code), None)
    rows = overview(session, current_user, unit_code=unit.code if unit else None)
    counts = status_counts(rows)
    status = request.args.get("status") if request.args.get("status") in STATUS_LABELS else None
    shown, sort = sort_rows(filter_status(rows, status), request.args.get("sort"))
    return render_template("staff/county.html", rows=shown, total=len(rows), sort=sort, status=status,
                           counts=counts, statuses=STATUS_LABELS, units=units, unit=unit,
                           unknown_unit=unit_code if unit_code and unit is None else None)
