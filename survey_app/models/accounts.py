"""Staff, admin and auditor accounts."""

from __future__ import annotations

import datetime as dt
import enum

from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Column, Enum, ForeignKey, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app.db import Base, utcnow

if TYPE_CHECKING:
    from survey_app.models.budget import Unit

#: which units an account may see (staff: the units it works for; auditors: the units granted).
#: Admins see every unit; an account with ``all_units`` set sees every unit too.
user_units = Table(
    "user_units",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return {"admin": "管理员", "staff": "工作人员", "auditor": "审计人员"}[self.value]


class User(UserMixin, Base):
    """A login account. Respondents never log in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: part of every login session's identity; raising it (logout, password, role or active
    #: change: services.accounts.end_sessions) ends every session of the account at once
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: every unit, present and future (county-wide auditors, a county evaluator's staff)
    all_units: Mapped[bool] = mapped_column(default=False, server_default=false())
    units: Mapped[list[Unit]] = relationship(secondary=user_units, order_by="Unit.code", lazy="selectin")

    @property
    def sees_every_unit(self) -> bool:
        return self.role == Role.ADMIN or self.all_units

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username} {self.role}>"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the session stores id and session version
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)
