"""Back up and restore the whole database while the service runs.

* PostgreSQL: ``pg_dump`` (custom format) inside a REPEATABLE READ transaction
  whose snapshot is exported to it (``pg_export_snapshot``), so the figures
  written beside the dump (response count, chain head) describe exactly the
  rows in it; ``pg_restore`` into an empty database.
* SQLite: the online backup API (``sqlite3.Connection.backup``, one step: a
  consistent copy while other connections keep writing); restore copies the
  file back the same way into an empty database.

Next to ``PATH`` a manifest ``PATH.json`` records when the backup was taken, the
backend, the schema, the response count and the head root at that moment. A
restore refuses a non-empty target (restore into a new database, check it,
then switch over), and the command line verifies the restored database and
compares it with the manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from analysis.chain import AUDIT_CHAIN, root
from survey_app.db import utcnow


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why, in Chinese."""


@dataclass
class Manifest:
    backend: str
    taken_at: str
    responses: int
    audit_events: int
    root: str
    published_heads: int
    schema: str | None = None


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def state(session: Session) -> dict[str, Any]:
    """Counts and head root as the session sees them (the backup moment, when in its snapshot)."""
    from survey_app.services.integrity import current_head

    heads = current_head(session, include_simulated=True)
    responses = session.execute(text("SELECT count(*) FROM responses")).scalar_one()
    published = session.execute(text("SELECT count(*) FROM published_heads")).scalar_one()
    return {"responses": int(responses), "audit_events": heads.get(AUDIT_CHAIN, (0, ""))[0],
            "root": root(heads), "published_heads": int(published)}


# -- PostgreSQL ----------------------------------------------------------------------------


def _pg_target(url: URL) -> tuple[str, dict[str, str], str | None]:
    """(libpq URI without password, environment with PGPASSWORD, schema named by search_path or None)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    schema = None
    options = unquote(str(plain.query.get("options") or ""))
    match = re.search(r"search_path\s*=\s*([^\s,]+)", options)
    if match:
        schema = match.group(1).strip('"')
    return plain.render_as_string(hide_password=False), env, schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"找不到 {name}：请安装与数据库服务器同版本的 PostgreSQL 客户端"
                          "（Debian：apt-get install postgresql-client）。")
    return found


def _check_versions(tool: str, engine: Engine) -> None:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    client = int(match.group(1)) if match else 0
    with engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    if client < server:
        raise BackupError(f"{Path(tool).name} 版本 {client} 低于数据库服务器版本 {server}，无法可靠备份或恢复；"
                          f"请安装 {server} 版或更新的 PostgreSQL 客户端。")


def _pg_backup(engine: Engine, path: Path) -> Manifest:
    pg_dump = _tool("pg_dump")
    _check_versions(pg_dump, engine)
    uri, env, schema = _pg_target(engine.url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        current = conn.execute(text("SELECT current_schema()")).scalar_one()
        figures = state(Session(bind=conn))
        command = [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                   f"--file={path}", f"--dbname={uri}"]
        if current != "public":
            command.append(f"--schema={current}")
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump 失败：{done.stderr.strip()}")
    return Manifest("postgresql", utcnow().isoformat(timespec="seconds"), schema=schema or current, **figures)


def _pg_restore(engine: Engine, path: Path, manifest: Manifest | None) -> None:
    pg_restore = _tool("pg_restore")
    _check_versions(pg_restore, engine)
    uri, env, _ = _pg_target(engine.url)
    with engine.connect() as conn:
        current = conn.execute(text("SELECT current_schema()")).scalar_one()
    if current is None:  # search_path names a schema that does not exist yet: pg_restore creates it
        current = _pg_target(engine.url)[2]
    if manifest is not None and manifest.schema and manifest.schema != current:
        raise BackupError(f"备份里的数据在 schema“{manifest.schema}”中，目标连接使用“{current}”；"
                          f"请恢复到 search_path 为 {manifest.schema} 的新数据库。")
    done = subprocess.run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                           f"--dbname={uri}", str(path)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore 失败，目标数据库未改动：{done.stderr.strip()}")


# -- SQLite ------------------------------------------------------------------------------------


def _sqlite_backup(engine: Engine, path: Path) -> Manifest:
    fd, tmp = tempfile.mkstemp(prefix=".backup-", dir=path.parent)
    os.close(fd)
    try:
        target = sqlite3.connect(tmp)
        raw = engine.raw_connection()
        try:
            raw.driver_connection.backup(target)  # one step: a consistent copy while writers continue
        finally:
            raw.close()
        target.close()
        copy = _sqlite_engine(tmp)
        with Session(copy) as session:
            figures = state(session)
        copy.dispose()
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return Manifest("sqlite", utcnow().isoformat(timespec="seconds"), **figures)


def _sqlite_engine(file: str | Path) -> Engine:
    from survey_app.db import make_engine

    return make_engine(f"sqlite:///{file}")


def _sqlite_restore(engine: Engine, path: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        source.backup(raw.driver_connection)
    finally:
        raw.close()
        source.close()
    engine.dispose()


# -- both -----------------------------------------------------------------------------------------


def backup(engine: Engine, path: Path) -> Manifest:
    """Write a consistent backup of the whole database to ``path`` and its manifest beside it."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BackupError(f"备份目录不存在：{path.parent}")
    made = _pg_backup(engine, path) if engine.dialect.name == "postgresql" else _sqlite_backup(engine, path)
    manifest_path(path).write_text(json.dumps(asdict(made), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return made


def read_manifest(path: Path) -> Manifest | None:
    file = manifest_path(Path(path))
    if not file.exists():
        return None
    return Manifest(**json.loads(file.read_text(encoding="utf-8")))


def _tables(engine: Engine) -> list[str]:
    if engine.dialect.name != "postgresql":
        return inspect(engine).get_table_names()
    schema = _pg_target(engine.url)[2]
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = coalesce(current_schema(), :s)"),
            {"s": schema or "public"}).scalars())


def restore(engine: Engine, path: Path) -> Manifest | None:
    """Restore ``path`` into the (empty) database of ``engine``. Returns the backup's manifest, if any."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    manifest = read_manifest(path)
    backend = engine.dialect.name
    if manifest is not None and manifest.backend != backend:
        raise BackupError(f"这是 {manifest.backend} 数据库的备份，不能恢复到 {backend} 数据库。")
    tables = _tables(engine)
    if tables:
        raise BackupError(f"目标数据库不是空的（已有 {len(tables)} 张表）。为避免覆盖现有答卷，只能恢复到新的空数据库："
                          "恢复并核验通过后，再把 SURVEY_DATABASE_URL 指向它。")
    if backend == "postgresql":
        _pg_restore(engine, path, manifest)
    else:
        _sqlite_restore(engine, path)
    return manifest
