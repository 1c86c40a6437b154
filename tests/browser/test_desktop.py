"""Desktop pages in a real browser: the results page of an indicator, read by an auditor."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from survey_app.db import get_db
from survey_app.models import Questionnaire
from tests.browser.conftest import DESKTOP, login

SHOTS = os.environ.get("SURVEY_SCREENSHOTS")


@pytest.mark.browser
def test_results_page_for_an_auditor(browser, live_server, tmp_path):
    app, base = live_server
    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == "村干部工资")
    session.close()
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    login(page, base, "auditor")
    page.goto(f"{base}/questionnaires/{q.id}/results")
    text = page.locator("main").inner_text()
    assert "97.3%" in text and "达标（有统计支持）" in text and "总体 197 人" in text
    assert "95% 单侧下限 95.9%" in text and "exact_hypergeometric" not in text
    assert "总体人数未知" not in text  # the design text never contradicts the population
    assert page.locator("svg.chart").count() == 2
    assert page.locator("text=写回指标").count() == 0  # an auditor changes nothing
    bars = page.locator("svg.chart").first.locator("rect").count()
    assert bars == 9
    target = Path(SHOTS) / "results.png" if SHOTS else tmp_path / "results.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 30_000
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 360])
def test_progress_page_shows_the_figure_function_statement(browser, live_server, tmp_path, width):
    app, base = live_server
    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == "村干部工资")
    session.close()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, base, "staff")
    page.goto(f"{base}/questionnaires/{q.id}/progress")
    text = page.locator("main").inner_text()
    assert "满意率 97.3%：有效答卷 150 份，总体 197 人" in text and "达标（有统计支持）" in text
    assert "Wilson" not in text and "None" not in text
    target = (Path(SHOTS) if SHOTS else tmp_path) / f"progress-{width}.png"
    page.screenshot(path=str(target), full_page=True)
    context.close()


@pytest.mark.browser
def test_evidence_page_for_an_auditor(browser, live_server, tmp_path):
    app, base = live_server
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    login(page, base, "auditor")
    page.goto(f"{base}/audit/")
    root = page.locator("p.code").first.inner_text().strip()
    assert len(root) == 64
    page.click("text=村干部工资 · 群众满意度")
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    for heading in ("声明", "抽样框与回收", "答卷时间线", "各村结果", "质量提示", "排除的答卷", "问卷版本", "操作日志"):
        assert heading in text, heading
    assert "同一人集中录入纸质问卷" in text  # 150 paper forms keyed at once by one account in the fixture
    assert "剔除被提示的答卷后重新计算" in text
    assert page.locator("svg.chart").count() == 2
    assert page.locator("form[method=post]").count() == 1  # only the logout form: nothing to change here
    target = Path(SHOTS) / "evidence.png" if SHOTS else tmp_path / "evidence.png"
    page.screenshot(path=str(target), full_page=True)
    page.goto(f"{base}/audit/verify")
    assert "核验通过" in page.locator("main").inner_text()
    context.close()
