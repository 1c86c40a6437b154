"""Database engine and sessions: one engine and session factory per app.

Views get a request-scoped session from :func:`get_session`; it is closed at
teardown. Services only ``flush()``; the view or command that called them
commits (one commit per request).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, abort, current_app, g
from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and working SAVEPOINTs."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; take it over
        # (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: two deferred transactions that both read
        # and then write would make SQLite fail one at once ("database is locked") instead of
        # letting it wait. SQLite is the embedded default; PostgreSQL runs writers in parallel.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The per-app engine and session factory (stored in ``app.extensions``)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()


def init_app(app: Flask) -> Database:
    """Bind the database to ``app`` and register the session teardown."""
    database = Database(app.config["DATABASE_URL"])
    app.extensions["survey_db"] = database

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return
        try:
            if exc is not None:
                session.rollback()
            session.close()
        except Exception:  # noqa: BLE001 - a dropped connection: the response is already made
            app.logger.warning("closing the database session failed", exc_info=True)

    return database


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["survey_db"]


def get_session() -> Session:
    """The request-scoped session (created on first use)."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def get_or_404(model: type[Any], ident: int) -> Any:
    """The row with primary key ``ident``, or a 404 page."""
    obj = get_session().get(model, ident)
    if obj is None:
        abort(404)
    return obj
