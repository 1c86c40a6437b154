"""The collection loop: questionnaires, QR links, answering exactly once, paper entry."""

import gzip
import re

import pytest
from sqlalchemy import func, select

from survey_app.models import Link, LinkKind, PaperEntry, Questionnaire, QuestionnaireVersion, Response, Village
from survey_app.services.questionnaires import (
    LIKERT_OPTIONS,
    QuestionnaireError,
    generate_content,
    publish,
    update_draft,
    version_is_intact,
)

# -- helpers -------------------------------------------------------------------------


def card_of(questionnaire, n=1):
    return next(link for link in questionnaire.links if link.kind == LinkKind.CARD and link.card_no == n)


def poster_of(questionnaire, village=True):
    return next(link for link in questionnaire.links
                if link.kind == LinkKind.POSTER and (link.village_id is not None) == village)


def open_form(client, link):
    response = client.get(f"/R/{link.token}")
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    return html, token


def answer(client, link, token, **answers):
    data = {"form_token": token, "satisfaction": "满意", "identity": "其他", **answers}
    return client.post(f"/R/{link.token}/submit", data=data)


def receipt_in(html):
    match = re.search(r'class="receipt">([0-9A-Z]{4}-[0-9A-Z]{4})<', html)
    return match.group(1) if match else None


def count(session, model=Response):
    session.expire_all()
    return session.scalar(select(func.count(model.id)))


# -- questionnaires ------------------------------------------------------------------


def test_generated_drafts_for_the_seed(published):
    assert len(published) == 4
    office = published["村办公经费"].current_version.content
    assert office["title"] == "村办公经费满意度调查"
    # the introduction states what the project did, never its targets (a target leads the answer)
    assert "73.18万元" in office["intro"] and "匿名" in office["intro"] and "≥95%" not in office["intro"]
    keys = [q["key"] for q in office["questions"]]
    assert keys[0] == "satisfaction" and keys[-1] == "comment"
    assert office["questions"][0]["options"] == ["非常满意", "满意", "一般", "不满意", "非常不满意", "不了解"]
    aspects = [q for q in office["questions"] if q["key"].startswith("aspect_")]
    assert 2 <= len(aspects) <= 4
    assert any("按时发放" in q["text"] for q in aspects)  # timeliness, in a villager's words
    for content in (q.current_version.content for q in published.values()):
        text = str(content)
        for forbidden in ("姓名：", "电话：", "身份证号：", "手机号"):
            assert forbidden not in text.replace("不询问姓名、电话和身份证号", "")
    cadres = published["村干部工资"].current_version.content
    assert cadres["audience"] == "村干部" and "村干部" in str(cadres["questions"])


def test_generation_refuses_non_satisfaction_indicator(seeded):
    from survey_app.models import Indicator

    indicator = seeded.scalar(select(Indicator).where(Indicator.name == "任务完成率"))
    with pytest.raises(QuestionnaireError, match="不是满意度指标"):
        generate_content(indicator)


def test_publish_locks_versions_and_responses_record_their_version(client, published, session):
    q = published["村办公经费"]
    v1 = q.current_version
    assert v1.number == 1 and version_is_intact(v1)
    link = poster_of(q)
    _, token_v1 = open_form(client, link)  # a phone opens version 1
    update_draft(session, q, actor="t", title="新标题", intro="说明", satisfaction_text="您满意吗？",
                 aspects=["第一项？", "第二项？"], rate_method="weighted", double_entry=False)
    session.commit()
    assert q.current_version.number == 1 and v1.content["title"] == "村办公经费满意度调查"
    v2 = publish(session, q, actor="t")
    session.commit()
    assert v2.number == 2 and v2.content["title"] == "新标题" and v2.content["rate_method"] == "weighted"
    assert publish(session, q, actor="t") is v2  # nothing changed: no new version
    html, token_v2 = open_form(client, link)
    assert "新标题" in html and "第一项？" in html
    answer(client, link, token_v1)
    answer(client, link, token_v2)
    versions = sorted(session.scalars(select(QuestionnaireVersion.number).join(
        Response, Response.version_id == QuestionnaireVersion.id)).all())
    assert versions == [1, 2]


def test_drafts_cannot_drop_negative_options(published, session):
    q = published["村办公经费"]
    q.draft = {**q.draft, "questions": [{**q.draft["questions"][0], "options": LIKERT_OPTIONS[:3]},
                                        *q.draft["questions"][1:]]}
    with pytest.raises(QuestionnaireError, match="不能删去不满意"):
        publish(session, q, actor="t")


