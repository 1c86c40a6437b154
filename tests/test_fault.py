"""Fault test (issue 15, "keep proving the good parts"): answers survive killed workers and dropped
database connections.

Several clients submit through posters and cards to a real gunicorn (2 workers) on PostgreSQL
while a worker is killed with SIGKILL and every database connection of the service is dropped
(``pg_terminate_backend``). A client retries a failed request with the same form, as a phone's
user does by pressing submit again. Afterwards every receipt a client received has exactly one
row, no card has two responses, and ``survey-app verify`` passes.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from survey_app import create_app
from survey_app.db import get_db
from survey_app.migrate import upgrade
from survey_app.models import Link, LinkKind, Response
from tests.conftest import load_demo, pg_schema

pytestmark = pytest.mark.slow

CLIENTS = 6
PER_CLIENT = 6
DEADLINE = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=15) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError):
        return 0, ""  # connection refused or reset: the worker died under the request


def _answer(base: str, token: str, village: str, log: list) -> None:
    """Open the link and submit once, retrying exactly as a person would, until a receipt or 已使用."""
    end = time.monotonic() + DEADLINE
    form_token = None
    while form_token is None:
        status, html = _request(f"{base}/R/{token}")
        if status == 410:
            log.append(("used-before-open", token))
            return
        match = re.search(r'name="form_token" value="([^"]+)"', html)
        if status == 200 and match:
            form_token = match.group(1)
        elif time.monotonic() > end:
            raise AssertionError(f"could not open {token}: {status}")
        else:
            time.sleep(0.1)
    data = {"form_token": form_token, "satisfaction": "满意", "identity": "其他", "village": village}
    while True:
        status, html = _request(f"{base}/R/{token}/submit", data)
        receipt = re.search(r'class="receipt">([0-9A-Z]{4}-[0-9A-Z]{4})<', html)
        if status == 200 and receipt:
            log.append(("receipt", token, receipt.group(1)))
            return
        if status == 410 and "此二维码已使用" in html:
            log.append(("used", token))
            return
        assert status in (0, 500, 502, 503), (status, html[:300])
        log.append(("retry", status))
        assert time.monotonic() < end, "no receipt before the deadline"
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_answers_survive_killed_workers_and_dropped_connections(pg_base_url, tmp_path):
    if not pg_base_url:
        pytest.skip("TEST_DATABASE_URL not set: the fault test runs on PostgreSQL in CI")
    name = f"fault_{uuid.uuid4().hex[:10]}"
    with pg_schema(pg_base_url, "fault") as url:
        url = f"{url}&application_name={name}"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "fault", "UPLOAD_FOLDER": str(tmp_path)})
        upgrade(app)
        session = get_db(app).session()
        unit, _published = load_demo(session)
        village = str(unit.villages[0].id)
        posters = session.scalars(select(Link.token).where(Link.kind == LinkKind.POSTER, Link.village_id.is_not(None))
                                  .order_by(Link.id).limit(4)).all()
        cards = session.scalars(select(Link.token).where(Link.kind == LinkKind.CARD).order_by(Link.id)
                                .limit(CLIENTS * PER_CLIENT)).all()
        session.close()
        port = _free_port()
        env = {**os.environ, "SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": "fault",
               "SURVEY_RATELIMIT_ENABLED": "false", "SURVEY_INSTANCE_PATH": str(tmp_path)}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        server = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30",
                                   "survey_app:create_app()"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        admin = create_engine(pg_base_url)
        try:
            for _ in range(300):
                if _request(f"{base}/receipt")[0] == 200:
                    break
                time.sleep(0.1)
            logs: list[list] = [[] for _ in range(CLIENTS)]

            def client(i: int) -> None:
                for n in range(PER_CLIENT):
                    if n % 2:
                        _answer(base, posters[(i + n) % len(posters)], village, logs[i])
                    else:  # cards: neighbouring clients race for the same card
                        _answer(base, cards[(i // 2) * PER_CLIENT + n], village, logs[i])

            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            killed = dropped = 0
            for round_ in range(3):
                time.sleep(0.4)
                workers = _children(server.pid)
                if workers:
                    os.kill(workers[round_ % len(workers)], signal.SIGKILL)
                    killed += 1
                time.sleep(0.3)
                with admin.begin() as conn:
                    dropped += len(conn.execute(text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": name}).all())
            for t in threads:
                t.join(DEADLINE + 30)
            assert not any(t.is_alive() for t in threads)
        finally:
            server.terminate()
            server.wait(30)
            admin.dispose()

        entries = [entry for log in logs for entry in log]
        assert killed == 3 and dropped > 0  # the faults really happened under load
        print(f"faults: {killed} workers killed, {dropped} connections dropped, "
              f"{sum(e[0] == 'retry' for e in entries)} requests retried")
        receipts = [e[2] for e in entries if e[0] == "receipt"]
        assert len(receipts) >= CLIENTS * PER_CLIENT // 2
        check = create_app({"DATABASE_URL": url, "SECRET_KEY": "fault", "UPLOAD_FOLDER": str(tmp_path)})
        session = get_db(check).session()
        counts = dict(session.execute(select(Response.receipt, func.count(Response.id))
                                      .where(Response.receipt.in_(receipts)).group_by(Response.receipt)).all())
        assert all(counts.get(r) == 1 for r in receipts), counts
        assert len(set(receipts)) == session.scalar(select(func.count(Response.id)))  # nothing stored unseen
        doubled = session.execute(select(Response.card_id).where(Response.card_id.is_not(None))
                                  .group_by(Response.card_id).having(func.count(Response.id) > 1)).all()
        assert doubled == []
        session.close()
        from survey_app.cli import main

        result = check.test_cli_runner().invoke(main, ["verify"])
        assert result.exit_code == 0, result.output
        get_db(check).engine.dispose()
        get_db(app).engine.dispose()
