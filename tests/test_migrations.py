"""Every schema change is a migration: upgrade an empty database, compare with the models."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from survey_app import models  # noqa: F401
from survey_app.db import Base
from survey_app.migrate import alembic_config
from tests.conftest import pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path, pg_base_url):
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    if not pg_base_url:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL migration test runs in CI")
    with pg_schema(pg_base_url, "mig") as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def test_upgrade_empty_database_matches_models(empty_engine):
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert context.get_current_revision() == head
    assert diff == [], f"models and migrations differ; write a migration: {diff}"
    tables = set(inspect(empty_engine).get_table_names())
    assert {"units", "projects", "indicators", "villages", "users", "audit_events"} <= tables


def test_downgrade_to_base_and_up_again(empty_engine):
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert "indicators" in inspect(empty_engine).get_table_names()


def test_migration_files_are_named_by_date():
    import re

    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        assert re.match(r"^\d{8}_\d{4}_[0-9a-f]+_", script.path.rsplit("/", 1)[-1]), script.path