# -- links ------------------------------------------------------------------------------


def test_tokens_are_unique_and_long(published, session):
    tokens = session.scalars(select(Link.token)).all()
    assert len(tokens) == len(set(tokens)) > 100
    assert all(re.fullmatch(r"[A-Z2-7]{24}", t) for t in tokens)  # 120 bits, base32


def test_qr_is_coarse_alphanumeric():
    import segno

    from survey_app.services.distribution import qr_payload

    code = segno.make(qr_payload("http://127.0.0.1:5000/R/ABCDEFGHIJKLMNOPQRSTUVWX"), error="m")
    assert code.mode == "alphanumeric" and code.version <= 3


def test_links_json(cli, published):
    import json

    q = published["村干部工资"]
    rows = json.loads(cli("links", "--questionnaire", str(q.id), "--village", "演示村02", "--json").output)
    assert {r["kind"] for r in rows} == {"poster", "card"}
    assert [r["card_no"] for r in rows if r["kind"] == "card"] == list(range(1, 11))
    assert all(set(r) == {"questionnaire_id", "version", "indicator", "village", "kind", "card_no", "used", "url"}
               for r in rows)
    assert rows[0]["url"].startswith("http://survey.test/R/")


# -- answering: exactly once ---------------------------------------------------------------


def test_poster_answer_receipt_and_double_submit(client, published, session):
    q = published["村办公经费"]
    link = poster_of(q)
    _, token = open_form(client, link)
    first = answer(client, link, token, aspect_1="是", comment="办事很方便")
    assert first.status_code == 200
    receipt = receipt_in(first.get_data(as_text=True))
    assert receipt
    second = answer(client, link, token)  # double tap / back and submit again / retried request
    assert receipt_in(second.get_data(as_text=True)) == receipt and "已经提交过" in second.get_data(as_text=True)
    assert count(session) == 1
    stored = session.scalar(select(Response))
    assert stored.channel == "poster" and stored.village_id == link.village_id and stored.satisfaction == "满意"
    assert stored.answers["aspect_1"] == "是" and stored.comment == "办事很方便"
    assert len(stored.network_hash) == 32 and "127.0.0.1" not in str(stored.answers)
    # a new scan of the open poster is a new respondent
    _, again = open_form(client, link)
    answer(client, link, again)
    assert count(session) == 2


def test_card_used_once(client, published, session):
    q = published["村干部工资"]
    card = card_of(q)
    _, token = open_form(client, card)
    _, second_phone = open_form(client, card)  # another phone opened the card before it was used
    first = answer(client, card, token)
    assert first.status_code == 200
    used = client.get(f"/R/{card.token}")
    html = used.get_data(as_text=True)
    assert used.status_code == 410 and "此二维码已使用" in html and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", html)
    # the same form sent again (a double tap) stores nothing new and shows the same receipt
    again = answer(client, card, token)
    assert again.status_code == 200 and receipt_in(again.get_data(as_text=True)) == receipt_in(first.get_data(as_text=True))
    # the second phone's own form is refused: the card is used
    late = answer(client, card, second_phone)
    assert late.status_code == 410 and "此二维码已使用" in late.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count(Response.id)).where(Response.card_id == card.id)) == 1
    assert session.get(Link, card.id).used_at is not None


def test_card_race_between_two_forms(client, published, session):
    q = published["村干部工资"]
    card = card_of(q, 2)
    _, token_a = open_form(client, card)
    _, token_b = open_form(client, card)
    assert answer(client, card, token_a).status_code == 200
    late = answer(client, card, token_b)
    assert late.status_code == 410 and "此二维码已使用" in late.get_data(as_text=True)
    assert count(session) == 1


