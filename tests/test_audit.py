"""Auditor portal: quality flags on generated data, evidence page, raw exports, receipts, read-only access."""

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from survey_app.db import utcnow
from survey_app.models import AuditEvent, Channel, Response
from survey_app.services.collection import Answers, new_submission_key, submit
from survey_app.services.flags import compute_flags


def put(session, q, n, *, satisfaction="满意", channel=Channel.POSTER, link=None, started=None, device="",
        network="", entered_by="", aspects=None, village=None):
    version = q.current_version
    for _ in range(n):
        values = {"satisfaction": satisfaction, **(aspects or {})}
        submit(session, link=link, version=version, answers=Answers(values, satisfaction, "", village),
               submission_key=new_submission_key(), channel=channel, started_at=started, device_hash=device,
               network_hash=network, entered_by=entered_by)
    session.commit()


@pytest.fixture
def q(published):
    return published["村办公经费"]


def kinds(flags):
    return sorted(f.kind for f in flags)


def test_no_flags_on_ordinary_data(q, session):
    now = utcnow()
    for i in range(8):
        put(session, q, 1, satisfaction=["满意", "一般"][i % 2], started=now - dt.timedelta(seconds=90 + i),
            device=f"d{i}", network=f"n{i}", channel=Channel.PAPER, entered_by=f"s{i}")
    assert compute_flags(session, q) == []


def test_burst_from_one_link(q, session):
    link = next(link for link in q.links if link.kind == "poster" and link.village_id)
    put(session, q, 12, link=link, device="", network="")
    flags = compute_flags(session, q)
    assert "burst" in kinds(flags)
    burst = next(f for f in flags if f.kind == "burst")
    assert len(burst.response_ids) == 12 and "10 分钟内" in burst.explanation


def test_speeders(q, session):
    now = utcnow()
    put(session, q, 6, started=now - dt.timedelta(seconds=120), channel=Channel.PAPER, entered_by="a")
    put(session, q, 2, started=now - dt.timedelta(seconds=3), channel=Channel.PAPER, entered_by="b")
    speed = [f for f in compute_flags(session, q) if f.kind == "speeder"]
    assert len(speed) == 1 and len(speed[0].response_ids) == 2 and "中位数" in speed[0].explanation


def test_speeders_have_an_absolute_floor(q, session):
    """20 answers that all took 0 s raised 3 speeder flags (relative to a median of 0 s): all 20 are too fast."""
    put(session, q, 20, started=utcnow(), channel=Channel.PAPER, entered_by="a")
    speed = [f for f in compute_flags(session, q) if f.kind == "speeder"]
    assert len(speed) == 1 and len(speed[0].response_ids) == 20 and "5 秒" in speed[0].explanation


def test_straight_lining(q, session):
    put(session, q, 3, satisfaction="非常满意", aspects={"aspect_1": "是", "aspect_2": "是", "aspect_3": "是"},
        channel=Channel.PAPER, entered_by="x")
    put(session, q, 3, satisfaction="非常满意", aspects={"aspect_1": "是", "aspect_2": "否", "aspect_3": "是"},
        channel=Channel.PAPER, entered_by="y")
    straight = [f for f in compute_flags(session, q) if f.kind == "straight"]
    assert len(straight) == 1 and len(straight[0].response_ids) == 3


def test_same_device_repeatedly(q, session):
    put(session, q, 3, device="same-phone", channel=Channel.PAPER, entered_by="z")
    put(session, q, 2, device="other-phone", channel=Channel.PAPER, entered_by="w")
    device = [f for f in compute_flags(session, q) if f.kind == "device"]
    assert len(device) == 1 and len(device[0].response_ids) == 3


def test_paper_keyed_in_bulk(q, session):
    put(session, q, 16, channel=Channel.PAPER, entered_by="李干事")
    bulk = [f for f in compute_flags(session, q) if f.kind == "paper_bulk"]
    assert len(bulk) == 1 and "李干事" in bulk[0].explanation and len(bulk[0].response_ids) == 16


