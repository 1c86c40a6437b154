"""Staff views: thin wrappers that load, validate, call a service and commit."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from survey_app.auth.decorators import ALL_ROLES, EDITORS, role_required
from survey_app.auth.views import start_session
from survey_app.db import get_or_404, get_session, transaction
from survey_app.models import Indicator, Project, Questionnaire, RespondentGroup, Role, Unit, User, Village
from survey_app.services import audit_log
from survey_app.services.accounts import AccountError, create_user, update_user
from survey_app.services.scope import can_see_unit, restrict, visible_units
from survey_app.services.villages import VillageError, import_villages, save_village
from survey_app.staff import bp
from survey_app.staff.forms import (
    IndicatorForm,
    UserEditForm,
    UserForm,
    VillageForm,
    VillageImportForm,
    unit_choices,
)

# -- projects and indicators -------------------------------------------------


@bp.route("/projects")
@role_required(*ALL_ROLES)
def projects():  # type: ignore[no-untyped-def]
    """List every project with its budget and satisfaction indicators."""
    from survey_app.services.paging import paginate, sorted_by

    session = get_session()
    query = restrict(select(Project).options(selectinload(Project.indicators), selectinload(Project.unit)),
                     Project.unit_id, session, current_user)
    search = (request.args.get("q") or "").strip()[:100]
    if search:
        query = query.where(Project.name.contains(search, autoescape=True) | Project.code.contains(search, autoescape=True))
    query, sort = sorted_by(query, request.args, {"year": Project.year, "code": Project.code, "name": Project.name,
                                                  "budget": Project.budget_wan}, "-year")
    page = paginate(session, query.order_by(Project.unit_id, Project.code), request.args)
    return render_template("staff/projects.html", projects=page.items, page=page, sort=sort, search=search)


@bp.route("/projects/<int:project_id>")
@role_required(*ALL_ROLES)
def project(project_id: int):  # type: ignore[no-untyped-def]
    """One project's target table, laid out by level, satisfaction rows marked."""
    item = get_or_404(Project, project_id)
    forms = {i.id: _indicator_form(i) for i in item.indicators if i.is_satisfaction}
    questionnaire_ids = set(get_session().scalars(
        select(Questionnaire.indicator_id).where(Questionnaire.indicator_id.in_(list(forms)))
    ))
    from survey_app.services.writeback import latest_measurement

    measured = {i.id: latest_measurement(get_session(), i) for i in item.indicators if i.is_satisfaction}
    return render_template("staff/project.html", project=item, forms=forms, questionnaire_ids=questionnaire_ids,
                           measured=measured)


def _indicator_form(indicator: Indicator) -> IndicatorForm:
    form = IndicatorForm(prefix=f"i{indicator.id}")
    if not form.is_submitted():
        form.respondent_group.data = indicator.respondent_group.value if indicator.respondent_group else "other"
        form.population.data = indicator.population
        form.population_unit.data = indicator.population_unit or "人"
    return form


@bp.route("/indicators/<int:indicator_id>", methods=["POST"])
@role_required(*EDITORS)
def update_indicator(indicator_id: int):  # type: ignore[no-untyped-def]
    """Confirm or correct a satisfaction indicator's respondent group and population."""
    session = get_session()
    indicator = get_or_404(Indicator, indicator_id)
    if not indicator.is_satisfaction:
        abort(400)
    form = IndicatorForm(prefix=f"i{indicator.id}")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(f"“{indicator.name}”：{error}", "error")
        return redirect(url_for("staff.project", project_id=indicator.project_id))
    before = {
        "respondent_group": indicator.respondent_group.value if indicator.respondent_group else None,
        "population": indicator.population,
        "population_unit": indicator.population_unit,
    }
    indicator.respondent_group = RespondentGroup(form.respondent_group.data)
    indicator.group_confirmed = True
    indicator.group_conflict = ""
    if form.population.data != indicator.population or form.population_unit.data != indicator.population_unit:
        indicator.population = form.population.data
        indicator.population_unit = form.population_unit.data if form.population.data else None
        indicator.population_source = "staff"
    session.flush()
    audit_log.record(
        session,
        actor=current_user.username,
        user_id=current_user.id,
        action="update_indicator",
        obj=indicator,
        before=before,
        after={
            "respondent_group": indicator.respondent_group.value,
            "population": indicator.population,
            "population_unit": indicator.population_unit,
        },
    )
    session.commit()
    flash(f"已保存“{indicator.name}”的调查对象和总数。", "success")
    return redirect(url_for("staff.project", project_id=indicator.project_id))