def test_works_without_cookies(app, published, session):
    client = app.test_client(use_cookies=False)
    link = poster_of(published["村办公经费"])
    _, token = open_form(client, link)
    assert receipt_in(answer(client, link, token).get_data(as_text=True))


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "status", "message"),
    [
        (lambda d: {**d, "form_token": "forged"}, 400, "页面无效"),
        (lambda d: {**d, "form_token": d["form_token"][:-6]}, 400, "页面无效"),
        (lambda d: {k: v for k, v in d.items() if k != "satisfaction"}, 422, "请选择一项"),
        (lambda d: {**d, "satisfaction": "超级满意"}, 422, "不在问卷上"),
        (lambda d: {**d, "comment": "很" * 501}, 422, "最多 500 字"),
        (lambda d: {**d, "village": "999999"}, 422, "请从列表中选择"),
    ],
)
def test_bad_input_stores_nothing_and_keeps_answers(client, published, session, mutate, status, message):
    link = poster_of(published["村办公经费"], village=False)  # the township poster asks for the village
    _, token = open_form(client, link)
    village = session.scalar(select(Village).order_by(Village.id))
    data = mutate({"form_token": token, "satisfaction": "满意", "identity": "其他", "aspect_1": "否",
                   "village": str(village.id)})
    response = client.post(f"/R/{link.token}/submit", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == status and message in html
    if status == 422:
        assert 'value="否" checked' in html  # answers kept on the page
    assert count(session) == 0


def test_unknown_token_and_token_from_another_link(client, published, session):
    assert client.get("/R/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert "二维码无效" in client.get("/R/not-a-token!").get_data(as_text=True)
    office, cadres = published["村办公经费"], published["村干部工资"]
    _, token = open_form(client, poster_of(office))
    response = answer(client, poster_of(cadres), token)
    assert response.status_code == 400 and count(session) == 0


def test_closed_unpublished_and_voided(client, published, session):
    from survey_app.models import QuestionnaireStatus
    from survey_app.services.distribution import void_link

    q = published["村办公经费"]
    link = poster_of(q)
    _, token = open_form(client, link)
    q.status = QuestionnaireStatus.CLOSED
    session.commit()
    assert "问卷已结束" in client.get(f"/R/{link.token}").get_data(as_text=True)
    assert "问卷已结束" in answer(client, link, token).get_data(as_text=True)
    q.status = QuestionnaireStatus.DRAFT
    session.commit()
    assert "问卷尚未开始" in client.get(f"/R/{link.token}").get_data(as_text=True)
    q.status = QuestionnaireStatus.PUBLISHED
    card = card_of(q, 3)
    void_link(session, card, actor="t")
    session.commit()
    assert "此二维码已作废" in client.get(f"/R/{card.token}").get_data(as_text=True)
    assert count(session) == 0


def test_used_card_cannot_be_voided(client, published, session):
    from survey_app.services.distribution import DistributionError, void_link

    card = card_of(published["村干部工资"], 4)
    _, token = open_form(client, card)
    answer(client, card, token)
    session.expire_all()
    with pytest.raises(DistributionError, match="已被使用"):
        void_link(session, session.get(Link, card.id), actor="t")


def test_page_weight_budget_and_no_external_requests(client, published):
    link = poster_of(published["村办公经费"], village=False)
    response = client.get(f"/R/{link.token}")
    html = response.get_data(as_text=True)
    size = len(gzip.compress(response.get_data(), 9))
    assert size <= 14 * 1024, size
    assert "<script" not in html.lower()
    # every resource the page could load: none (CSS is inline; no images, fonts or scripts)
    assert not re.search(r'<(link|img|script|iframe)\b', html.replace('<link rel="icon" href="data:,">', ""), re.I)
    assert not re.search(r'(src|href)="https?://', html)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="viewport"' in html and "min-height:48px" in html  # touch targets ≥ 44 px


# -- rate limits ------------------------------------------------------------------------------


def test_rate_limit_per_device(database_url, tmp_path, seed_bytes):
    from sqlalchemy.orm import sessionmaker

    from survey_app import create_app
    from survey_app.db import get_db
    from survey_app.models import Unit
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file

    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "x", "RATELIMIT_ENABLED": True,
                      "RATELIMIT_STORAGE_URI": "memory://", "RESPOND_LIMIT_DEVICE": "2 per minute",
                      "UPLOAD_FOLDER": str(tmp_path)})
    database = get_db(app)
    connection = database.engine.connect()
    outer = connection.begin()
    database.sessionmaker = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    try:
        session = database.session()
        import_file(session, seed_bytes, "seed.txt", actor="t", year=2024)
        unit = session.scalar(select(Unit))
        ensure_demo_villages(session, unit)
        q, poster = publish_demo_questionnaires(session, unit)[0]
        session.commit()
        client = app.test_client()
        statuses = []
        for _ in range(3):
            _, token = open_form(client, poster)
            statuses.append(answer(client, poster, token, village=str(unit.villages[0].id)).status_code)
        assert statuses == [200, 200, 429]
        other_phone = app.test_client()
        _, token = open_form(other_phone, poster)
        ok = other_phone.post(f"/R/{poster.token}/submit", data={"form_token": token, "satisfaction": "满意",
                                                          "identity": "其他", "village": str(unit.villages[0].id)},
                              headers={"User-Agent": "another phone"})
        assert ok.status_code == 200  # the same village network, another device: still answers
        assert "操作太频繁" in client.post(f"/R/{poster.token}/submit", data={}).get_data(as_text=True)
    finally:
        outer.rollback()
        connection.close()
        database.engine.dispose()


