"""A county in a real browser: the admin's accounts and units pages, and a township staff member's
projects page, at desktop and 360 px. Every page passes axe-core, fits the phone, and shows the staff
member nothing of the other township."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, PageChecker, live_app, login

SHOTS = os.environ.get("SURVEY_SCREENSHOTS")


def _county(session) -> None:  # type: ignore[no-untyped-def]
    """Two townships with published questionnaires; a county admin, a staff member of each, a county auditor."""
    from sqlalchemy import select

    from survey_app.models import Unit
    from survey_app.services.accounts import create_user
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file
    from tests.conftest import OTHER_UNIT_MARK, load_demo, other_unit_table

    a, _ = load_demo(session)
    import_file(session, other_unit_table(), "李三庄镇.txt", actor="t", year=2024)
    b = session.scalar(select(Unit).where(Unit.code == "929002"))
    ensure_demo_villages(session, b)
    for village in b.villages:
        village.name = village.name.replace("演示", OTHER_UNIT_MARK)
    publish_demo_questionnaires(session, b)
    create_user(session, "county_admin", PASSWORD, "admin", actor="t")
    create_user(session, "zhang_staff", PASSWORD, "staff", actor="t", units=[a])
    create_user(session, "li_staff", PASSWORD, "staff", actor="t", units=[b])
    create_user(session, "county_auditor", PASSWORD, "auditor", actor="t", all_units=True)


@pytest.fixture(scope="module")
def county_server(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("county"), "county", _county) as (_, base, _):
        yield base


def _open(checker: PageChecker, url: str, name: str) -> str:
    if url:
        checker.goto(url, name)
    else:
        checker.check(name)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        checker.page.screenshot(path=str(Path(SHOTS) / f"{name}-{checker.width}.png"), full_page=True)
    assert not checker.problems, checker.problems
    return checker.page.locator("main").inner_text()


@pytest.mark.browser
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_accounts_and_units_of_a_county(browser, county_server, axe_source, width):
    from tests.conftest import OTHER_UNIT_MARK

    context = browser.new_context(bypass_csp=True, **(DESKTOP if width == "desktop" else PHONE))
    checker = PageChecker(context.new_page(), axe_source, width)
    login(checker.page, county_server, "county_admin")
    text = _open(checker, f"{county_server}/users", "users")
    assert "可见单位" in text and "魏县张二庄镇人民政府本级" in text and "全部单位" in text
    checker.page.click("summary:has-text('修改“zhang_staff”')")
    checker.page.locator("summary:has-text('修改“zhang_staff”')").scroll_into_view_if_needed()
    _open(checker, "", "users-edit")
    text = _open(checker, f"{county_server}/units", "units")
    assert "929001" in text and "929002" in text and "zhang_staff" in text
    context.close()

    context = browser.new_context(bypass_csp=True, **(DESKTOP if width == "desktop" else PHONE))
    checker = PageChecker(context.new_page(), axe_source, width)
    login(checker.page, county_server, "zhang_staff")
    text = _open(checker, f"{county_server}/projects", "staff-projects")
    assert "村干部工资" in text and OTHER_UNIT_MARK not in text
    context.close()
