"""Importing in a real browser: map an unknown column and correct one cell in the preview, then confirm."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from survey_app.db import get_db
from survey_app.models import Indicator
from tests.browser.conftest import login
from tests.fixtures.tables.needs_mapping import needs_mapping_xlsx

SHOTS = os.environ.get("SURVEY_SCREENSHOTS")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 360])
def test_column_mapping_and_cell_correction(browser, live_server, tmp_path, width):
    app, base = live_server
    path = tmp_path / "村级公益事业.xlsx"
    path.write_bytes(needs_mapping_xlsx())
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, base, "staff")
    page.goto(f"{base}/import")
    assert page.locator("a", has_text="下载空白模板").count() == 1
    page.set_input_files("input[type=file]", str(path))
    with page.expect_navigation():
        page.click("input[type=submit][value=预览]")
    main = page.locator("main")
    assert "有些列没有认出来" in main.inner_text() and "无法识别，按原文保存" in main.inner_text()
    page.select_option("select[aria-label='“计值符号”这一列是']", "unit")
    page.fill("#fix_place", "工作表“目标”D5 单元格")
    page.fill("#fix_text", "30个")
    with page.expect_navigation():
        page.click("text=按调整重新预览")
    text = main.inner_text()
    assert "数值 ≥95%" in text and "数值 ＝30个" in text and "无法识别，按原文保存" not in text
    assert "计值符号（已指定）" in text and "工作表“目标”D5 单元格 → “30个”" in text
    shot = Path(SHOTS) / f"import-preview-{width}.png" if SHOTS else tmp_path / f"import-preview-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, "the preview must not scroll sideways on a phone"
    if width == 1280:
        with page.expect_navigation():
            page.click("input[type=submit][value=确认导入]")
        assert "新增项目 1 个" in page.locator("body").inner_text()
        session = get_db(app).session()
        sat = session.scalar(select(Indicator).where(Indicator.name == "群众满意度", Indicator.target_unit == "%")
                             .order_by(Indicator.id.desc()))
        assert sat.project.name == "村级公益事业" and sat.target_value == 95.0
        session.close()
    context.close()