# -- paper entry ---------------------------------------------------------------------------


def _paper(client, q, village, form_no, **answers):
    data = {"channel": "paper", "form_no": form_no, "satisfaction": "满意", "identity": "村党支部/村委会干部",
            "village": str(village.id), **answers}
    return client.post(f"/questionnaires/{q.id}/paper", data=data)


def test_paper_entry_single(client, auth, published, session):
    auth.login("staff")
    q = published["村干部工资"]
    village = q.indicator.project.unit.villages[0]
    assert _paper(client, q, village, "P-001").status_code == 302
    assert _paper(client, q, village, "P-001").status_code == 302  # keyed twice by mistake: stored once
    stored = session.scalar(select(Response))
    assert count(session) == 1 and stored.channel == "paper" and stored.entered_by == "staff"
    assert stored.form_no == "P-001"


def test_paper_double_entry_match_and_mismatch(client, app, published, session, users):
    from tests.conftest import Auth

    q = published["村干部工资"]
    q.double_entry = True
    session.commit()
    village = q.indicator.project.unit.villages[1]
    first, second = app.test_client(), app.test_client()
    Auth(first).login("staff")
    Auth(second).login("admin")
    _paper(first, q, village, "A-1")
    assert count(session) == 0 and count(session, PaperEntry) == 1  # waits for the second keying
    _paper(second, q, village, "A-1")
    assert count(session) == 1
    _paper(first, q, village, "A-2", satisfaction="满意")
    _paper(second, q, village, "A-2", satisfaction="不满意")
    assert count(session) == 1
    page = first.get(f"/questionnaires/{q.id}/paper").get_data(as_text=True)
    assert "双人录入不一致" in page and "A-2" in page
    resolve = {"csrf_token": "", "form_no": "A-2", "satisfaction": "不满意", "identity": "其他",
               "village": str(village.id)}
    assert first.post(f"/questionnaires/{q.id}/paper/resolve", data=resolve).status_code == 302
    assert count(session) == 2
    stored = session.scalar(select(Response).where(Response.form_no == "A-2"))
    assert stored.satisfaction == "不满意" and "核对" in stored.entered_by


def test_paper_card_number_marks_card_used(client, auth, published, session):
    auth.login("staff")
    q = published["村干部工资"]
    card = card_of(q, 5)
    village = card.village
    client.post(f"/questionnaires/{q.id}/paper", data={"channel": "paper", "card_no": "5", "satisfaction": "满意",
                                                       "identity": "其他", "village": str(village.id)})
    assert count(session) == 1


# -- staff pages ----------------------------------------------------------------------------


def test_staff_flow_generate_edit_preview_publish_distribute_print(client, auth, seeded, session):
    from survey_app.models import Indicator, Unit
    from survey_app.services.demo import ensure_demo_villages

    ensure_demo_villages(seeded, seeded.scalar(select(Unit)))
    seeded.commit()
    auth.login("staff")
    from survey_app.models import Project

    # a villagers' questionnaire: distributed per village (镇干部 are one list, see test_staff_flows)
    indicator = session.scalar(select(Indicator).join(Project).where(Indicator.is_satisfaction,
                                                                     Project.name == "村办公经费"))
    response = client.post(f"/indicators/{indicator.id}/questionnaire")
    q = session.scalar(select(Questionnaire))
    assert response.location.endswith(f"/questionnaires/{q.id}/edit")
    edit = client.get(response.location).get_data(as_text=True)
    assert "村办公经费满意度调查" in edit
    client.post(f"/questionnaires/{q.id}/edit", data={
        "title": "镇干部满意度调查", "intro": "说明文字", "satisfaction_text": "您对经费保障满意吗？",
        "aspects": "资金是否及时拨付？\n工作是否顺利开展？", "rate_method": "top2"})
    preview = client.get(f"/questionnaires/{q.id}/preview").get_data(as_text=True)
    assert "您对经费保障满意吗？" in preview and "预览中不能提交" in preview and "<button" not in preview
    client.post(f"/questionnaires/{q.id}/publish")
    page = client.get(f"/questionnaires/{q.id}/distribution").get_data(as_text=True)
    assert "建议" in page and "/R/" in page
    village = session.scalar(select(Village).order_by(Village.id))
    client.post(f"/questionnaires/{q.id}/distribution", data={"village": str(village.id), "count": "12",
                                                              "expected": "98", "response_rate": "70"})
    session.expire_all()
    cards = session.scalars(select(Link).where(Link.kind == LinkKind.CARD)).all()
    assert len(cards) == 12 and sorted(c.card_no for c in cards) == list(range(1, 13))
    sheet = client.get(f"/questionnaires/{q.id}/print/cards?village={village.id}").get_data(as_text=True)
    assert sheet.count('class="card"') == 12 and sheet.count('class="sheet"') == 2 and "<svg" in sheet
    posters = client.get(f"/questionnaires/{q.id}/print/posters").get_data(as_text=True)
    assert posters.count('class="poster"') == 35  # 34 villages + one township-wide
    bundle = client.get(f"/questionnaires/{q.id}/bundle.zip")
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()
    assert "海报.html" in names and "links.csv" in names and any(n.startswith("卡片-") for n in names)
    progress = client.get(f"/questionnaires/{q.id}/progress").get_data(as_text=True)
    assert "还没有收到答卷" in progress


