"""Reading the answers in a real browser: per-question results, comments, the response list and one response,
at desktop width and on a 360 px phone."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from survey_app.db import get_db
from survey_app.models import Channel, Questionnaire
from tests.browser.conftest import login

SHOTS = os.environ.get("SURVEY_SCREENSHOTS")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
PROJECT = "服务基层专项经费"  # the other browser tests use the other projects' figures


@pytest.fixture(scope="module")
def answered(live_server):
    from survey_app.services.collection import Answers, new_submission_key, submit

    app, base = live_server
    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == PROJECT)
    content = q.current_version.content
    identity = next(x for x in content["questions"] if x["key"] == "identity")["options"]
    aspects = [x["key"] for x in content["questions"] if x["key"].startswith("aspect_")]
    options = {x["key"]: x.get("options") for x in content["questions"]}
    villages = sorted(q.indicator.project.unit.villages, key=lambda v: v.name)
    plan = ["非常满意", "满意", "满意", "一般", "不满意", "满意", "不了解", "非常满意"] * 3
    comments = {0: "村里的路灯修好了，晚上走路方便多了。", 4: "补贴发放太慢，希望按月发。", 9: "办事窗口中午没人，希望安排值班。"}
    ids = []
    for n, sat in enumerate(plan):
        comment = comments.get(n, "")
        values = {"satisfaction": sat, "identity": identity[n % len(identity)], "comment": comment,
                  **{k: options[k][(n + i) % 3] for i, k in enumerate(aspects)}}
        response, _ = submit(session, link=None, version=q.current_version,
                             answers=Answers(values, sat, comment, villages[n % 4].id), form_no=f"P{n:03d}",
                             submission_key=new_submission_key(), channel=Channel.PAPER, entered_by="staff")
        ids.append(response.id)
    session.commit()
    qid = q.id
    session.close()
    return base, qid, ids


def _no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"page is {overflow}px wide at {width}px"


@pytest.mark.browser
@pytest.mark.parametrize("size", list(WIDTHS))
def test_answers_pages(browser, answered, size, tmp_path):
    base, qid, ids = answered
    width = WIDTHS[size]["width"]
    context = browser.new_context(viewport=WIDTHS[size], locale="zh-CN")
    page = context.new_page()
    login(page, base, "staff")
    shots = Path(SHOTS) if SHOTS else tmp_path

    page.goto(f"{base}/questionnaires/{qid}/answers")
    text = page.locator("main").inner_text()
    assert "计入的答卷 24 份" in text
    # 3 × (非常满意 2 + 满意 3) = 15 of 3 × 7 = 21 valid
    assert "71.4%" in text and "n=21" in text
    assert page.locator("svg.bars").count() >= 3 and page.locator("a.help").count() >= 3
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"answers-{size}.png"), full_page=size == "phone")

    page.select_option("#f-village", index=1)
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "计入的答卷 6 份" in page.locator("main").inner_text()

    page.goto(f"{base}/questionnaires/{qid}/comments")
    text = page.locator("main").inner_text()
    assert text.index("办事窗口") < text.index("路灯修好了")  # newest first
    assert "尚未跟进" in text and "纸质问卷" in text
    page.fill("#f-q", "补贴")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("li.comment").count() == 1
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"comments-{size}.png"), full_page=size == "phone")

    page.goto(f"{base}/questionnaires/{qid}/responses?per_page=10")
    assert page.locator("table.responses tbody tr").count() == 10
    assert "共 24 条" in page.locator("main").inner_text()
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"responses-{size}.png"), full_page=size == "phone")

    page.locator("table.responses tbody a").first.click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "回答（按答题人看到的题目）" in text and "记录链位置" in text and "更正录入错误" in text
    assert page.locator("ul.options li.chosen").count() >= 2
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"response-{size}.png"), full_page=size == "phone")
    context.close()


@pytest.mark.browser
def test_share_page_copy_button(browser, answered, tmp_path):
    base, qid, _ = answered
    context = browser.new_context(viewport=WIDTHS["desktop"], locale="zh-CN")
    page = context.new_page()
    login(page, base, "staff")
    page.goto(f"{base}/questionnaires/{qid}/share")
    assert page.locator("button.copy-button").first.is_visible()  # shown once the script runs
    field = page.locator(".copy input").first
    assert "/R/" in field.input_value()
    images = page.locator("section.share img")
    assert images.count() >= 1  # 镇干部 are one list: one township-wide poster (village projects have one per village)
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str((Path(SHOTS) if SHOTS else tmp_path) / "share.png"), full_page=False)
    context.close()
