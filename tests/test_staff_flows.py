"""Issue 16: staff and auditor flows that must be right unaided (publish, paper cards, ZIP, QR address...)."""

import io
import re
import zipfile

from sqlalchemy import func, select

from survey_app.models import AuditEvent, Link, LinkKind, Questionnaire, Response
from tests.test_collection import answer, card_of, count, open_form

# -- publishing what is on the screen ----------------------------------------------------


def _edit_data(q, **changes):
    draft = q.draft
    main = next(x for x in draft["questions"] if x["key"] == "satisfaction")
    data = {"title": draft["title"], "intro": draft["intro"], "satisfaction_text": main["text"],
            "aspects": "\n".join(x["text"] for x in draft["questions"] if x["key"].startswith("aspect_")),
            "rate_method": "top2"}
    data.update(changes)
    return data


def test_publish_publishes_the_edits_on_screen(client, auth, published, session):
    auth.login("staff")
    q = published["村干部工资"]
    data = _edit_data(q, title="新的标题", aspects="工资是否按月发放？")
    # the 发布 button submits the edit form itself (formaction): nothing on the screen is lost
    response = client.post(f"/questionnaires/{q.id}/publish", data=data)
    assert response.status_code == 302
    session.expire_all()
    q = session.get(Questionnaire, q.id)
    assert q.current_version.number == 2
    assert q.current_version.content["title"] == "新的标题"
    assert [x["text"] for x in q.current_version.content["questions"] if x["key"].startswith("aspect_")] == [
        "工资是否按月发放？"]


