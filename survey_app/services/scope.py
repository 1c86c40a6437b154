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

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from survey_app.models import (
    Exclusion,
    ImportPreview,
    Indicator,
    Link,
    Project,
    Questionnaire,
    Response,
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
}


def unit_of_view_args(session: Session, view_args: dict[str, object]) -> list[int | None]:
    """The units of the rows named by a request's URL arguments (None for a row that does not exist)."""
    return [UNIT_OF[name](session, int(value)) for name, value in view_args.items() if name in UNIT_OF]  # type: ignore[call-overload]


def preview_visible(user: User, preview: ImportPreview) -> bool:
    """An import preview is seen by the account that uploaded it, and by admins."""
    return user.sees_every_unit and user.role.value == "admin" or preview.uploader_id == user.id
