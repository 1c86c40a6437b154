"""Database engine and sessions: one engine and session factory per app.

Views get a request-scoped session from :func:`get_session`; it is closed at
teardown. Services only ``flush()``; the view or command that called them
commits (one commit per request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, current_app, flash, g, has_request_context, request
from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event
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
        # A transaction that will write takes the write lock up front (IMMEDIATE): two deferred
        # transactions that both read and then write would make SQLite fail one at once ("database
        # is locked") instead of letting it wait. A request that only reads (GET/HEAD) begins a
        # plain deferred transaction, so that a slow page never holds the lock a respondent's
        # submit needs (WAL readers never block the writer). CLI commands and state-changing
        # requests write. PostgreSQL runs writers in parallel and needs none of this.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes() else "BEGIN")


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _writes() -> bool:
    """Will the current transaction write? Yes outside requests (commands) and for state-changing
    requests; a GET that writes says so first with :func:`will_write`."""
    if not has_request_context():
        return True
    return request.method not in READ_ONLY_METHODS or bool(g.get("db_will_write"))


def will_write() -> None:
    """Declare, before the first query, that this read-only-method request writes (e.g. a GET
    download that records an audit event), so that SQLite takes the write lock at BEGIN."""
    g.db_will_write = True
    session: Session | None = g.get("db_session")
    if session is not None and session.in_transaction():
        session.commit()  # end the read-only transaction (e.g. the login check); the next one writes


@dataclass
class Outcome:
    """What :func:`transaction` did: ``ok`` after the commit, ``error`` (the message) after a rollback."""

    ok: bool = False
    error: str = ""


@contextmanager
def transaction(*errors: type[Exception], session: Session | None = None, prefix: str = "",
                on_error: Callable[[str], Any] | None = None,
                message: Callable[[Exception], str] | None = None) -> Iterator[Outcome]:
    """Run the block, then commit once; on one of ``errors`` roll back and report the message.

    The one transaction helper for views and commands (services only flush)::

        with transaction(ExclusionError) as done:
            exclude(session, response, reason, actor=user)
        if done.ok:
            flash("已排除。", "success")

    The message (``prefix`` + the error's Chinese text) is flashed as an error in a request,
    or passed to ``on_error`` (e.g. a command's ``_fail``); ``message`` turns the error into the
    text when its Chinese text needs context (e.g. which card was already used). Other exceptions propagate (the
    error handler rolls back and shows the 500 page).
    """
    session = session if session is not None else get_session()
    outcome = Outcome()
    caught = errors or (ValueError,)
    try:
        yield outcome
        session.commit()
    except caught as exc:
        session.rollback()
        outcome.error = prefix + (message(exc) if message else str(getattr(exc, "reason", None) or exc))
        (on_error or (lambda message: flash(message, "error")))(outcome.error)
        return
    outcome.ok = True


class Database:
    """The per-app engine and session factory (stored in ``app.extensions``)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.writer: Engine | None = None
        if self.engine.dialect.name == "postgresql":
            # one-statement writes (the respondent's answer): autocommit, and no ping before each use
            # (one round trip instead of two); a connection the server dropped makes the statement
            # fail, and the caller falls back to its full path, whose session's pool pings
            writer = self.writer = create_engine(self.engine.url, isolation_level="AUTOCOMMIT")
            event.listen(self.engine, "engine_disposed", lambda _engine: writer.dispose())

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """A connection for a write that is one statement, atomic by itself (a respondent's answer
        on PostgreSQL): in autocommit mode, so neither BEGIN nor COMMIT costs a round trip, and not
        pinged first (see ``writer``): a dropped connection raises, the caller has a fallback.

        Elsewhere the statements run in a session's transaction committed at the end (rolled back
        on an error): on SQLite, whose writers take the lock at BEGIN, and when the session factory
        is bound to a connection in an outer transaction (the tests).
        """
        if self.writer is not None and self.sessionmaker.kw.get("bind") is self.engine:
            with self.writer.connect() as connection:
                yield connection
            return
        session = self.session()
        try:
            yield session.connection()
            session.commit()
        finally:
            session.close()


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
