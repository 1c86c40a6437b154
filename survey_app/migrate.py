"""Run Alembic migrations for an app (used by ``survey-app db upgrade`` and tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import Connection

from survey_app import resource_dir
from survey_app.db import get_db


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config pointing at the bundled migrations."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    engine = get_db(app).engine
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def current_revision(app: Flask) -> str | None:
    with get_db(app).engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
