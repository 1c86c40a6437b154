"""Answering on a phone: scan (open the link), answer, submit, receipt; Back and submit again."""

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey_app.db import get_db
from survey_app.models import LinkKind, Questionnaire, Response
from tests.browser.conftest import login

PHONE = {"viewport": {"width": 360, "height": 640}, "has_touch": True, "is_mobile": True,
         "device_scale_factor": 2, "locale": "zh-CN",
         "user_agent": "Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 Mobile MicroMessenger/8.0.47"}
SHOTS = os.environ.get("SURVEY_SCREENSHOTS")


def _links(app, kind, project="村办公经费"):
    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == project)
    links = [link for link in q.links if link.kind == kind and (kind == LinkKind.CARD or link.village_id)]
    tokens = [link.token for link in links]
    session.close()
    return tokens


def _count(app):
    session = get_db(app).session()
    try:
        return session.scalar(select(func.count(Response.id)))
    finally:
        session.close()


def _answer_and_submit(page):
    page.get_by_label("满意", exact=True).first.check()
    page.get_by_label("是", exact=True).first.check()
    page.get_by_label("其他", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False])
def test_poster_link_on_a_phone(browser, live_server, javascript):
    app, base = live_server
    context = browser.new_context(java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    token = _links(app, LinkKind.POSTER)[javascript]
    before = _count(app)
    page.goto(f"{base}/R/{token}")
    assert page.locator("h1").inner_text() == "村办公经费满意度调查"
    # one column that fits 320-360 px: nothing wider than the viewport
    width = page.evaluate("document.documentElement.scrollWidth") if javascript else 360
    assert width <= 360
    box = page.get_by_label("非常满意", exact=True).locator("xpath=..").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # large touch target
    if SHOTS and javascript:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/phone-form.png", full_page=False)
    _answer_and_submit(page)
    receipt = page.locator(".receipt").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", receipt)
    assert _count(app) == before + 1
    if SHOTS and javascript:
        page.screenshot(path=f"{SHOTS}/phone-receipt.png")
    page.go_back()
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()
    assert page.locator(".receipt").inner_text() == receipt
    assert "已经提交过" in page.content()
    assert _count(app) == before + 1
    assert all(url.startswith(base) for url in requests), requests
    context.close()


@pytest.mark.browser
def test_card_used_once_on_a_phone(browser, live_server):
    app, base = live_server
    context = browser.new_context(**PHONE)
    page = context.new_page()
    token = _links(app, LinkKind.CARD)[0]
    page.goto(f"{base}/R/{token}")
    _answer_and_submit(page)
    assert page.locator(".receipt").is_visible()
    other = browser.new_context(**PHONE).new_page()
    other.goto(f"{base}/R/{token}")
    assert "此二维码已使用" in other.locator("h1").inner_text()
    context.close()


@pytest.mark.browser
def test_printed_card_sheet_renders(browser, live_server, tmp_path):
    """Log in as staff, open the A4 card sheet in print mode and turn it into a PNG."""
    app, base = live_server
    context = browser.new_context(viewport={"width": 900, "height": 1200}, locale="zh-CN")
    page = context.new_page()
    login(page, base, "staff")
    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == "村办公经费")
    village_id = next(link.village_id for link in q.links if link.kind == LinkKind.CARD)
    unused = sum(1 for link in q.links if link.kind == LinkKind.CARD and link.village_id == village_id
                 and not link.used_at)
    session.close()
    page.goto(f"{base}/questionnaires/{q.id}/print/cards?village={village_id}")
    page.emulate_media(media="print")
    assert page.locator(".sheet .card svg").count() == unused
    target = Path(SHOTS) / "card-sheet.png" if SHOTS else tmp_path / "card-sheet.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 20_000  # a real rendering with QR codes, not a blank page
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
    context.close()


@pytest.mark.browser
def test_readable_at_320_px(browser, live_server):
    app, base = live_server
    context = browser.new_context(**{**PHONE, "viewport": {"width": 320, "height": 568}})
    page = context.new_page()
    page.goto(f"{base}/R/{_links(app, LinkKind.POSTER)[5]}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320  # one column, no sideways scrolling
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 18  # large type for elderly respondents
    context.close()