def test_progress_shows_rate_and_channels(client, auth, published, session):
    q = published["自收自支人员补助"]
    link = poster_of(q, village=False)  # 镇干部 are one list: a single township poster
    for choice in ("满意", "非常满意", "不满意", "不了解"):
        _, token = open_form(client, link)
        answer(client, link, token, satisfaction=choice, identity="镇机关干部")
    auth.login("auditor")
    page = client.get(f"/questionnaires/{q.id}/progress").get_data(as_text=True)
    assert "满意率 66.7%：有效答卷 3 份（另有“不了解” 1 份不计入）" in page
    assert "总体 31 人" in page and "Wilson" not in page
    assert "全体调查对象" in page and "演示村01" not in page  # one list, not 34 empty village rows


def test_planning_proposes_cards(published):
    from survey_app.services.distribution import plan_cards

    q = published["村办公经费"]
    villages = list(q.indicator.project.unit.villages)
    for n, village in enumerate(villages):
        village.population = 400 + 10 * n
    plan = plan_cards(q, villages, expected=0.98, response_rate=0.5)
    assert sum(r.responses for r in plan.rows) >= plan.total_responses
    assert all(r.cards >= r.responses for r in plan.rows)
    assert "尚无定论" in plan.explanation
    small = published["自收自支人员补助"]
    census = plan_cards(small, villages[:1], expected=0.99)
    assert "全面调查" in census.explanation and census.total_responses == 31


def test_expired_form_keeps_answers_and_offers_a_fresh_token(client, published, session, monkeypatch):
    import time

    import survey_app.respond.views as views

    link = poster_of(published["村办公经费"])
    _, token = open_form(client, link)
    monkeypatch.setattr(views, "FORM_MAX_AGE", 0)
    time.sleep(1.1)
    response = answer(client, link, token, aspect_1="否")
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "页面停留时间过长" in html and 'value="否" checked' in html
    fresh = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    assert fresh != token and count(session) == 0
    monkeypatch.setattr(views, "FORM_MAX_AGE", 3600)
    assert receipt_in(answer(client, link, fresh).get_data(as_text=True))
    assert count(session) == 1


