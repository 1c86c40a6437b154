from pathlib import Path

import pytest

from survey_app import create_app


def test_config_defaults_and_testing_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    app = create_app()
    assert not app.testing
    assert app.config["DATABASE_URL"] == f"sqlite:///{(tmp_path / 'survey.sqlite3').as_posix()}"
    assert create_app({"TESTING": True}).testing


def test_secret_key_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) == 64
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0
    other = tmp_path / "other"
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(other))
    assert create_app().config["SECRET_KEY"] != first


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SURVEY_SECRET_KEY", "from-env")
    monkeypatch.setenv("SURVEY_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.db"))
    monkeypatch.setenv("SURVEY_REDIS_URL", "redis://127.0.0.1:6379/0")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["DATABASE_URL"].endswith("x.db")
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_templates_found_and_base_renders(app):
    with app.test_request_context("/"):
        from flask import render_template

        html = render_template("errors/error.html", code=404, title="页面不存在", message="x")
    assert 'lang="zh-CN"' in html and "页面不存在" in html


def test_sqlite_pragmas(app, session):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite only")
    conn = session.connection()
    assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_demo_table_is_the_seed_fixture():
    here = Path(__file__).parent
    packaged = here.parent / "survey_app" / "demo" / "seed_table.txt"
    assert packaged.read_bytes() == (here / "fixtures" / "seed_000_d78a732831ec7d8e.txt").read_bytes()


def test_transaction_helper_commits_once_or_rolls_back_and_reports(app):
    from sqlalchemy import func, select

    from survey_app.db import get_db, transaction
    from survey_app.models import Village
    from survey_app.services.villages import VillageError

    session = get_db(app).session()
    messages = []
    with transaction(VillageError, session=session, on_error=messages.append, prefix="未保存：") as failed:
        session.execute(select(func.count(Village.id)))
        raise VillageError("村名不能为空")
    assert not failed.ok and failed.error == "未保存：村名不能为空" and messages == [failed.error]
    assert not session.in_transaction()  # rolled back
    with transaction(VillageError, session=session, on_error=messages.append) as done:
        session.execute(select(func.count(Village.id)))
    assert done.ok and not session.in_transaction() and len(messages) == 1
    session.close()