def test_publish_with_invalid_edits_refuses_and_keeps_them(client, auth, published, session):
    auth.login("staff")
    q = published["村干部工资"]
    response = client.post(f"/questionnaires/{q.id}/publish", data=_edit_data(q, title="", aspects="保留的分项"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "没有发布" in html and "保留的分项" in html
    session.expire_all()
    assert session.get(Questionnaire, q.id).current_version.number == 1


def test_edit_page_publish_button_is_in_the_form_and_asks_first(client, auth, published):
    auth.login("staff")
    q = published["村干部工资"]
    html = client.get(f"/questionnaires/{q.id}/edit").get_data(as_text=True)
    form = re.search(r"<form[^>]*>.*?</form>", html.split('class="card"', 1)[1], re.S).group(0)
    assert 'formaction="/questionnaires/%d/publish"' % q.id in form
    assert "data-confirm=" in form and "confirm.js" in html


# -- paper entry with a card number consumes the card ---------------------------------------


def _paper_card(client, q, card, **extra):
    data = {"channel": "paper", "card_no": str(card.card_no), "satisfaction": "满意", "identity": "其他",
            "village": str(card.village_id), **extra}
    return client.post(f"/questionnaires/{q.id}/paper", data=data, follow_redirects=True)


def test_paper_card_number_consumes_the_card_once(client, auth, published, session):
    auth.login("staff")
    q = published["村干部工资"]
    card = card_of(q, 6)
    first = _paper_card(client, q, card).get_data(as_text=True)
    receipt = re.search(r"回执码 ([0-9A-Z]{4}-[0-9A-Z]{4})", first).group(1)
    session.expire_all()
    stored = session.scalar(select(Response).where(Response.receipt == receipt))
    assert stored.card_id == card.id and session.get(Link, card.id).used_at is not None
    # keyed again: refused, naming the first entry
    again = _paper_card(client, q, card).get_data(as_text=True)
    assert "已录入" in again and receipt in again
    assert count(session) == 1
    # the card link now refuses an online answer
    assert "此二维码已使用" in client.get(f"/R/{card.token}").get_data(as_text=True)


def test_paper_card_double_entry_consumes_card_on_match(client, app, published, session, users):
    from tests.conftest import Auth

    q = published["村干部工资"]
    q.double_entry = True
    session.commit()
    card = card_of(q, 7)
    first, second = app.test_client(), app.test_client()
    Auth(first).login("staff")
    Auth(second).login("admin")
    _paper_card(first, q, card, form_no="C-7")
    session.expire_all()
    assert session.get(Link, card.id).used_at is None
    _paper_card(second, q, card, form_no="C-7")
    session.expire_all()
    assert session.scalar(select(Response).where(Response.form_no == "C-7")).card_id == card.id
    assert session.get(Link, card.id).used_at is not None


def test_online_answer_then_paper_with_that_card_is_refused(client, auth, published, session):
    q = published["村干部工资"]
    card = card_of(q, 8)
    _, token = open_form(client, card)
    answer(client, card, token)
    auth.login("staff")
    html = _paper_card(client, q, card).get_data(as_text=True)
    assert "已录入" in html or "已使用" in html
    assert count(session) == 1


# -- the ZIP is self-contained and its names stay inside -----------------------------------


def test_bundle_is_self_contained(client, auth, published):
    auth.login("staff")
    q = published["村干部工资"]
    data = client.get(f"/questionnaires/{q.id}/bundle.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        htmls = [n for n in archive.namelist() if n.endswith(".html")]
        assert htmls
        for name in htmls:
            page = archive.read(name).decode("utf-8")
            assert "/static/" not in page and "<style>" in page and ".sheet" in page, name


def test_bundle_entry_names_are_sanitised(client, auth, published, session):
    from survey_app.services.distribution import safe_entry_name

    assert safe_entry_name("卡片-001-/../../../../tmp/x.html") == "卡片-001-_.._.._.._.._tmp_x.html"
    assert safe_entry_name("../a\\b:c.html") == "_.._a_b_c.html"
    assert not safe_entry_name("..").startswith("..") or "/" not in safe_entry_name("..")
    auth.login("staff")
    q = published["村干部工资"]
    village = card_of(q, 1).village
    village.name = "/../../../../tmp/x"
    session.commit()
    data = client.get(f"/questionnaires/{q.id}/bundle.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            assert "/" not in name and "\\" not in name and not name.startswith("."), name


def test_village_names_must_be_printable(client, auth, published):
    auth.login("staff")
    unit_id = published["村干部工资"].indicator.project.unit_id
    for name in ("坏\x01村\u202e", "/../../../../tmp/x"):
        response = client.post(f"/units/{unit_id}/villages/new", data={"name": name, "code": "", "population": "",
                                                                       "cadres": ""})
        html = response.get_data(as_text=True)  # control characters are refused by the form layer already
        assert ("不能使用的字符" in html or "控制字符" in html) and response.status_code == 200


# -- the address the QR codes carry ------------------------------------------------------


def test_print_pages_warn_about_a_loopback_address(app, client, users, published):
    from tests.conftest import PASSWORD

    def get(path, host):
        client.post("/auth/login", data={"username": "staff", "password": PASSWORD}, base_url=host)
        return client.get(path, base_url=host).get_data(as_text=True)

    app.config["PUBLIC_URL"] = None
    q = published["村干部工资"]
    for path in (f"/questionnaires/{q.id}/distribution", f"/questionnaires/{q.id}/print/posters",
                 f"/questionnaires/{q.id}/print/cards"):
        html = get(path, "http://127.0.0.1:5000")
        assert "http://127.0.0.1:5000" in html and "手机无法打开" in html and "SURVEY_PUBLIC_URL" in html, path
    assert "局域网" in get(f"/questionnaires/{q.id}/print/posters", "http://192.168.1.5")
    app.config["PUBLIC_URL"] = "https://survey.example.gov.cn"
    html = get(f"/questionnaires/{q.id}/print/posters", "http://127.0.0.1:5000")
    assert "手机无法打开" not in html and "HTTPS://SURVEY.EXAMPLE.GOV.CN/R/" in html.upper()


def test_address_warning_helper():
    from survey_app.services.distribution import address_warning

    assert address_warning("http://127.0.0.1:5000")
    assert address_warning("http://localhost:5000")
    assert address_warning("http://10.0.0.3")
    assert address_warning("http://192.168.1.5:8000")
    assert address_warning("https://survey.example.gov.cn") is None


def test_demo_prints_configured_links_and_warns(app, cli):
    app.config["PUBLIC_URL"] = "https://survey.example.gov.cn"
    out = cli("demo").output
    assert "https://survey.example.gov.cn/R/" in out and "手机无法打开" not in out
    app.config["PUBLIC_URL"] = None
    out = cli("demo").output
    assert "手机无法打开" in out and "SURVEY_PUBLIC_URL" in out


# -- GETs do not change state ---------------------------------------------------------------


def test_opening_distribution_creates_nothing(client, auth, published, session):
    auth.login("staff")
    q = published["村干部工资"]
    session.execute(Link.__table__.update().where(Link.kind == LinkKind.POSTER).values(voided_at=func.now()))
    session.commit()
    before = count(session, Link)
    events = count(session, AuditEvent)
    client.get(f"/questionnaires/{q.id}/distribution")
    assert count(session, Link) == before and count(session, AuditEvent) == events


def test_publishing_creates_the_poster_links(client, auth, seeded, session):
    from survey_app.models import Indicator, Unit
    from survey_app.services.demo import ensure_demo_villages

    unit = seeded.scalar(select(Unit))
    ensure_demo_villages(seeded, unit)
    seeded.commit()
    auth.login("staff")
    indicator = seeded.scalar(select(Indicator).where(Indicator.name == "群众满意度").order_by(Indicator.id))
    client.post(f"/indicators/{indicator.id}/questionnaire")
    q = seeded.scalar(select(Questionnaire).where(Questionnaire.indicator_id == indicator.id))
    client.post(f"/questionnaires/{q.id}/publish", data={})
    posters = session.scalars(select(Link).where(Link.questionnaire_id == q.id, Link.kind == LinkKind.POSTER)).all()
    assert len(posters) == len(unit.villages) + 1


# -- 自评表 ---------------------------------------------------------------------------------


def test_self_evaluation_never_shows_none(published, session, client, auth):
    import docx
    import openpyxl

    project = published["村办公经费"].indicator.project
    auth.login("staff")
    page = client.get(f"/projects/{project.id}/self-evaluation").get_data(as_text=True)
    assert "None" not in page
    # saving the page as shown keeps the narrative empty
    outcome = re.search(r'<textarea id="outcome" name="outcome"[^>]*>([^<]*)</textarea>', page).group(1)
    client.post(f"/projects/{project.id}/self-evaluation", data={"outcome": outcome, "initial": "73.18",
                                                                 "full_year": "73.18", "executed": "70",
                                                                 "supervisor": "魏县财政局"})
    for path in ("self-evaluation", "self-evaluation.xlsx", "self-evaluation.docx"):
        response = client.get(f"/projects/{project.id}/{path}")
        if path.endswith(".xlsx"):
            ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
            values = [c.value for row in ws.iter_rows() for c in row]
            assert "None" not in [str(v) for v in values if v is not None]
            assert ws["B3"].value == "魏县财政局" and ws["F3"].value == project.unit.name
            assert isinstance(ws["D5"].value, (int, float)) and ws["D5"].value == 70
        elif path.endswith(".docx"):
            document = docx.Document(io.BytesIO(response.data))
            text = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
            assert "None" not in text and "魏县财政局" in text
        else:
            assert "None" not in response.get_data(as_text=True)


def test_old_literal_none_outcome_is_not_shown(published, session):
    from survey_app.services.selfeval import build_table, save_entries

    project = published["村办公经费"].indicator.project
    save_entries(session, project, actor="t", initial=None, full_year=None, executed=None, outcome="None",
                 weights={"产出指标": 50, "效益指标": 30, "满意度指标": 10, "预算执行率": 10}, actuals={})
    assert build_table(session, project).outcome == ""


# -- natural questions ----------------------------------------------------------------------

LEADING = re.compile(r"[≥≤<>]|\d+(\.\d+)?\s*(%|人|个|天|年|万元)|是否(达到|做到)了“|目标")
LEADING_INTRO = re.compile(r"[≥≤<>]|\d+(\.\d+)?\s*%|目标")  # the budget is a fact; a target leads the answer


def _assert_natural(content):
    assert not LEADING_INTRO.search(content["intro"]), content["intro"]
    for question in content["questions"]:
        if question["key"].startswith("aspect_"):
            assert not LEADING.search(question["text"]), question["text"]
            assert question["text"].endswith("？") and len(question["options"]) >= 3


def test_seed_questions_read_naturally(published):
    for q in published.values():
        content = q.current_version.content
        _assert_natural(content)
        kinds = [x["aspect_kind"] for x in content["questions"] if x["key"].startswith("aspect_")]
        assert len(kinds) == len(set(kinds)) >= 2
    office = published["村办公经费"].current_version.content
    texts = [x["text"] for x in office["questions"]]
    assert "据您了解，“村办公经费”项目的钱或工作是否按时发放、按时完成？" in texts
    assert "据您了解，应当覆盖的村是否都享受到了“村办公经费”项目？" in texts
    assert any("“村办公经费正常发放”方面有没有效果" in t for t in texts)


def test_own_table_questions_read_naturally():
    from decimal import Decimal

    from survey_app.models import Indicator, Project
    from survey_app.services.questionnaires import generate_content

    def ind(level1, level2, name, target, kind, **kw):
        return Indicator(level1=level1, level2=level2, name=name, target_raw=target, target_kind=kind, **kw)

    project = Project(name="农村道路维修", budget_wan=Decimal("120"), fund_use="维修村内道路12公里", indicators=[
        ind("产出指标", "数量指标", "维修道路里程", "≥12公里", "quantity"),
        ind("产出指标", "时效指标", "维修响应时间", "≤3天", "time"),
        ind("产出指标", "质量指标", "验收合格率", "100%", "quantity"),
        ind("效益指标", "社会效益指标", "农村人居环境", "明显改善", "qualitative"),
        ind("满意度指标", "服务对象满意度指标", "群众满意度", "≥90%", "quantity", is_satisfaction=True,
            respondent_group="villagers"),
    ])
    content = generate_content(project.indicators[-1])
    _assert_natural(content)
    texts = [x["text"] for x in content["questions"]]
    assert "您觉得“农村道路维修”项目在“农村人居环境”方面有没有效果？" in texts
    assert not any("维修响应时间" in t or "≤3天" in t for t in texts)


def test_township_cadres_are_one_list_not_villages(client, auth, published, session):
    q = published["自收自支人员补助"]
    content = q.current_version.content
    assert "village" not in [x["kind"] for x in content["questions"]]
    assert all(link.village_id is None for link in q.links if link.kind == LinkKind.POSTER)
    auth.login("staff")
    html = client.get(f"/questionnaires/{q.id}/distribution").get_data(as_text=True)
    assert "一份名单" in html and "演示村02" not in html
    client.post(f"/questionnaires/{q.id}/distribution", data={"village": "all", "expected": "98",
                                                               "response_rate": "70"})
    session.expire_all()
    cards = session.scalars(select(Link).where(Link.questionnaire_id == q.id, Link.kind == LinkKind.CARD,
                                               Link.voided_at.is_(None))).all()
    assert all(c.village_id is None for c in cards) and len(cards) == 31  # a census of 31, one card each
    sheet = client.get(f"/questionnaires/{q.id}/print/cards").get_data(as_text=True)
    assert sheet.count('class="card"') == 31 and "全体调查对象" in sheet


def test_cards_top_up_to_the_suggestion(client, auth, published, session):
    from survey_app.services.distribution import plan_cards

    q = published["村干部工资"]
    auth.login("staff")
    data = {"village": "all", "expected": "98", "response_rate": "70"}
    for _ in range(2):
        client.post(f"/questionnaires/{q.id}/distribution", data=data)
    session.expire_all()
    q = session.get(Questionnaire, q.id)
    plan = plan_cards(q, list(q.indicator.project.unit.villages), expected=0.98, response_rate=0.7)
    issued = {}
    for link in q.links:
        if link.kind == LinkKind.CARD and link.voided_at is None:
            issued[link.village_id] = issued.get(link.village_id, 0) + 1
    for row in plan.rows:
        assert issued.get(row.village.id, 0) == max(row.cards, 10 if row.village.code <= "003" else 0)


# -- Chinese in the audit log and the double-entry list ----------------------------------------

ENGLISH_JARGON = re.compile(r"\b(issue_cards|publish_questionnaire|enter_paper|User \d+|Questionnaire \d+|inconclusive|"
                            r"_village_id|aspect_\d|quantity >=|None)\b")


def _visible(html):
    """Page text without tags, scripts and the collapsed 详细 lines meant for auditors."""
    html = re.sub(r"<details>.*?</details>", "", html, flags=re.S)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_audit_log_reads_in_chinese_with_a_detail_line(client, auth, published, session):
    auth.login("admin")
    q = published["村干部工资"]
    client.post(f"/questionnaires/{q.id}/distribution", data={"village": "all", "count": "2", "expected": "98",
                                                               "response_rate": "70"})
    html = client.get("/audit/log").get_data(as_text=True)
    assert "发放一次性卡片" in html and "问卷 %d" % q.id in html and "张数：2" in html
    assert not ENGLISH_JARGON.search(_visible(html)), ENGLISH_JARGON.search(_visible(html))
    assert "<summary>详细</summary>" in html and "issue_cards" in html  # kept for auditors


def test_double_entry_mismatch_in_the_questionnaires_words(client, app, published, session, users):
    from tests.conftest import Auth

    q = published["村干部工资"]
    q.double_entry = True
    session.commit()
    villages = q.indicator.project.unit.villages
    first, second = app.test_client(), app.test_client()
    Auth(first).login("staff")
    Auth(second).login("admin")
    base = {"channel": "paper", "form_no": "M-1", "satisfaction": "满意", "identity": "其他"}
    first.post(f"/questionnaires/{q.id}/paper", data={**base, "village": str(villages[0].id)})
    flashed = second.post(f"/questionnaires/{q.id}/paper", data={**base, "village": str(villages[1].id),
                                                                  "satisfaction": "不满意"},
                          follow_redirects=True).get_data(as_text=True)
    assert "“所在村”：第一次“演示村01”，第二次“演示村02”" in flashed
    assert "总体来说，您对“村干部工资”项目的实施效果是否满意”：第一次“满意”" in flashed
    assert not ENGLISH_JARGON.search(_visible(flashed))


def test_cost_indicator_is_scored_as_a_ceiling(published, session):
    from survey_app.services.selfeval import build_table, save_entries

    project = published["村干部工资"].indicator.project
    cost = next(i for i in project.indicators if i.level2 == "成本指标")
    weights = {"产出指标": 50, "效益指标": 30, "满意度指标": 10, "预算执行率": 10}
    for actual, full in (("400万元", True), ("411.56万元", True), ("450万元", False)):
        save_entries(session, project, actor="t", initial=None, full_year=None, executed=None, outcome="",
                     weights=weights, actuals={cost.id: (actual, None, "")})
        row = next(r for r in build_table(session, project).rows if r.indicator is cost)
        assert (row.score == row.points) is full, (actual, row.score)


def test_village_total_says_what_it_adds(client, auth, published, session):
    villages = published["村办公经费"].indicator.project.unit.villages
    villages[0].population, villages[1].population = 1200, 800
    session.commit()
    auth.login("staff")
    html = client.get("/villages").get_data(as_text=True)
    assert "2000" in html and "只含填了人数的 2 个村，另 32 个村未填" in html


def test_pasted_village_list_is_kept_after_an_error(client, auth, published):
    auth.login("staff")
    unit_id = published["村办公经费"].indicator.project.unit_id
    text = "东村,1200,6\n西村,很多,5"
    response = client.post(f"/units/{unit_id}/villages/import", data={"text": text})
    html = response.get_data(as_text=True)
    assert "第 2 行" in html and "东村,1200,6" in html and "西村,很多,5" in html


def test_paper_form_autofocus_village_by_name_and_third_person_resolves(client, app, published, session, users):
    from survey_app.services.accounts import create_user
    from tests.conftest import PASSWORD, Auth

    q = published["村干部工资"]
    q.double_entry = True
    create_user(session, "third", PASSWORD, "staff", actor="t", all_units=True)
    session.commit()
    first, second, third = app.test_client(), app.test_client(), app.test_client()
    Auth(first).login("staff")
    Auth(second).login("admin")
    Auth(third).login("third")
    page = first.get(f"/questionnaires/{q.id}/paper").get_data(as_text=True)
    assert page.count(" autofocus") == 1 and 'list="p-village-names"' in page
    base = {"channel": "paper", "form_no": "T-1", "identity": "其他", "village": "演示村03"}  # typed by name
    first.post(f"/questionnaires/{q.id}/paper", data={**base, "satisfaction": "满意"})
    second.post(f"/questionnaires/{q.id}/paper", data={**base, "satisfaction": "一般"})
    page = third.get(f"/questionnaires/{q.id}/paper").get_data(as_text=True)
    resolve = re.search(r'<form method="post" action="[^"]*/paper/resolve">.*?</form>', page, re.S).group(0)
    assert 'value="演示村03"' in resolve and 'value="满意" checked' in resolve  # pre-filled from the first entry
    bad = third.post(f"/questionnaires/{q.id}/paper/resolve", data={"form_no": "T-1", "identity": "其他",
                                                                     "village": "演示村03"}, follow_redirects=True)
    assert "“总体来说，您对“村干部工资”项目的实施效果是否满意”请选择一项" in bad.get_data(as_text=True)
    third.post(f"/questionnaires/{q.id}/paper/resolve", data={**base, "satisfaction": "一般"})
    stored = session.scalar(select(Response).where(Response.form_no == "T-1"))
    assert stored.satisfaction == "一般" and "third" in stored.entered_by
    assert stored.village.name == "演示村03"


def test_receipt_code_without_hyphen_and_lower_case(client, published, session):
    q = published["村干部工资"]
    card = card_of(q, 9)
    _, token = open_form(client, card)
    html = answer(client, card, token).get_data(as_text=True)
    code = re.search(r'class="receipt">([0-9A-Z]{4}-[0-9A-Z]{4})<', html).group(1)
    found = client.get("/receipt", query_string={"code": code.replace("-", "").lower()})
    assert found.status_code == 200 and "已记录" in found.get_data(as_text=True)
    missing = client.get("/receipt", query_string={"code": "abcd efgh"}).get_data(as_text=True)
    assert "ABCD-EFGH" in missing and "输错了一个字符" in missing


# -- auditors ---------------------------------------------------------------------------------


def test_auditor_lands_on_the_audit_portal(client, users):
    from tests.conftest import PASSWORD

    response = client.post("/auth/login", data={"username": "auditor", "password": PASSWORD})
    assert response.location == "/audit/"
    assert client.get("/").location == "/audit/"


def test_head_page_instruction_works_as_written(client, auth, published):
    auth.login("auditor")
    html = client.get("/audit/head").get_data(as_text=True)
    assert "还没有发布" in html and "不加 <code>--head</code>" in html


def test_auditor_verifies_a_downloaded_bundle_in_the_browser(client, auth, published, session):
    from tests.test_results import add_responses

    q = published["村干部工资"]
    add_responses(session, q, [(q.indicator.project.unit.villages[0], 5, 1, 0)])
    session.commit()
    auth.login("auditor")
    data = client.get("/audit/bundle.zip").data
    page = client.post("/audit/verify-bundle", data={"bundle": (io.BytesIO(data), "审计包.zip")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "核验通过" in page and "核对了 6 条答卷" in page
    # a tampered bundle: one answer changed
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "responses.csv":
                content = content.replace("非常满意".encode(), "不满意".encode(), 1)
            target.writestr(name, content)
    page = client.post("/audit/verify-bundle", data={"bundle": (io.BytesIO(out.getvalue()), "b.zip")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "核验发现问题" in page and "内容被改动" in page and "[altered]" not in _visible(page)
    junk = client.post("/audit/verify-bundle", data={"bundle": (io.BytesIO(b"not a zip"), "x.zip")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "不是本系统导出的审计包" in junk


def test_double_entry_switch_says_when_it_takes_effect(client, auth, published):
    auth.login("staff")
    q = published["村干部工资"]
    page = client.post(f"/questionnaires/{q.id}/edit", data=_edit_data(q, double_entry="y"),
                       follow_redirects=True).get_data(as_text=True)
    assert "双人录入已开启" in page and "立即生效，不需要重新发布" in page


def test_staff_pages_have_a_folding_menu(client, auth, published):
    auth.login("staff")
    html = client.get("/projects").get_data(as_text=True)
    assert 'class="menu-button" aria-expanded="false" aria-controls="main-nav"' in html
