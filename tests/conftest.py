"""Fixtures: an app per test on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set).

Each backend database is migrated once per session with Alembic; each test runs
inside an outer transaction that is rolled back (services' commits become
SAVEPOINT releases), so tests are isolated and leave nothing behind. On
PostgreSQL the whole run lives in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_000_d78a732831ec7d8e.txt"

# keep every app the tests build away from the developer's instance/ folder
_INSTANCE = tempfile.mkdtemp(prefix="survey-test-instance-")
os.environ["SURVEY_INSTANCE_PATH"] = _INSTANCE
os.environ.pop("SURVEY_DATABASE_URL", None)


def _backends() -> list[str]:
    backends = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        backends.append("postgresql")
    return backends


def pg_url_with_schema(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def pg_schema(base: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for the duration; yields a URL whose search_path is that schema."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url_with_schema(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path: Path, pg_base_url: str, name: str) -> Iterator[str]:
    """An empty database of its own: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (name + '.sqlite3')}"
    else:
        with pg_schema(pg_base_url, name) as url:
            yield url


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(scope="session", params=_backends())
def database_url(request, tmp_path_factory, pg_base_url) -> Iterator[str]:
    """A migrated database for the whole session, one per backend."""
    from survey_app import create_app
    from survey_app.migrate import upgrade

    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        else:
            url = stack.enter_context(pg_schema(pg_base_url, "survey_test"))
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test"})
        upgrade(app)
        app.extensions["survey_db"].engine.dispose()
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    """An app whose sessions all live inside one rolled-back transaction."""
    from survey_app import create_app
    from survey_app.db import get_db

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "test-secret",
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "RATELIMIT_ENABLED": False,
            "PUBLIC_URL": "http://survey.test",
        }
    )
    database = get_db(app)
    connection = database.engine.connect()
    outer = connection.begin()
    database.sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield app
    outer.rollback()
    connection.close()
    database.engine.dispose()


@pytest.fixture
def two_servers(database_url, pg_base_url, tmp_path, monkeypatch):
    """Two app instances (own instance and upload folders) on one fresh, committed database of the backend.

    ``two_servers(**config)`` migrates the database, adds a staff account and returns ``(apps, clients,
    session)``: both clients logged in, the session on the shared database; ``config`` overrides the apps'.
    """
    from survey_app import create_app
    from survey_app.db import get_db
    from survey_app.migrate import upgrade
    from survey_app.services.accounts import create_user

    with contextlib.ExitStack() as stack:

        def make(**overrides):
            backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
            url = stack.enter_context(fresh_database(backend, tmp_path, pg_base_url, "two_servers"))
            config = {"DATABASE_URL": url, "TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "shared",
                      "RATELIMIT_ENABLED": False, **overrides}
            apps = []
            for name in ("one", "two"):
                monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / name))
                apps.append(create_app({**config, "UPLOAD_FOLDER": str(tmp_path / name / "uploads")}))
            upgrade(apps[0])
            for app in apps:
                stack.callback(get_db(app).engine.dispose)
            session = get_db(apps[0]).session()
            stack.callback(session.close)
            create_user(session, "twoservers", PASSWORD, "staff", actor="t", all_units=True)
            session.commit()
            clients = [app.test_client() for app in apps]
            for client in clients:
                client.post("/auth/login", data={"username": "twoservers", "password": PASSWORD})
            return apps, clients, session

        yield make


@pytest.fixture
def session(app):
    from survey_app.db import get_db

    s = get_db(app).session()
    yield s
    s.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def cli(runner):
    """Invoke ``survey-app`` commands against the test app."""
    from survey_app.cli import main

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def seeded(app, session, seed_bytes):
    """The seed table imported (year 2024)."""
    from survey_app.services.importing import import_file

    import_file(session, seed_bytes, SEED.name, actor="test", year=2024)
    session.commit()
    return session


PASSWORD = "correct horse battery"


@pytest.fixture
def users(app, session):
    """One account per role, username = role name."""
    from survey_app.models import Role
    from survey_app.services.accounts import create_user

    # the township case: one unit, every account sees it (tests/test_scope.py covers the county case)
    made = {role.value: create_user(session, role.value, PASSWORD, role, actor="test", all_units=True)
            for role in Role}
    session.commit()
    return made


class Auth:
    def __init__(self, client) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD):
        return self.client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client, users) -> Auth:
    return Auth(client)


@pytest.fixture
def published(seeded):
    """The seed's four questionnaires generated and published, with demo villages, posters and cards."""
    from survey_app.models import Unit
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires

    unit = seeded.scalar(__import__("sqlalchemy").select(Unit))
    ensure_demo_villages(seeded, unit)
    result = publish_demo_questionnaires(seeded, unit)
    seeded.commit()
    return {q.indicator.project.name: q for q, _ in result}


def load_demo(session, *, year: int = 2024):
    """Seed table, 34 demo villages, the four questionnaires published with posters and cards (committed)."""
    from survey_app.models import Unit
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file

    import_file(session, SEED.read_bytes(), SEED.name, actor="t", year=year)
    unit = session.scalar(__import__("sqlalchemy").select(Unit))
    ensure_demo_villages(session, unit)
    published = publish_demo_questionnaires(session, unit)
    session.commit()
    return unit, published


#: what names the second township's rows (unit, projects, villages): never on a page of the first
OTHER_UNIT_MARK = "李三"
OTHER_PROJECTS = ("村办公经费", "村干部工资", "服务基层专项经费", "自收自支人员补助")


def other_unit_table() -> bytes:
    """The seed table as another township's (unit 929002, 李三庄镇, every project named 李三庄…)."""
    text = SEED.read_text(encoding="utf-8").replace("929001", "929002").replace("张二庄镇", "李三庄镇")
    for name in OTHER_PROJECTS:
        text = text.replace(name, f"李三庄{name}")
    return text.encode("utf-8")


@pytest.fixture
def county(published, session):
    """Two townships, each with published questionnaires, villages and a few answers; per township a staff
    member and an auditor (``staff_a``, ``auditor_a``, ``staff_b``, ``auditor_b``) and a county-wide
    auditor (``auditor_all``). Every name of the second township contains OTHER_UNIT_MARK."""
    from sqlalchemy import select

    from survey_app.models import Unit
    from survey_app.services.accounts import create_user
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file

    import_file(session, other_unit_table(), "李三庄镇.txt", actor="test", year=2024)
    session.commit()
    a = session.scalar(select(Unit).where(Unit.code == "929001"))
    b = session.scalar(select(Unit).where(Unit.code == "929002"))
    ensure_demo_villages(session, b)
    for village in b.villages:
        village.name = village.name.replace("演示", OTHER_UNIT_MARK)
    publish_demo_questionnaires(session, b)
    for name, unit in (("a", a), ("b", b)):
        create_user(session, f"staff_{name}", PASSWORD, "staff", actor="test", units=[unit])
        create_user(session, f"auditor_{name}", PASSWORD, "auditor", actor="test", units=[unit])
    create_user(session, "auditor_all", PASSWORD, "auditor", actor="test", all_units=True)
    session.commit()
    return {"a": a, "b": b}
