"""Backups taken while villagers keep answering, restored into a fresh database, verified."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from survey_app import create_app
from survey_app.cli import main
from survey_app.db import get_db
from survey_app.migrate import upgrade
from tests.conftest import _backends, fresh_database, load_demo, pg_url_with_schema
from tests.test_collection import open_form, poster_of, receipt_in

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def empty_pg_database(pg_base_url: str, schema: str) -> Iterator[str]:
    """A new PostgreSQL database (dropped afterwards) reached with search_path ``schema``, as the backup needs."""
    name = f"survey_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url_with_schema(make_url(pg_base_url).set(database=name).render_as_string(hide_password=False), schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cli(url: str, tmp_path, *args: str):
    """``survey-app ARGS`` against ``url`` (an app of its own, as a separate command would have)."""
    from flask.cli import ScriptInfo

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "k"})
    try:
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)
    finally:
        get_db(app).engine.dispose()


class Villagers(threading.Thread):
    """Answers through a poster, one after another, until stopped (bounded); keeps the receipts it got."""

    def __init__(self, app, poster) -> None:
        super().__init__(daemon=True)
        self.client, self.poster = app.test_client(), poster
        self.receipts: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for _ in range(3000):
                if self.stop.is_set():
                    return
                _, token = open_form(self.client, self.poster)
                done = self.client.post(f"/R/{self.poster.token}/submit",
                                        data={"form_token": token, "satisfaction": "满意", "identity": "其他"})
                assert done.status_code == 200, done.get_data(as_text=True)
                self.receipts.append(receipt_in(done.get_data(as_text=True)))
        except BaseException as exc:  # reported by the test
            self.error = exc

    def wait_for(self, n: int) -> None:
        for _ in range(600):
            if len(self.receipts) >= n or self.error or not self.is_alive():
                break
            time.sleep(0.05)
        assert self.error is None, self.error
        assert len(self.receipts) >= n


@pytest.mark.parametrize("backend", _backends())
def test_backup_under_load_restores_and_verifies(backend, tmp_path, pg_base_url):
    from survey_app.services.integrity import publish_head

    with fresh_database(backend, tmp_path, pg_base_url, "survey_backup") as source:
        app = create_app({"DATABASE_URL": source, "TESTING": True, "SECRET_KEY": "k", "RATELIMIT_ENABLED": False})
        upgrade(app)
        session = get_db(app).session()
        _, published = load_demo(session)
        poster = poster_of(published[0][0])
        head = publish_head(session, actor="t", note="交审计局").root
        session.commit()
        session.close()

        villagers = Villagers(app, poster)
        villagers.start()
        try:
            villagers.wait_for(5)
            before = list(villagers.receipts)  # answered and shown a receipt before the backup started
            path = tmp_path / "survey.backup"
            result = run_cli(source, tmp_path, "backup", str(path), "--json")
            assert result.exit_code == 0, result.output
            taken = json.loads(result.output)
            villagers.wait_for(len(villagers.receipts) + 3)  # still answering after the backup
        finally:
            villagers.stop.set()
            villagers.join(30)
        assert villagers.error is None, villagers.error
        total = len(villagers.receipts)
        assert len(before) <= taken["responses"] < total  # a moment in the middle of the load
        assert taken["published_heads"] == 1 and json.loads((tmp_path / "survey.backup.json").read_text())["root"] == taken["root"]

        refused = run_cli(source, tmp_path, "restore", str(path))  # never over a live database
        assert refused.exit_code == 1 and "目标数据库不是空的" in refused.output

        schema = make_url(source).query.get("options", "").split("=")[-1] if backend == "postgresql" else ""
        target_cm = (empty_pg_database(pg_base_url, schema) if backend == "postgresql"
                     else fresh_database("sqlite", tmp_path, pg_base_url, "restored"))
        with target_cm as target:
            restored = run_cli(target, tmp_path, "restore", str(path))
            assert restored.exit_code == 0, restored.output
            assert "一致" in restored.output and "核验通过" in restored.output
            verified = run_cli(target, tmp_path, "verify", "--head", head)
            assert verified.exit_code == 0 and verified.output.startswith("通过"), verified.output
            engine = create_engine(target)
            with engine.connect() as conn:
                receipts = set(conn.execute(text("SELECT receipt FROM responses")).scalars())
            engine.dispose()
            assert len(receipts) == taken["responses"]  # the counts of the backup moment
            assert set(before) <= receipts  # every receipt issued before the backup is found
            assert set(villagers.receipts) - receipts  # answers after the backup are not in it
        get_db(app).engine.dispose()


def test_restore_refuses_a_backup_of_the_other_database_kind(tmp_path):
    path = tmp_path / "pg.backup"
    path.write_bytes(b"PGDMP")
    (tmp_path / "pg.backup.json").write_text(json.dumps(
        {"backend": "postgresql", "taken_at": "2026-01-01T00:00:00+00:00", "responses": 1, "audit_events": 1,
         "root": "x", "published_heads": 0, "schema": "public"}))
    result = run_cli(f"sqlite:///{tmp_path / 'new.sqlite3'}", tmp_path, "restore", str(path))
    assert result.exit_code == 1 and "不能恢复到 sqlite 数据库" in result.output
    missing = run_cli(f"sqlite:///{tmp_path / 'new.sqlite3'}", tmp_path, "restore", str(tmp_path / "nothing"))
    assert missing.exit_code == 1 and "备份文件不存在" in missing.output


def test_sqlite_backup_and_restore_keep_every_table(tmp_path):
    """Round trip without load: the restored file has the same schema revision and rows."""
    source = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    app = create_app({"DATABASE_URL": source, "SECRET_KEY": "k"})
    upgrade(app)
    session = get_db(app).session()
    load_demo(session)
    session.close()
    assert run_cli(source, tmp_path, "backup", str(tmp_path / "b.backup")).exit_code == 0
    target = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    assert run_cli(target, tmp_path, "restore", str(tmp_path / "b.backup")).exit_code == 0
    counts = []
    for url in (source, target):
        engine = create_engine(url)
        with engine.connect() as conn:
            counts.append([conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                           for t in ("alembic_version", "links", "questionnaire_versions", "audit_events", "villages")])
        engine.dispose()
    assert counts[0] == counts[1] and all(counts[0])
    assert os.path.exists(tmp_path / "b.backup.json")
    get_db(app).engine.dispose()
