"""A live server and Debian's chromium driven by Playwright.

Browser tests skip with a clear message when chromium or Playwright is missing,
and fail instead when SURVEY_REQUIRE_BROWSER=1 (set by .ci/run).
"""

import os
import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.db import get_db
from survey_app.migrate import upgrade

CHROMIUM = os.environ.get("SURVEY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str):
    if os.environ.get("SURVEY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required (SURVEY_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not os.path.exists(CHROMIUM):
        _unavailable(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app on a real port with a committed SQLite database holding the published demo."""
    from survey_app.services.accounts import create_user
    from tests.conftest import load_demo

    folder = tmp_path_factory.mktemp("live")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'live.sqlite3'}", "SECRET_KEY": "live",
                      "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder), "WTF_CSRF_ENABLED": True})
    upgrade(app)
    session = get_db(app).session()
    unit, _ = load_demo(session)
    create_user(session, "staff", "correct horse battery", "staff", actor="t", all_units=True)
    create_user(session, "auditor", "correct horse battery", "auditor", actor="t", all_units=True)
    # 150 of 197 village cadres answered on paper over several villages, 146 satisfied
    from survey_app.models import Questionnaire
    from tests.factories import add_responses

    cadres = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == "村干部工资")
    villages = list(unit.villages)
    add_responses(session, cadres, [(villages[i], s, o, 0) for i, (s, o) in enumerate(
        [(22, 1), (20, 0), (19, 1), (18, 0), (17, 1), (16, 0), (14, 1), (12, 0), (8, 0)])])
    session.commit()
    session.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    get_db(app).engine.dispose()