def test_database_hiccup_keeps_answers_and_the_same_form(client, published, session, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from survey_app.services import integrity

    link = poster_of(published["村办公经费"])
    _, token = open_form(client, link)
    real_store = integrity.store
    calls = []

    def failing(*args, **kwargs):  # every write of an answer, on the fast path and the full path
        calls.append(1)
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(integrity, "store", failing)
    response = answer(client, link, token, aspect_1="否")
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "没有提交成功" in html and 'value="否" checked' in html
    assert f'value="{token}"' in html  # the same form token: retrying cannot create a second response
    assert count(session) == 0 and len(calls) == 2  # the fast path failed, the full path tried once more
    monkeypatch.setattr(integrity, "store", real_store)
    first = receipt_in(answer(client, link, token).get_data(as_text=True))
    again = receipt_in(answer(client, link, token).get_data(as_text=True))
    assert first and first == again and count(session) == 1


# -- a lost race undoes only the attempted insert, never the caller's work (issue 11) ---------------


@pytest.mark.parametrize("kind", ["same form", "same card"])
def test_lost_race_keeps_the_callers_transaction(published, session, kind):
    """The respondent fast path (``prechecked``) loses a race: a parallel request stored the same form,
    or another form used the card. What the caller wrote earlier in its transaction must survive, and
    the transaction must still be usable and commit."""
    from survey_app.models import AuditEvent, Channel
    from survey_app.services import audit_log
    from survey_app.services.collection import Answers, CardUsed, check_open, submit

    q = published["村干部工资"]
    link = card_of(q, 4) if kind == "same card" else poster_of(q)
    channel = Channel.CARD if kind == "same card" else Channel.POSTER
    version = check_open(q, link)
    answers = Answers({"satisfaction": "满意", "identity": "其他"}, "满意", "", link.village_id)
    winner, created = submit(session, link=link, version=version, answers=answers, submission_key="winner-key",
                             channel=channel)
    session.commit()
    assert created
    # the caller's own work in its transaction, then the form that lost the race
    audit_log.record(session, actor="caller", action="caller_work", obj=q)
    session.flush()
    key = "winner-key" if kind == "same form" else "loser-key"
    if kind == "same card":
        with pytest.raises(CardUsed):
            submit(session, link=link, version=version, answers=answers, submission_key=key, channel=channel,
                   prechecked=True)
    else:
        found, created = submit(session, link=link, version=version, answers=answers, submission_key=key,
                                channel=channel, prechecked=True)
        assert not created and found.id == winner.id and found.receipt == winner.receipt
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "caller_work")) == 1
    session.commit()
    session.expire_all()
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "caller_work")) == 1
    assert count(session) == 1


def test_receipt_page_of_the_fast_path_is_the_template_rendered(app, client, published, session):
    """The receipt page is filled in from a copy rendered once: it must be exactly what the template
    renders for this response (code, time, link to the receipt check)."""
    from survey_app.respond.views import _page

    link = poster_of(published["村办公经费"])
    _, token = open_form(client, link)
    html = answer(client, link, token).get_data(as_text=True)
    stored = session.scalar(select(Response))
    with app.test_request_context(f"/R/{link.token}/submit", method="POST"):
        expected = _page("respond/thanks.html", response=stored, repeat=False).get_data(as_text=True)
    assert html == expected and stored.receipt in html and "RECEIPTCODE" not in html


@pytest.mark.parametrize(("change", "message"), [
    ("closed", "已停止收集答卷"),
    ("ended", "停止收集答卷"),
    ("not yet", "开始收集答卷"),
    ("target", "收满计划的答卷数"),
    ("voided", "此二维码已作废"),
])
def test_what_changed_after_the_form_was_shown_is_checked_when_it_is_stored(client, published, session, change,
                                                                              message):
    """The one statement that stores an answer re-checks the link and the questionnaire: a form shown
    before the questionnaire closed, its schedule ended or had not begun, its target was reached or
    its card was voided stores nothing, and the respondent is told why."""
    import datetime as dt

    from survey_app.models import QuestionnaireStatus
    from survey_app.services.distribution import void_link

    q = published["村干部工资"]
    card = card_of(q, 6)
    _, first = open_form(client, card_of(q, 7))
    assert receipt_in(answer(client, card_of(q, 7), first).get_data(as_text=True))  # warms the process's caches
    _, token = open_form(client, card)
    now = dt.datetime.now(dt.UTC)
    if change == "closed":
        q.status = QuestionnaireStatus.CLOSED
    elif change == "ended":
        q.closes_at = now - dt.timedelta(minutes=1)
    elif change == "not yet":
        q.opens_at = now + dt.timedelta(days=1)
    elif change == "target":
        q.target_valid = 1
    else:
        void_link(session, card, actor="t")
    session.commit()
    response = answer(client, card, token)
    assert response.status_code == 410 and message in response.get_data(as_text=True)
    assert count(session) == 1
    session.expire_all()
    assert session.get(Link, card.id).used_at is None


def test_a_village_renamed_after_the_form_was_shown(client, published, session):
    """The township poster asks for the village: an answer stores the village's name as it is when stored."""
    link = poster_of(published["村办公经费"], village=False)
    village = session.scalar(select(Village).order_by(Village.id))
    _, first = open_form(client, link)
    assert receipt_in(answer(client, link, first, village=str(village.id)).get_data(as_text=True))
    _, token = open_form(client, link)
    village.name = "新名村"
    session.commit()
    assert receipt_in(answer(client, link, token, village=str(village.id)).get_data(as_text=True))
    names = session.scalars(select(Response.answers).order_by(Response.id)).all()
    assert [n["village"] for n in names][-1] == "新名村"
