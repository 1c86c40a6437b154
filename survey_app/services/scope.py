"""Which units an account may see and change.

A county deployment holds many units (townships, departments). Admins (the county
administrator) see every unit; staff see the units they work for; auditors see the units they
are granted, or every unit. ``User.all_units`` grants every unit, present and future.

Routes name the rows they act on in their URL (``/questionnaires/<id>/…``); ``UNIT_OF`` maps each
such URL argument to the unit the row belongs to, so one check before every request
(``check_view_args``) refuses a row of another unit with 404, the same page as a row that does
not exist (an id guessed in the URL tells nothing). Lists and exports filter with
``visible_unit_ids`` / ``restrict``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, Select, String, cast, or_, select, true
from sqlalchemy.orm import Session

from survey_app.models import (
    AuditEvent,
    Exclusion,
    ImportPreview,
    Indicator,
    Link,
    Project,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    Role,
    Unit,
    User,
    Village,
)


class ScopeError(ValueError):
    """A unit the account may not use; the message is for the user."""


def visible_unit_ids(session: Session, user: User) -> frozenset[int] | None:
    """The ids of the units ``user`` may see, or None for every unit."""
    if user.sees_every_unit:
        return None
    return frozenset(unit.id for unit in user.units)


def can_see_unit(session: Session, user: User, unit_id: int | None) -> bool:
    ids = visible_unit_ids(session, user)
    return ids is None or unit_id in ids


def restrict(stmt: Select, unit_column: ColumnElement[int], session: Session, user: User) -> Select:
    """``stmt`` limited to the rows of units ``user`` may see (``unit_column`` names the unit)."""
    ids = visible_unit_ids(session, user)
    if ids is None:
        return stmt
    return stmt.where(unit_column.in_(sorted(ids)))


def visible_units(session: Session, user: User) -> list[Unit]:
    """The units ``user`` may see, by code."""
    return list(session.scalars(restrict(select(Unit).order_by(Unit.code), Unit.id, session, user)))


def _questionnaire_unit(session: Session, questionnaire_id: int) -> int | None:
    return session.scalar(
        select(Project.unit_id)
        .join(Indicator, Indicator.project_id == Project.id)
        .join(Questionnaire, Questionnaire.indicator_id == Indicator.id)
        .where(Questionnaire.id == questionnaire_id)
    )


def _via_questionnaire(column: ColumnElement[int], key: ColumnElement[int]) -> Callable[[Session, int], int | None]:
    def resolve(session: Session, ident: int) -> int | None:
        questionnaire_id = session.scalar(select(column).where(key == ident))
        return None if questionnaire_id is None else _questionnaire_unit(session, questionnaire_id)

    return resolve


def _exclusion_unit(session: Session, exclusion_id: int) -> int | None:
    response_id = session.scalar(select(Exclusion.response_id).where(Exclusion.id == exclusion_id))
    return None if response_id is None else UNIT_OF["response_id"](session, response_id)


#: URL argument → the unit of the row it names (None: no such row)
UNIT_OF: dict[str, Callable[[Session, int], int | None]] = {
    "unit_id": lambda session, ident: session.scalar(select(Unit.id).where(Unit.id == ident)),
    "project_id": lambda session, ident: session.scalar(select(Project.unit_id).where(Project.id == ident)),
    "indicator_id": lambda session, ident: session.scalar(
        select(Project.unit_id).join(Indicator, Indicator.project_id == Project.id).where(Indicator.id == ident)
    ),
    "village_id": lambda session, ident: session.scalar(select(Village.unit_id).where(Village.id == ident)),
    "questionnaire_id": _questionnaire_unit,
    "link_id": _via_questionnaire(Link.questionnaire_id, Link.id),
    "response_id": _via_questionnaire(Response.questionnaire_id, Response.id),
    "exclusion_id": _exclusion_unit,
}

#: URL arguments that name no unit's row, and why the route is safe without a unit check
NOT_UNIT_ROWS: dict[str, str] = {
    "user_id": "accounts are managed by admins only (every unit)",
    "preview_id": "an import preview belongs to the account that uploaded it (checked by owner)",
    "kind": "a kind of export, not a row",
    "fmt": "a file format, not a row",
    "token": "respondent links are public",
    "filename": "static files (style sheets, scripts), the same for every unit",
}


def unit_of_view_args(session: Session, view_args: dict[str, object]) -> list[int | None]:
    """The units of the rows named by a request's URL arguments (None for a row that does not exist)."""
    return [UNIT_OF[name](session, int(value)) for name, value in view_args.items() if name in UNIT_OF]  # type: ignore[call-overload]


def preview_visible(user: User, preview: ImportPreview) -> bool:
    """An import preview is seen by the account that uploaded it, and by admins."""
    return user.role == Role.ADMIN or preview.uploader_id == user.id


