"""A live server, Debian's chromium driven by Playwright, and the page checker the browser tests share.

Browser tests skip with a clear message when chromium or Playwright is missing,
and fail instead when SURVEY_REQUIRE_BROWSER=1 (set by .ci/run).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.db import get_db
from survey_app.migrate import upgrade

CHROMIUM = os.environ.get("SURVEY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("SURVEY_AXE") or ROOT / ".npm-tools" / "node_modules" / "axe-core" / "axe.min.js")
PASSWORD = "correct horse battery"
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: what a staff member, respondent or auditor must never read
JARGON = re.compile(
    r"\bNone\b|\b(inconclusive|supported|contradicted|quantity|qualitative|wilson|clopper_pearson|"
    r"exact_hypergeometric|top2|weighted|issue_cards|publish_questionnaire|enter_paper|"
    r"Questionnaire|Response|User \d+|Traceback|Internal Server Error|null|undefined|true|false)\b")


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
def axe_source() -> str:
    if not AXE.exists():
        _unavailable(f"axe-core not found at {AXE} (make test installs it with npm)")
    return AXE.read_text(encoding="utf-8")


@contextlib.contextmanager
def live_app(folder: Path, name: str, seed: Callable[[object], object]) -> Iterator[tuple[object, str, object]]:
    """The app on a real port with a committed SQLite database in ``folder``, filled by ``seed(session)``.

    Yields (app, base URL, what ``seed`` returned); the links the app prints point at the server.
    """
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / (name + '.sqlite3')}", "SECRET_KEY": name,
                      "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder), "WTF_CSRF_ENABLED": True})
    upgrade(app)
    session = get_db(app).session()
    seeded = seed(session)
    session.commit()
    session.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield app, base, seeded
    finally:
        server.shutdown()
        get_db(app).engine.dispose()


def _demo_with_cadre_answers(session) -> None:  # type: ignore[no-untyped-def]
    """The published demo, staff and auditor accounts; 150 of 197 village cadres answered on paper, 146 satisfied."""
    from survey_app.models import Questionnaire
    from survey_app.services.accounts import create_user
    from tests.conftest import load_demo
    from tests.factories import add_responses

    unit, _ = load_demo(session)
    create_user(session, "staff", PASSWORD, "staff", actor="t", all_units=True)
    create_user(session, "auditor", PASSWORD, "auditor", actor="t", all_units=True)
    cadres = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == "村干部工资")
    villages = list(unit.villages)
    add_responses(session, cadres, [(villages[i], s, o, 0) for i, (s, o) in enumerate(
        [(22, 1), (20, 0), (19, 1), (18, 0), (17, 1), (16, 0), (14, 1), (12, 0), (8, 0)])])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app on a real port with a committed SQLite database holding the published demo."""
    with live_app(tmp_path_factory.mktemp("live"), "live", _demo_with_cadre_answers) as (app, base, _):
        yield app, base


def login(page, base: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()


class PageChecker:
    """Opens pages and checks each one: it answers below 500, reads as plain Chinese (no English jargon, no
    ``None``), passes axe-core's WCAG 2.1 A/AA rules and, at phone width, fits 360 px (print pages, laid out
    for A4, excepted).

    Every problem is recorded in ``problems``; with ``stop_at_first`` the first page with a problem fails the
    test at once (a walk whose next step needs that page), otherwise the test reports them all at the end.
    """

    def __init__(self, page, axe: str, width: str, *, stop_at_first: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.page, self.axe, self.width, self.stop_at_first = page, axe, width, stop_at_first
        self.problems: list[str] = []
        self.checked: list[str] = []
        self.server_errors: list[str] = []
        page.on("response", self._status)
        page.on("dialog", lambda dialog: dialog.accept())

    def _status(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state()
        found: list[str] = []
        text = page.locator("body").inner_text()
        jargon = JARGON.search(text)
        if jargon:
            found.append(f"{name}: English or None: {jargon.group(0)!r} in "
                         f"…{text[max(0, jargon.start() - 60):jargon.end() + 60]}…")
        page.add_script_tag(content=self.axe)
        violations = page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
            ".map(v => v.id + ': ' + v.help + ' → ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))",
            WCAG)
        found += [f"{name} ({self.width}): axe {v}" for v in violations]
        if self.width == "phone" and "/print/" not in page.url:
            wide = page.evaluate("document.documentElement.scrollWidth")
            if wide > 362:
                found.append(f"{name}: {wide} px wide at 360 px")
        if self.server_errors:
            found.append(f"{name}: server error {self.server_errors}")
            self.server_errors.clear()
        self.problems += found
        self.checked.append(name)
        if found and self.stop_at_first:
            pytest.fail("\n".join(found))

    def goto(self, url: str, name: str | None = None) -> None:
        response = self.page.goto(url)
        if response is not None and response.status >= 500:
            self.problems.append(f"{name or url}: {response.status}")
        self.check(name or url.split("//", 1)[-1].split("/", 1)[-1])

    def submit(self, locator, name: str) -> None:  # type: ignore[no-untyped-def]
        with self.page.expect_navigation():
            locator.click()
        self.check(name)