# -- villages ------------------------------------------------------------------


def _unit_from_request() -> Unit | None:
    """The unit named by ``?unit=`` (404 for a unit the account may not see), else its first unit."""
    session = get_session()
    unit_id = request.args.get("unit", type=int)
    if unit_id is not None:
        if not can_see_unit(session, current_user, unit_id):
            abort(404)
        return get_or_404(Unit, unit_id)
    units = visible_units(session, current_user)
    return units[0] if units else None


@bp.route("/villages")
@role_required(*ALL_ROLES)
def villages():  # type: ignore[no-untyped-def]
    """The villages of a unit with their populations (the units the account sees to pick from)."""
    session = get_session()
    unit = _unit_from_request()
    return render_template("staff/villages.html", unit=unit, units=visible_units(session, current_user),
                           form=VillageImportForm())


@bp.route("/units/<int:unit_id>/villages/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def new_village(unit_id: int):  # type: ignore[no-untyped-def]
    """Add one village."""
    unit = get_or_404(Unit, unit_id)
    return _village_form(unit, None)


@bp.route("/villages/<int:village_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_village(village_id: int):  # type: ignore[no-untyped-def]
    """Change a village's name, code or populations."""
    village = get_or_404(Village, village_id)
    return _village_form(village.unit, village)


def _village_form(unit: Unit, village: Village | None):  # type: ignore[no-untyped-def]
    form = VillageForm(obj=village)
    if form.validate_on_submit():
        session = get_session()
        with transaction(VillageError) as done:
            save_village(
                session,
                unit,
                actor=current_user.username,
                name=form.name.data,
                code=form.code.data or None,
                population=form.population.data,
                cadres=form.cadres.data,
                village=village,
            )
        if done.ok:
            flash(f"已保存“{form.name.data}”。", "success")
            return redirect(url_for("staff.villages", unit=unit.id))
    return render_template("staff/village_form.html", form=form, unit=unit, village=village)


@bp.route("/units/<int:unit_id>/villages/import", methods=["POST"])
@role_required(*EDITORS)
def import_village_list(unit_id: int):  # type: ignore[no-untyped-def]
    """Add or update villages from a pasted list (all or nothing)."""
    unit = get_or_404(Unit, unit_id)
    form = VillageImportForm()
    if form.validate_on_submit():
        session = get_session()
        with transaction(VillageError, prefix="村庄列表未导入：") as done:
            created, updated = import_villages(session, unit, form.text.data, actor=current_user.username)
        if done.ok:
            flash(f"已新增 {created} 个村，更新 {updated} 个村。", "success")
            return redirect(url_for("staff.villages", unit=unit.id))
    else:
        flash("请粘贴村庄列表。", "error")
    # the pasted list stays in the box so it can be corrected, not typed again
    units = visible_units(get_session(), current_user)
    return render_template("staff/villages.html", unit=unit, units=units, form=form), 422


# -- users and units (admins only) ---------------------------------------------------------------


def _chosen_units(session, form) -> list[Unit]:  # type: ignore[no-untyped-def]
    """The ticked units (ids not among the units are refused: AccountError)."""
    ids = sorted(set(form.units.data or []))
    chosen = list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code))) if ids else []
    if len(chosen) != len(ids):
        raise AccountError("所选的单位有的不存在（可能刚被删除），请刷新页面后重新选择。")
    return chosen