def test_improbable_all_satisfied_run(q, session):
    for i in range(20):
        put(session, q, 1, satisfaction=["满意", "不满意"][i % 2], channel=Channel.INTERVIEW, entered_by=f"p{i % 3}")
    put(session, q, 14, satisfaction="满意", channel=Channel.PAPER, entered_by="王")
    runs = [f for f in compute_flags(session, q) if f.kind == "run"]
    assert len(runs) == 1 and len(runs[0].response_ids) == 14 and "概率" in runs[0].explanation


def test_evidence_page_with_flags_side_by_side(q, session, client, auth):
    put(session, q, 16, channel=Channel.PAPER, entered_by="李干事")
    put(session, q, 4, satisfaction="不满意", channel=Channel.INTERVIEW, entered_by="赵")
    auth.login("auditor")
    page = client.get(f"/audit/questionnaires/{q.id}").get_data(as_text=True)
    assert "同一人集中录入纸质问卷（16 份）" in page
    assert "剔除被提示的答卷后重新计算" in page and "<td class=\"num\">20</td>" in page and "<td class=\"num\">4</td>" in page
    assert "抽样框与回收" in page and "问卷版本" in page and "publish_questionnaire" in page
    assert session.scalar(select(func.count(Response.id))) == 20  # flags drop nothing


def test_raw_exports_have_no_personal_data(q, session, client, auth):
    put(session, q, 3, channel=Channel.PAPER, entered_by="a", device="hash1")
    auth.login("auditor")
    csv_text = client.get(f"/audit/export/responses.csv?questionnaire={q.id}").get_data(as_text=True)
    header = csv_text.lstrip("\ufeff").splitlines()[0].split(",")
    assert "device_hash" in header and "row_hash" in header and not {"ip", "user_agent", "remote_addr"} & set(header)
    assert len(csv_text.strip().splitlines()) == 4
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/audit/export/cards.xlsx").data)).active
    assert [c.value for c in sheet[1]][:4] == ["id", "questionnaire_id", "village", "kind"]
    for kind in ("exclusions", "audit_log", "versions"):
        assert client.get(f"/audit/export/{kind}.csv").status_code == 200


def test_head_publish_verify_and_bundle_pages(q, session, client, auth):
    put(session, q, 2, channel=Channel.PAPER, entered_by="a")
    auth.login("staff")
    response = client.post("/audit/head/publish", data={"note": "打印交审计局"})
    assert response.status_code == 302
    head_page = client.get(response.location).get_data(as_text=True)
    assert "打印交审计局" in head_page and "survey-app verify --head" in head_page
    auth.logout()
    auth.login("auditor")
    assert "核验通过" in client.get("/audit/verify").get_data(as_text=True)
    bundle = client.get("/audit/bundle.zip")
    assert bundle.status_code == 200 and bundle.data[:2] == b"PK"
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "export_bundle")) == 1
    assert client.post("/audit/head/publish").status_code == 403


def test_public_receipt_check(q, session, client):
    put(session, q, 1, channel=Channel.PAPER, entered_by="a")
    receipt = session.scalar(select(Response.receipt))
    page = client.get(f"/receipt?code={receipt.lower()}").get_data(as_text=True)
    assert "已记录" in page and "内容与哈希一致" in page and "满意" not in page.split("本页不显示")[0][-200:]
    missing = client.get("/receipt?code=ZZZZ-ZZZZ")
    assert missing.status_code == 404 and "没有找到这个回执码" in missing.get_data(as_text=True)
    assert client.get("/receipt").status_code == 200


def test_simulated_responses_stay_out_of_exports(q, session, client, auth, tmp_path):
    from survey_app.models import Unit
    from survey_app.services.demo import simulate
    from survey_app.services.integrity import bundle

    put(session, q, 2, channel=Channel.PAPER, entered_by="a")
    simulate(session, session.scalar(select(Unit)))
    session.commit()
    auth.login("auditor")
    csv_text = client.get("/audit/export/responses.csv").get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 3
    path = tmp_path / "b.zip"
    path.write_bytes(bundle(session, actor="t"))
    from analysis.verify import verify_bundle

    report = verify_bundle(str(path))
    assert report.ok and report.checked_rows == 2
