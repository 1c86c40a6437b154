"""Every page of the URL map, in a real browser, as admin and as auditor, at desktop and 360 px.

The walk is generated from ``app.url_map`` (like tests/test_access.py) so a page added later is
checked without anyone remembering to add it. The database holds the demo with answers, a
correction, an exclusion, a random draw, a scheduled and a closed questionnaire, so pages show
content rather than their empty state. Each page must: answer below 500, pass axe-core's WCAG 2.1
A/AA rules, show no ``None`` or English jargon, and fit 360 px at phone width. Respondent pages
(form, receipt, refusals) are checked the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from survey_app import create_app
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, PageChecker, live_app, login

#: GET routes not opened as pages, each with its reason
SKIPPED = {
    "static": "static files, not a page",
    "staff.import_status": "a background-read preview (large uploads only); its waiting and ready states are the import pages checked here (tests/test_import_background.py)",
    "auth.logout": "ends the session (checked in test_access.py)",
    "respond.open_link": "respondent form: opened below with a card in each state",
    "respond.submit_link": "respondent submission: reached below by submitting the form",
    "help.village_list_template": "file download (.xlsx)",
    "staff.import_template": "file download (.xlsx)",
    "audit.download_bundle": "file download (.zip)",
    "audit.export": "file download (.csv/.xlsx)",
    "staff.self_evaluation_xlsx": "file download (.xlsx)",
    "staff.self_evaluation_docx": "file download (.docx)",
    "staff.unit_self_evaluation_xlsx": "file download (.xlsx)",
    "staff.export_answers": "file download (.csv/.xlsx/SPSS)",
    "staff.bundle": "file download (.zip of print pages)",
    "staff.link_qr": "file download (QR image)",
}


def _seed(session):
    """Demo data with every kind of content a page can show; returns the ids the URLs need."""
    from survey_app.models import Link, LinkKind, Questionnaire, QuestionnaireStatus, Response
    from survey_app.services import sampling
    from survey_app.services.accounts import create_user
    from survey_app.services.collection import Answers
    from survey_app.services.corrections import correct
    from survey_app.services.distribution import void_link
    from survey_app.services.exclusions import exclude
    from tests.conftest import load_demo
    from tests.factories import add_responses

    unit, _ = load_demo(session)
    for role in ("admin", "staff", "auditor"):
        create_user(session, role, PASSWORD, role, actor="t", all_units=True)
    questionnaires = {q.indicator.project.name: q for q in session.scalars(select(Questionnaire))}
    cadres = questionnaires["村干部工资"]
    villages = list(unit.villages)
    add_responses(session, cadres, [(villages[i], s, o, d) for i, (s, o, d) in enumerate(
        [(12, 1, 1), (10, 0, 0), (9, 1, 0), (8, 0, 1)])])
    rows = session.scalars(select(Response).where(Response.questionnaire_id == cadres.id)).all()
    corrected = correct(session, rows[1], Answers({**rows[1].answers, "satisfaction": "一般"}, "一般", "补记意见",
                                                  rows[1].village_id), "对照原始记录，录入错误", actor="staff")
    exclusion = exclude(session, rows[2], "同一人重复填写", actor="staff")
    drawn = villages[5:7]
    for village, frame in zip(drawn, (40, 30), strict=True):
        sampling.set_frame(session, cadres, village, frame, actor="t", description="花名册")
    sampling.declare_draw(session, cadres, "体彩排列三 2026-11-30", {drawn[0].id: 5, drawn[1].id: 4}, actor="t")
    sampling.perform_draw(session, cadres, "507", actor="t")
    session.flush()
    cards = [link for link in cadres.links if link.kind == LinkKind.CARD and not link.voided_at]
    void_link(session, cards[-1], actor="t")
    others = [q for name, q in questionnaires.items() if name != "村干部工资"]
    others[0].opens_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    others[1].status = QuestionnaireStatus.CLOSED
    session.commit()

    def card_of(q):
        return next(link for link in q.links if link.kind == LinkKind.CARD and not link.voided_at
                    and not link.used_at)

    ids = {
        "project_id": cadres.indicator.project_id,
        "indicator_id": cadres.indicator_id,
        "unit_id": unit.id,
        "village_id": drawn[0].id,
        "user_id": session.scalar(select(_user_model()).where(_user_model().username == "staff")).id,
        "questionnaire_id": cadres.id,
        "link_id": cards[0].id,
        "exclusion_id": exclusion.id,
        "response_id": corrected.id,
    }
    tokens = {"fresh": card_of(cadres).token, "void": cards[-1].token,
              "not_yet": card_of(others[0]).token, "closed": card_of(others[1]).token}
    assert session.get(Link, cards[-1].id).voided_at is not None
    return ids, tokens


def _user_model():
    from survey_app.models import User

    return User


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("every"), "every", _seed) as (app, base, (ids, tokens)):
        yield app, base, ids, tokens


def _pages(app, ids: dict[str, int], role: str) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        allowed = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        if allowed is not None and role not in [r.value for r in allowed]:
            continue
        missing = set(rule.arguments) - set(ids)
        assert not missing, f"add a sample value for {missing} used by {rule.rule} (or skip it with a reason)"
        urls.append(rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1])
    return sorted(set(urls))


@pytest.mark.browser
@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_every_page_is_chinese_accessible_and_fits(browser, world, axe_source, role, width):
    app, base, ids, _ = world
    context = browser.new_context(bypass_csp=True, **(DESKTOP if width == "desktop" else PHONE))
    checker = PageChecker(context.new_page(), axe_source, width)
    checker.goto(f"{base}/auth/login", "auth/login")
    login(checker.page, base, role)
    pages = _pages(app, ids, role)
    for path in pages:
        checker.goto(base + path, path)
    if role == "admin":
        # the import preview with its column mapping and correction form (reached by uploading)
        from tests.conftest import SEED

        checker.page.goto(f"{base}/import")
        checker.page.set_input_files("input[type=file]", str(SEED))
        with checker.page.expect_navigation():
            checker.page.locator("form:has(input[type=file]) [type=submit]").first.click()
        checker.check("import preview")
    context.close()
    assert len(pages) >= (35 if role == "admin" else 8), pages
    assert not checker.problems, "\n".join(checker.problems)


@pytest.mark.browser
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_respondent_pages_are_accessible_and_fit(browser, world, axe_source, width):
    _, base, _, tokens = world
    context = browser.new_context(bypass_csp=True, **(DESKTOP if width == "desktop" else PHONE))
    checker = PageChecker(context.new_page(), axe_source, width)
    page = checker.page
    checker.goto(f"{base}/R/{tokens['fresh']}", "答卷页")
    if width == "desktop":  # the card is used once; the phone run sees it as used
        page.evaluate("""() => { const seen = new Set();
            for (const r of document.querySelectorAll('input[type=radio]')) {
                if (!seen.has(r.name)) { seen.add(r.name); r.checked = true; } } }""")
        with page.expect_navigation():
            page.get_by_role("button", name="提交").click()
        checker.check("回执页")
        assert "回执" in page.locator("body").inner_text()
    for path, name in ((f"/R/{tokens['fresh']}", "已使用的卡片"), (f"/R/{tokens['void']}", "已作废的卡片"),
                       (f"/R/{tokens['closed']}", "已结束收集"), (f"/R/{tokens['not_yet']}", "尚未开始"),
                       ("/R/nosuchtoken", "不存在的链接"), ("/receipt", "回执核对"),
                       ("/receipt?code=abcd-efgh", "回执核对（没有找到）")):
        checker.goto(base + path, name)
    context.close()
    assert not checker.problems, "\n".join(checker.problems)


def test_every_skip_names_a_real_route():
    """A skip for a route that no longer exists would hide nothing but rot: keep the list honest."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(SKIPPED) <= endpoints, set(SKIPPED) - endpoints


@pytest.mark.browser
def test_the_checker_catches_what_it_must(browser, axe_source):
    """The checks can fail: an unlabeled input, ``None``, jargon and a 600 px table are all reported, and a
    walk that stops at the first problem fails there."""
    context = browser.new_context(bypass_csp=True, **PHONE)
    bad = ('<html lang="zh"><head><meta name="viewport" content="width=device-width"><title>测试</title></head><body>'
           '<main><h1>测试</h1><p>实际完成情况：None，结论 inconclusive</p><input type="text">'
           '<div style="width:600px">宽</div></main></body></html>')
    checker = PageChecker(context.new_page(), axe_source, "phone")
    checker.page.set_content(bad)
    checker.check("self-test")
    walk = PageChecker(context.new_page(), axe_source, "phone", stop_at_first=True)
    walk.page.set_content(bad)
    with pytest.raises(pytest.fail.Exception, match="px wide at 360 px"):
        walk.check("self-test, stopping")
    context.close()
    found = "\n".join(checker.problems)
    assert "None" in found and "label" in found and "px wide at 360 px" in found, found