def questionnaire_ids(session: Session, user: User) -> Select | None:
    """A subquery of the ids of the questionnaires ``user`` may see, or None for every one."""
    ids = visible_unit_ids(session, user)
    if ids is None:
        return None
    return (select(Questionnaire.id).join(Indicator, Questionnaire.indicator_id == Indicator.id)
            .join(Project, Indicator.project_id == Project.id).where(Project.unit_id.in_(sorted(ids))))


def restrict_questionnaires(stmt: Select, column: ColumnElement[int], session: Session, user: User) -> Select:
    """``stmt`` limited to rows whose questionnaire (``column``) ``user`` may see."""
    ids = questionnaire_ids(session, user)
    return stmt if ids is None else stmt.where(column.in_(ids))


def _as_text(query: Select) -> Select:
    """The ids a query selects as text (audit events name their object by a text id)."""
    return query.with_only_columns(cast(query.selected_columns[0], String(64)))


def event_condition(session: Session, user: User) -> ColumnElement[bool]:
    """Which staff audit events ``user`` may read: the events on rows of the units it sees, and its own.

    Events on no unit's row (accounts, logins, published heads, bundle exports) are county-wide:
    only accounts that see every unit read them (an account always reads its own).
    """
    ids = visible_unit_ids(session, user)
    if ids is None:
        return true()
    units = sorted(ids)
    questionnaires = questionnaire_ids(session, user)
    responses = select(Response.id).where(Response.questionnaire_id.in_(questionnaires))
    by_type = {
        "Unit": select(Unit.id).where(Unit.id.in_(units)),
        "Project": select(Project.id).where(Project.unit_id.in_(units)),
        "Indicator": select(Indicator.id).join(Project, Indicator.project_id == Project.id)
        .where(Project.unit_id.in_(units)),
        "Village": select(Village.id).where(Village.unit_id.in_(units)),
        "Questionnaire": questionnaires,
        "Link": select(Link.id).where(Link.questionnaire_id.in_(questionnaires)),
        "Response": responses,
        "Exclusion": select(Exclusion.id).where(Exclusion.response_id.in_(responses)),
    }
    return or_(AuditEvent.user_id == user.id, *((AuditEvent.object_type == name) & AuditEvent.object_id.in_(_as_text(query))
                                                 for name, query in by_type.items()))


def chain_visible(session: Session, user: User, chain_key: str) -> bool:
    """Is a response chain (``q<id>:…``) one of ``user``'s units'? The staff audit chain is county-wide."""
    if user.sees_every_unit:
        return True
    head, _, _ = chain_key.partition(":")
    if not head.startswith("q") or not head[1:].isdigit():
        return False
    return can_see_unit(session, user, _questionnaire_unit(session, int(head[1:])))


def problem_visible(session: Session, user: User, problem: object) -> bool:
    """Whether a verification finding is about rows ``user`` may see (the rest is only counted)."""
    if user.sees_every_unit:
        return True
    key, row_id = getattr(problem, "chain_key", ""), getattr(problem, "row_id", None)
    if key == "*":
        return True  # about the published heads, which every auditor holds
    if key == "audit":
        return row_id is not None and session.scalar(
            select(AuditEvent.id).where(AuditEvent.id == row_id, event_condition(session, user))) is not None
    if key == "exclusions" and row_id is not None:
        return can_see_unit(session, user, _exclusion_unit(session, int(row_id)))
    if key == "versions" and row_id is not None:
        questionnaire = session.scalar(select(QuestionnaireVersion.questionnaire_id)
                                       .where(QuestionnaireVersion.id == int(row_id)))
        return questionnaire is not None and can_see_unit(session, user, _questionnaire_unit(session, questionnaire))
    return chain_visible(session, user, key)


# -- importing ------------------------------------------------------------------------------


def check_import_units(session: Session, user: User, units: list[tuple[str, Unit | None]]) -> list[str]:
    """Refuse an import into a stored unit ``user`` may not see; return the codes of the new units.

    ``units`` pairs each unit code of the table with its stored unit (None: a new unit). A new unit
    is granted to the importing account afterwards (:func:`grant_units`), so township staff can
    import their own unit's first table.
    """
    refused = [unit for _, unit in units if unit is not None and not can_see_unit(session, user, unit.id)]
    if refused:
        names = "、".join(f"{unit.name}（{unit.code}）" for unit in refused)
        raise ScopeError(f"表中的单位 {names} 不在您的账号可管理的单位中。"
                         "请只导入本单位的表，或请管理员在“账号”页为您授权。")
    return [code for code, unit in units if unit is None]


def grant_units(session: Session, user: User, units: list[Unit], *, actor: str) -> None:
    """Give ``user`` the units it has just created by importing (recorded in the chained audit log)."""
    from survey_app.services import audit_log

    if user.sees_every_unit:
        return
    for unit in units:
        if unit not in user.units:
            user.units.append(unit)
            session.flush()
            audit_log.record(session, actor=actor, user_id=user.id, action="grant_unit", obj=unit,
                             username=user.username, unit=unit.code, reason="import")
