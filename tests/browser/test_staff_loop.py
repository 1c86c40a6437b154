"""The whole loop as a newcomer does it, in a real browser at desktop and phone widths.

import → villages → generate → edit → publish → print → answer (poster, card, paper with card
number) → progress → results → write-back → 自评表 → audit. Every page must be plain Chinese (no
English jargon, no ``None``), answer below 500, and pass axe-core's WCAG 2.1 A/AA rules.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.db import get_db
from survey_app.migrate import upgrade
from tests.browser.conftest import _unavailable
from tests.conftest import SEED

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("SURVEY_AXE") or ROOT / ".npm-tools" / "node_modules" / "axe-core" / "axe.min.js")
SHOTS = os.environ.get("SURVEY_SCREENSHOTS")
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
#: pages whose screenshots go into the README (SURVEY_SCREENSHOTS=docs/screenshots)
SHOT_NAMES = {"编辑问卷": "questionnaire-edit", "二维码发放": "distribution", "纸质问卷录入": "paper-entry",
              "绩效自评表": "self-evaluation", "审计首页": "audit-portal", "操作日志": "audit-log",
              "核验审计包": "verify-bundle"}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: what a staff member, respondent or auditor must never read
JARGON = re.compile(
    r"\bNone\b|\b(inconclusive|supported|contradicted|quantity|qualitative|wilson|clopper_pearson|"
    r"exact_hypergeometric|top2|weighted|issue_cards|publish_questionnaire|enter_paper|"
    r"Questionnaire|Response|User \d+|Traceback|Internal Server Error|null|undefined|true|false)\b")


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        _unavailable(f"axe-core not found at {AXE} (make test installs it with npm)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def fresh_server(tmp_path):
    """An empty app (accounts only) on a real port: the loop starts from importing the target table."""
    from survey_app.services.accounts import create_user

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'loop.sqlite3'}", "SECRET_KEY": "loop",
                      "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(tmp_path), "WTF_CSRF_ENABLED": True})
    upgrade(app)
    session = get_db(app).session()
    create_user(session, "staff", "correct horse battery", "staff", actor="t", all_units=True)
    create_user(session, "auditor", "correct horse battery", "auditor", actor="t", all_units=True)
    session.commit()
    session.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, base
    server.shutdown()
    get_db(app).engine.dispose()


class Walker:
    """Opens pages and checks each one: status, language, accessibility."""

    def __init__(self, page, axe: str, width: str, shots: Path | None) -> None:
        self.page, self.axe, self.width, self.shots = page, axe, width, shots
        self.errors: list[str] = []
        self.checked: list[str] = []
        page.on("response", self._status)
        page.on("dialog", lambda dialog: dialog.accept())

    def _status(self, response) -> None:
        if response.status >= 500:
            self.errors.append(f"{response.status} {response.url}")

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state()
        text = page.locator("body").inner_text()
        found = JARGON.search(text)
        assert not found, f"{name}: English or None on the page: {found.group(0)!r} in …{text[max(0, found.start() - 60):found.end() + 60]}…"
        page.add_script_tag(content=self.axe)
        violations = page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
            ".map(v => v.id + ': ' + v.help + ' → ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))",
            WCAG)
        assert not violations, f"{name} ({self.width}): axe-core found {violations}"
        assert not self.errors, self.errors
        if self.width == "phone" and not name.startswith("打印"):
            assert page.evaluate("document.documentElement.scrollWidth") <= 362, f"{name}: wider than 360 px"
        if self.shots is not None and name in SHOT_NAMES:
            page.screenshot(path=str(self.shots / f"{SHOT_NAMES[name]}-{self.width}.png"), full_page=False)
        self.checked.append(name)

    def goto(self, url: str, name: str) -> None:
        self.page.goto(url)
        self.check(name)

    def submit(self, locator, name: str) -> None:
        with self.page.expect_navigation():
            locator.click()
        self.check(name)


def _questionnaire(app, project: str):
    from survey_app.models import Questionnaire

    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == project)
    links = [(link.kind.value, link.village.name if link.village else None, link.card_no, link.token)
             for link in q.links]
    session.close()
    return q.id, links


@pytest.mark.browser
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_whole_loop_in_chinese_and_accessible(browser, fresh_server, axe_source, width, tmp_path):
    app, base = fresh_server
    context = browser.new_context(bypass_csp=True, **(DESKTOP if width == "desktop" else PHONE))
    page = context.new_page()
    shots = Path(SHOTS) if SHOTS else None
    walk = Walker(page, axe_source, width, shots)

    walk.goto(f"{base}/auth/login", "登录")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "correct horse battery")
    walk.submit(page.locator("input[type=submit]"), "项目列表（空）")

    # import the target table: preview, then confirm
    walk.goto(f"{base}/import", "导入目标表")
    page.set_input_files("input[type=file]", str(SEED))
    page.fill("input[name=year]", "2024")
    walk.submit(page.locator("input[type=submit]"), "导入预览")
    walk.submit(page.locator("input[type=submit][value=确认导入]"), "导入完成")

    # villages, pasted as a list
    walk.goto(f"{base}/villages", "村庄")
    page.fill("textarea[name=text]", "东村,1200,6\n西村,800,5\n南村,600,4")
    walk.submit(page.locator("form[action$='/villages/import'] input[type=submit]"), "村庄已导入")

    # the project page: generate the questionnaire, edit it, publish what is on the screen
    walk.goto(f"{base}/projects", "项目列表")
    walk.submit(page.get_by_role("link", name="村办公经费").first, "项目页")
    walk.submit(page.locator("form[action$='/questionnaire'] button").first, "编辑问卷")
    page.fill("input[name=title]", "村办公经费群众满意度调查")
    walk.submit(page.get_by_role("button", name=re.compile("^发布")), "二维码发放")
    q_id, _ = _questionnaire(app, "村办公经费")
    from survey_app.models import Questionnaire

    session = get_db(app).session()
    assert session.get(Questionnaire, q_id).current_version.content["title"] == "村办公经费群众满意度调查"
    session.close()  # the unsaved title was published, not the old draft

    # issue cards (top up to the suggestion) and open the print pages
    walk.submit(page.get_by_role("button", name="发放卡片"), "卡片已发放")
    walk.goto(f"{base}/questionnaires/{q_id}/print/posters", "打印海报")
    walk.goto(f"{base}/questionnaires/{q_id}/print/cards", "打印卡片")

    # answer: a village poster and a card on a phone-like page, then a paper form with a card number
    _, links = _questionnaire(app, "村办公经费")
    poster = next(t for kind, village, _, t in links if kind == "poster" and village == "东村")
    cards = [(village, no, t) for kind, village, no, t in links if kind == "card"]
    for token in (poster, cards[0][2]):
        walk.goto(f"{base}/R/{token}", "答卷页")
        page.get_by_label("满意", exact=True).first.check()
        page.get_by_label("其他", exact=True).check()
        walk.submit(page.get_by_role("button", name="提交"), "回执页")
    walk.goto(f"{base}/R/{cards[0][2]}", "已使用的卡片")
    assert "此二维码已使用" in page.locator("body").inner_text()
    walk.goto(f"{base}/receipt?code=abcd-efgh", "回执核对（没有找到）")
    village, number, _ = cards[1]
    walk.goto(f"{base}/questionnaires/{q_id}/paper", "纸质问卷录入")
    page.fill("input[name=card_no]", str(number))
    page.locator("input[name=satisfaction][value=非常满意]").check()
    page.locator("input[name=identity][value=其他]").check()
    page.fill("input[name=village]", village)
    walk.submit(page.get_by_role("button", name=re.compile("^保存")), "纸质问卷已保存")
    assert "回执码" in page.locator("main").inner_text()

    # progress, results, write-back, self-evaluation
    walk.goto(f"{base}/questionnaires/{q_id}/progress", "收集进度")
    assert "3" in page.locator("main").inner_text()
    walk.goto(f"{base}/questionnaires/{q_id}/results", "结果")
    walk.submit(page.get_by_role("button", name="写回指标"), "已写回")
    walk.goto(f"{base}/projects", "项目列表（有数据）")
    walk.submit(page.get_by_role("link", name="村办公经费").first, "项目页（已写回）")
    walk.submit(page.get_by_role("link", name="绩效自评表"), "绩效自评表")
    walk.goto(f"{base}/questionnaires/{q_id}/distribution", "二维码发放（有答卷）")

    # the auditor
    context.clear_cookies()
    walk.goto(f"{base}/auth/login", "登录（审计）")
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", "correct horse battery")
    walk.submit(page.locator("input[type=submit]"), "审计首页")
    assert page.url.endswith("/audit/")
    walk.goto(f"{base}/audit/verify", "核验数据库")
    walk.goto(f"{base}/audit/head", "链头")
    walk.goto(f"{base}/audit/questionnaires/{q_id}", "证据页")
    walk.goto(f"{base}/audit/log", "操作日志")
    walk.goto(f"{base}/audit/verify-bundle", "核验审计包")
    walk.goto(f"{base}/questionnaires/{q_id}/results", "结果（审计）")
    walk.goto(f"{base}/results", "结果汇总")
    context.close()
    assert len(walk.checked) >= 30