def _scope_text(account: User) -> str:
    if account.sees_every_unit:
        return "全部单位"
    return "、".join(unit.name for unit in account.units) or "还没有单位"


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def users():  # type: ignore[no-untyped-def]
    """List accounts with the units they see, and create new ones (role and units)."""
    session = get_session()
    all_units = session.scalars(select(Unit).order_by(Unit.code)).all()
    form = UserForm()
    unit_choices(form, all_units)
    if form.validate_on_submit():
        with transaction(AccountError) as done:
            account = create_user(session, form.username.data, form.password.data, form.role.data,
                                  actor=current_user.username, units=_chosen_units(session, form),
                                  all_units=form.all_units.data)
        if done.ok:
            flash(f"已创建账号“{form.username.data}”（可见：{_scope_text(account)}）。", "success")
            if not account.sees_every_unit and not account.units:
                flash("这个账号还看不到任何单位的数据：请在下面为它勾选单位。", "warning")
            return redirect(url_for("staff.users"))
    accounts = session.scalars(select(User).order_by(User.username)).all()
    edit_forms = {}
    for account in accounts:
        edit = UserEditForm(prefix=f"u{account.id}", formdata=None)
        unit_choices(edit, all_units)
        edit.role.data = account.role.value
        edit.active.data = account.active
        edit.all_units.data = account.all_units
        edit.units.data = [unit.id for unit in account.units]
        edit_forms[account.id] = edit
    from survey_app.staff.account_views import last_logins

    return render_template("staff/users.html", users=accounts, form=form, edit_forms=edit_forms,
                           last_login=last_logins(session), scope_text=_scope_text)


@bp.route("/users/<int:user_id>", methods=["POST"])
@role_required(Role.ADMIN)
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    """Change an account's role, active flag, password or units."""
    session = get_session()
    account = get_or_404(User, user_id)
    form = UserEditForm(prefix=f"u{account.id}")
    unit_choices(form, [])
    if not form.validate_on_submit():
        abort(400)
    if account.id == current_user.id and (form.role.data != "admin" or not form.active.data):
        flash("不能停用自己的账号或取消自己的管理员角色。", "error")
        return redirect(url_for("staff.users"))
    with transaction(AccountError) as done:
        update_user(
            session,
            account,
            actor=current_user.username,
            role=form.role.data,
            active=form.active.data,
            password=form.password.data or None,
            units=_chosen_units(session, form),
            all_units=form.all_units.data or form.role.data == "admin",
        )
    if done.ok:
        if account.id == current_user.id:  # one's own password changed: this session goes on, others end
            start_session(account)
        flash(f"已保存账号“{account.username}”（可见：{_scope_text(account)}）。", "success")
    return redirect(url_for("staff.users"))


@bp.route("/units")
@role_required(Role.ADMIN)
def units():  # type: ignore[no-untyped-def]
    """Every unit of the county with its projects and the accounts that see it."""
    from sqlalchemy import func

    from survey_app.models import user_units

    session = get_session()
    rows = session.scalars(select(Unit).order_by(Unit.code)).all()
    projects = dict(session.execute(select(Project.unit_id, func.count(Project.id)).group_by(Project.unit_id)).all())
    granted: dict[int, list[str]] = {}
    for unit_id, username in session.execute(select(user_units.c.unit_id, User.username)
                                             .join(User, User.id == user_units.c.user_id).order_by(User.username)):
        granted.setdefault(unit_id, []).append(username)
    everywhere = session.scalars(select(User.username).where(User.all_units.is_(True) | (User.role == Role.ADMIN))
                                 .order_by(User.username)).all()
    return render_template("staff/units.html", units=rows, projects=projects, granted=granted, everywhere=everywhere)
