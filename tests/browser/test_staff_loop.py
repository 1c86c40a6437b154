"""The whole loop as a newcomer does it, in a real browser at desktop and phone widths.

import → villages → generate → edit → publish → print → answer (poster, card, paper with card
number) → progress → results → write-back → 自评表 → audit. Every page must be plain Chinese (no
English jargon, no ``None``), answer below 500, and pass axe-core's WCAG 2.1 A/AA rules.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from survey_app.db import get_db
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, PageChecker, live_app
from tests.conftest import SEED

SHOTS = os.environ.get("SURVEY_SCREENSHOTS")
#: pages whose screenshots go into the README (SURVEY_SCREENSHOTS=docs/screenshots)
SHOT_NAMES = {"编辑问卷": "questionnaire-edit", "二维码发放": "distribution", "纸质问卷录入": "paper-entry",
              "绩效自评表": "self-evaluation", "审计首页": "audit-portal", "操作日志": "audit-log",
              "核验审计包": "verify-bundle"}


def _accounts(session) -> None:  # type: ignore[no-untyped-def]
    from survey_app.services.accounts import create_user

    create_user(session, "staff", PASSWORD, "staff", actor="t", all_units=True)
    create_user(session, "auditor", PASSWORD, "auditor", actor="t", all_units=True)


@pytest.fixture
def fresh_server(tmp_path):
    """An empty app (accounts only) on a real port: the loop starts from importing the target table."""
    with live_app(tmp_path, "loop", _accounts) as (app, base, _):
        yield app, base


class Walker(PageChecker):
    """The page checker, stopping at the first page with a problem, taking the README's screenshots."""

    def __init__(self, page, axe: str, width: str, shots: Path | None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(page, axe, width, stop_at_first=True)
        self.shots = shots

    def check(self, name: str) -> None:
        super().check(name)
        if self.shots is not None and name in SHOT_NAMES:
            self.page.screenshot(path=str(self.shots / f"{SHOT_NAMES[name]}-{self.width}.png"), full_page=False)


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
    for path, name in (("/audit/verify", "核验数据库"), ("/audit/head", "链头"), (f"/audit/questionnaires/{q_id}", "证据页"),
                       ("/audit/log", "操作日志"), ("/audit/verify-bundle", "核验审计包"),
                       (f"/questionnaires/{q_id}/results", "结果（审计）"), ("/results", "结果汇总")):
        walk.goto(base + path, name)
    context.close()
    assert len(walk.checked) >= 30
