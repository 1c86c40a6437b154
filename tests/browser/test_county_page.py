"""The county overview in a real browser: three townships in every status, at desktop and 360 px; axe-core's
WCAG 2.1 A/AA rules, plain Chinese, nothing wider than the phone, sorting by clicking a header."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.db import get_db
from survey_app.migrate import upgrade
from tests.browser.conftest import DESKTOP, JARGON, PHONE, WCAG
from tests.browser.test_staff_loop import SHOTS

PASSWORD = "correct horse battery"


@pytest.fixture
def county_server(tmp_path):
    from survey_app.models import Indicator, Project, Questionnaire, Unit
    from survey_app.services.accounts import create_user
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file
    from survey_app.services.writeback import writeback
    from tests.conftest import SEED, load_demo
    from tests.factories import add_responses

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'county.sqlite3'}", "SECRET_KEY": "county",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": True})
    upgrade(app)
    session = get_db(app).session()
    load_demo(session)
    seed = SEED.read_text(encoding="utf-8")
    for code, name in (("929002", "李三庄镇"), ("929003", "王五庄镇")):
        import_file(session, seed.replace("929001", code).replace("张二庄镇", name).encode("utf-8"), f"{name}.txt",
                    actor="t", year=2024)
    b = session.scalar(select(Unit).where(Unit.code == "929002"))
    ensure_demo_villages(session, b)
    publish_demo_questionnaires(session, b)
    create_user(session, "admin", PASSWORD, "admin", actor="t")
    session.commit()
    questionnaires = list(session.scalars(select(Questionnaire).join(Indicator).join(Project)
                                          .order_by(Project.unit_id, Questionnaire.id)))
    villages = list(questionnaires[0].indicator.project.unit.villages)
    add_responses(session, questionnaires[0], [(villages[i], 20, 1, 0) for i in range(6)])
    writeback(session, questionnaires[0].indicator, actor="t")
    add_responses(session, questionnaires[1], [(villages[0], 2, 30, 1)])
    add_responses(session, questionnaires[4], [(None, 9, 3, 0)])
    session.commit()
    session.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    get_db(app).engine.dispose()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_county_overview_in_the_browser(browser, county_server, axe_source, width):
    context = browser.new_context(**(DESKTOP if width == "desktop" else PHONE), bypass_csp=True)  # axe is injected inline
    page = context.new_page()
    page.goto(f"{county_server}/auth/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{county_server}/county")
    text = page.locator("body").inner_text()
    for word in ("已写回", "答卷已够", "收集中", "没有问卷", "王五庄镇"):
        assert word in text
    assert not JARGON.search(text), JARGON.search(text)
    page.add_script_tag(content=axe_source)
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => v.id + ' → ' + v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' | '))",
        WCAG)
    assert violations == []
    assert page.evaluate("document.documentElement.scrollWidth") <= (362 if width == "phone" else 1282)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"county-{width}.png"), full_page=width == "desktop")
    # sorting is a plain link: the lowest rate first, then the other way round
    page.click("a.sort:has-text('满意率')")
    first = page.locator("table.county tbody tr").first.inner_text()
    page.click("a.sort:has-text('满意率')")
    assert page.locator("table.county tbody tr").first.inner_text() != first
    context.close()
