"""Reading, exporting and correcting answers: filters, exports cell by cell, corrections, schedule, sharing."""

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import select, update

from survey_app.models import Channel, Response
from survey_app.services import answers as svc
from survey_app.services.collection import Answers, new_submission_key, submit
from survey_app.services.corrections import CorrectionError, correct
from survey_app.services.exclusions import exclude
from survey_app.services.exports import write
from survey_app.services.integrity import verify_database

# (village index or None, channel, satisfaction, aspect_1, identity, comment)
KNOWN = [
    (0, Channel.PAPER, "非常满意", "是", "村党支部/村委会干部", "路灯修好了"),
    (0, Channel.PAPER, "满意", "部分是", "村民小组长", ""),
    (0, Channel.INTERVIEW, "不满意", "否", "村党支部/村委会干部", "=HYPERLINK(\"x\")工资晚发"),
    (1, Channel.PAPER, "一般", "是", "其他", ""),
    (1, Channel.PAPER, "不了解", "不清楚", "村民小组长", "不清楚情况"),
    (None, Channel.PAPER, "满意", "", "其他", ""),
]


def _add(session, q, village, channel, sat, aspect, identity, comment, *, simulated=False, form_no=""):
    values = {"satisfaction": sat, "identity": identity, "comment": comment}
    if aspect:
        values["aspect_1"] = aspect
    response, _ = submit(session, link=None, version=q.current_version,
                         answers=Answers(values, sat, comment, village.id if village else None),
                         submission_key=new_submission_key(), channel=channel, entered_by="录入员",
                         simulated=simulated, form_no=form_no)
    return response


@pytest.fixture
def world(published, session):
    q = published["村干部工资"]
    villages = sorted(q.indicator.project.unit.villages, key=lambda v: v.name)
    rows = [_add(session, q, villages[v] if v is not None else None, *rest) for v, *rest in KNOWN]
    _add(session, q, villages[0], Channel.PAPER, "非常不满意", "否", "其他", "模拟意见", simulated=True)
    session.commit()
    return q, villages, rows


def test_per_question_counts_and_filters(world, session):
    q, villages, rows = world
    total, questions = svc.question_results(session, q, svc.Filters())
    assert total == 6
    sat = next(s for s in questions if s.key == "satisfaction")
    assert {o.option: o.count for o in sat.options} == {"非常满意": 1, "满意": 2, "一般": 1, "不满意": 1,
                                                       "非常不满意": 0, "不了解": 1}
    assert (sat.figure.successes, sat.figure.n) == (3, 5) and sat.figure.value == pytest.approx(0.6)
    aspect = next(s for s in questions if s.key == "aspect_1")
    assert {o.option: o.count for o in aspect.options} == {"是": 2, "部分是": 1, "否": 1, "不清楚": 1}
    assert aspect.unanswered == 1 and aspect.options[0].share == pytest.approx(2 / 5)
    identity = next(s for s in questions if s.key == "identity")
    assert {o.option: o.count for o in identity.options}["村民小组长"] == 2
    comment = next(s for s in questions if s.key == "comment")
    assert comment.answered == 3
    # village filter
    _, qs = svc.question_results(session, q, svc.Filters(village_id=villages[0].id))
    sat0 = next(s for s in qs if s.key == "satisfaction")
    assert (sat0.figure.successes, sat0.figure.n) == (2, 3)
    # channel + identity filter
    total, _ = svc.question_results(session, q, svc.Filters(channel="paper", identity="村党支部/村委会干部"))
    assert total == 1
    # villages without a village: 0
    total, _ = svc.question_results(session, q, svc.Filters(village_id=0))
    assert total == 1
    # excluded responses leave the counts
    exclude(session, rows[0], "重复", actor="t")
    total, qs = svc.question_results(session, q, svc.Filters())
    assert total == 5 and next(s for s in qs if s.key == "satisfaction").figure.successes == 2
    # the interval is the analysis package's Wilson interval on (x, n)
    from analysis import proportion_interval
    iv = proportion_interval(2, 4, method="wilson")
    fig = next(s for s in qs if s.key == "satisfaction").figure
    assert (fig.lower, fig.upper) == pytest.approx((iv.lower, iv.upper))


def test_date_filter_uses_china_time(world, session):
    q, _, rows = world
    # 2024-05-01 23:30 China time is 15:30 UTC
    session.execute(update(Response).where(Response.id == rows[0].id)
                    .values(submitted_at=dt.datetime(2024, 5, 1, 15, 30, tzinfo=dt.UTC)))
    session.execute(update(Response).where(Response.id == rows[1].id)
                    .values(submitted_at=dt.datetime(2024, 5, 1, 16, 30, tzinfo=dt.UTC)))  # 05-02 00:30 China
    f = svc.Filters.from_args({"date_from": "2024-05-01", "date_to": "2024-05-01"})
    ids = [r.id for r in session.scalars(svc.responses_query(session, q, f))]
    assert ids == [rows[0].id]
    bad = svc.Filters.from_args({"date_from": "5月1日"})
    assert bad.errors and "不是日期" in bad.errors[0] and bad.date_from is None


def test_crosstab_by_village_and_identity(world, session):
    q, villages, _ = world
    by_village = {r.label: r for r in svc.crosstab(session, q, svc.Filters(), "village")}
    assert by_village[villages[0].name].counts["不满意"] == 1 and by_village[villages[0].name].total == 3
    assert by_village["未指定村"].total == 1
    by_identity = {r.label: r for r in svc.crosstab(session, q, svc.Filters(), "identity")}
    assert by_identity["村民小组长"].figure.n == 1  # 不了解 is out of the denominator


def _csv_rows(session, q, **kw):
    out = io.BytesIO()
    write(session, q, "csv", out, **kw)
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_and_xlsx_cell_by_cell(world, session):
    q, villages, rows = world
    exclude(session, rows[3], "答题人不是本村干部", actor="t")
    table = _csv_rows(session, q)
    header = table[0]
    texts = {qu["key"]: qu["text"] for qu in q.current_version.content["questions"]}
    assert header[:6] == ["回执码", "提交时间（北京时间）", "村", "渠道", "问卷版本", "纸质问卷编号"]
    assert header[6] == texts["satisfaction"] and texts["identity"] in header and texts["comment"] in header
    assert header[-4:] == ["已排除", "排除理由", "更正（取代的回执码）", "更正理由"]
    assert len(table) == 7  # header + 6 real responses, the simulated one left out
    by_receipt = {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}
    first = by_receipt[rows[0].receipt]
    local = rows[0].submitted_at.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert first["提交时间（北京时间）"] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert first["村"] == villages[0].name and first["渠道"] == "纸质问卷" and first["问卷版本"] == "1"
    assert first[texts["satisfaction"]] == "非常满意" and first[texts["identity"]] == "村党支部/村委会干部"
    assert first[texts["comment"]] == "路灯修好了" and first["已排除"] == "否"
    third = by_receipt[rows[2].receipt]
    assert third["渠道"] == "访谈录入" and third[texts["comment"]] == "'=HYPERLINK(\"x\")工资晚发"  # formula neutralised
    fourth = by_receipt[rows[3].receipt]
    assert fourth["已排除"] == "是" and fourth["排除理由"] == "答题人不是本村干部"
    assert by_receipt[rows[5].receipt]["村"] == ""
    # the same rows in the xlsx, plus the codes sheet
    out = io.BytesIO()
    write(session, q, "xlsx", out)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["答卷", "代码"]
    sheet_rows = [[("" if c is None else str(c)) for c in row] for row in book["答卷"].iter_rows(values_only=True)]
    assert sheet_rows == table
    codes = [r for r in book["代码"].iter_rows(values_only=True) if r[0] == "q1"]
    assert ("q1", texts["satisfaction"], 5, "非常满意") in codes
    assert ("q1", texts["satisfaction"], 9, "不了解（缺失值，不计入满意率）") in codes
    # simulated only when asked for
    sim = _csv_rows(session, q, simulated=True)
    assert len(sim) == 2 and sim[1][header.index(texts["satisfaction"])] == "非常不满意"


def test_spss_codes_and_codebook(world, session):
    q, villages, rows = world
    out = io.BytesIO()
    write(session, q, "spss", out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert sorted(archive.namelist()) == ["codebook.csv", "data.csv", "survey.sps"]
    data = list(csv.reader(io.StringIO(archive.read("data.csv").decode("utf-8"))))
    header = data[0]
    assert header[:5] == ["receipt", "date", "village", "channel", "version"] and header[5] == "q1"
    by_receipt = {r[0]: dict(zip(header, r, strict=True)) for r in data[1:]}
    assert [by_receipt[r.receipt]["q1"] for r in rows] == ["5", "4", "2", "3", "9", "4"]
    assert by_receipt[rows[0].receipt]["channel"] == "3" and by_receipt[rows[2].receipt]["channel"] == "4"
    assert by_receipt[rows[0].receipt]["village"] == "1" and by_receipt[rows[5].receipt]["village"] == ""
    book = list(csv.reader(io.StringIO(archive.read("codebook.csv").decode("utf-8-sig"))))
    assert ["village", "村", "1", villages[0].name] in book
    assert "MISSING VALUES q1 (9)." in archive.read("survey.sps").decode("utf-8")


def test_cli_export(world, session, cli, tmp_path):
    q, _, rows = world
    path = tmp_path / "答卷.xlsx"
    result = cli("export", "--questionnaire", str(q.id), "--format", "xlsx", str(path))
    assert result.exit_code == 0 and path.exists() and not (tmp_path / "答卷.xlsx.part").exists()
    sheet = openpyxl.load_workbook(path)["答卷"]
    assert sheet.max_row == 7 and {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)} == {r.receipt for r in rows}
    for fmt in ("csv", "spss"):
        assert cli("export", "--questionnaire", str(q.id), "--format", fmt, str(tmp_path / f"x.{fmt}")).exit_code == 0
    sim = tmp_path / "sim.csv"
    cli("export", "--questionnaire", str(q.id), "--format", "csv", "--simulated", str(sim))
    assert len(sim.read_text(encoding="utf-8-sig").splitlines()) == 2


def test_correction_supersedes_and_verifies(world, session, tmp_path):
    q, villages, rows = world
    old = rows[2]  # interview entry keyed as 不满意
    values = {**old.answers, "satisfaction": "满意"}
    with pytest.raises(CorrectionError, match="理由"):
        correct(session, old, Answers(values, "满意", old.comment, old.village_id), " ", actor="staff")
    new = correct(session, old, Answers(values, "满意", old.comment, old.village_id), "对照原始记录，录入错误",
                  actor="staff")
    session.commit()
    assert session.get(Response, old.id).satisfaction == "不满意"  # the stored row never changes
    assert new.supersedes_id == old.id and new.chain_key == old.chain_key and new.chain_seq == old.chain_seq + 1
    with pytest.raises(CorrectionError, match="已被更正"):
        correct(session, old, Answers(values, "一般", "", old.village_id), "再改", actor="staff")
    with pytest.raises(CorrectionError, match="扫码"):
        poster = session.scalar(select(Response).where(Response.id == rows[0].id))
        poster.channel = Channel.POSTER
        correct(session, poster, Answers(values, "一般", "", None), "x", actor="staff")
    session.rollback()
    # figures use the latest version
    from survey_app.services.results import compute
    r = compute(session, q)
    assert (r.successes, r.valid_n, r.total) == (4, 5, 6)
    table = _csv_rows(session, q)
    assert len(table) == 7 and old.receipt not in {row[0] for row in table}
    corrected = next(row for row in table if row[0] == new.receipt)
    assert corrected[-2:] == [old.receipt, "对照原始记录，录入错误"]
    assert verify_database(session) == []
    # offline bundle: verifies, and its figures recompute with the latest version
    from analysis.verify import verify_bundle
    from survey_app.services.integrity import bundle
    path = tmp_path / "b.zip"
    path.write_bytes(bundle(session, actor="t"))
    report = verify_bundle(str(path))
    assert report.ok, (report.problems, report.differences)
    # tampering with the correction (its reason or the row it names) is found by both verifiers
    session.execute(update(Response).where(Response.id == new.id).values(correction_reason="改过"))
    assert any(p.kind == "altered" for p in verify_database(session))
    session.rollback()


def test_correction_rules_in_check(world, session):
    from analysis.chain import check_corrections
    rows = [{"id": 1, "questionnaire_id": 1, "channel": "poster", "chain_key": "a", "chain_seq": 1},
            {"id": 2, "questionnaire_id": 1, "channel": "poster", "chain_key": "a", "chain_seq": 2,
             "supersedes_id": 1, "correction_reason": ""},
            {"id": 3, "questionnaire_id": 2, "channel": "paper", "chain_key": "b", "chain_seq": 1,
             "supersedes_id": 9, "correction_reason": "x"}]
    details = " ".join(p.detail for p in check_corrections(rows))
    assert "没有写明理由" in details and "只有纸质" in details and "不存在" in details


def test_comments_search_and_follow_up(world, session, client, auth):
    q, villages, rows = world
    page = svc.comments_query(session, q, svc.Filters(search="路灯"))
    assert [r.id for r in session.scalars(page)] == [rows[0].id]
    everything = [r.id for r in session.scalars(svc.comments_query(session, q, svc.Filters()))]
    assert sorted(everything) == sorted([rows[0].id, rows[2].id, rows[4].id])  # newest first, no simulated
    with pytest.raises(ValueError, match="跟进说明"):
        svc.follow_up(session, rows[0], "", done=True, actor="staff")
    auth.login("staff")
    resp = client.post(f"/responses/{rows[0].id}/followup", data={"note": "已联系村委会，路灯本周修复"})
    assert resp.status_code == 302
    html = client.get(f"/questionnaires/{q.id}/comments").get_data(as_text=True)
    assert "已联系村委会，路灯本周修复" in html and "路灯修好了" in html and "模拟意见" not in html
    assert rows[0].network_hash not in html or not rows[0].network_hash


def test_pages_render_for_staff_and_auditor(world, session, client, auth):
    q, villages, rows = world
    auth.login("auditor")
    for url in (f"/questionnaires/{q.id}/answers", f"/questionnaires/{q.id}/answers?village={villages[0].id}&channel=paper",
                f"/questionnaires/{q.id}/comments?q=路灯", f"/questionnaires/{q.id}/responses?sort=-village&page=1",
                f"/responses/{rows[0].id}", f"/questionnaires/{q.id}/share", "/help/glossary",
                f"/questionnaires/{q.id}/progress", "/account/password"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        text = resp.get_data(as_text=True)
        assert "None" not in text and "Traceback" not in text, url
    html = client.get(f"/questionnaires/{q.id}/answers").get_data(as_text=True)
    assert "60.0%" in html and "n=5" in html and "/help/glossary#ci" in html
    assert client.get(f"/questionnaires/{q.id}/answers?date_from=abc").status_code == 200
    assert client.post(f"/questionnaires/{q.id}/responses/exclude", data={"ids": [rows[0].id], "reason": "x"}).status_code == 403


def test_bulk_exclusion_all_or_nothing(world, session, client, auth):
    q, _, rows = world
    auth.login("staff")
    client.post(f"/questionnaires/{q.id}/responses/exclude", data={"ids": [rows[0].id, rows[1].id], "reason": ""})
    assert not svc.excluded_ids(session, [rows[0].id, rows[1].id])
    client.post(f"/questionnaires/{q.id}/responses/exclude", data={"ids": [rows[0].id, rows[1].id], "reason": "同一人两份"})
    assert set(svc.excluded_ids(session, [rows[0].id, rows[1].id])) == {rows[0].id, rows[1].id}
    listing = client.get(f"/questionnaires/{q.id}/responses?excluded=yes").get_data(as_text=True)
    assert rows[0].receipt in listing and rows[2].receipt not in listing


def test_exports_over_http(world, client, auth):
    q, _, rows = world
    auth.login("auditor")
    resp = client.get(f"/questionnaires/{q.id}/export.csv")
    assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf") and rows[0].receipt.encode() in resp.data
    resp = client.get(f"/questionnaires/{q.id}/export.xlsx?codes=0")
    assert openpyxl.load_workbook(io.BytesIO(resp.data)).sheetnames == ["答卷"]
    assert client.get(f"/questionnaires/{q.id}/export.pdf").status_code == 404


def test_schedule_pages(published, session, client):
    from survey_app.models import Link, LinkKind
    q = published["村干部工资"]
    link = session.scalar(select(Link).where(Link.questionnaire_id == q.id, Link.kind == LinkKind.POSTER))
    now = dt.datetime.now(dt.UTC)
    q.opens_at = now + dt.timedelta(days=2)
    session.commit()
    html = client.get(f"/R/{link.token}").get_data(as_text=True)
    assert "问卷尚未开始" in html and "将于" in html
    q.opens_at, q.closes_at = now - dt.timedelta(days=3), now - dt.timedelta(days=1)
    session.commit()
    html = client.get(f"/R/{link.token}").get_data(as_text=True)
    local = q.closes_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert "问卷已结束" in html and local in html
    q.closes_at, q.target_valid = None, 2
    session.commit()
    assert client.get(f"/R/{link.token}").status_code == 200
    for sat in ("满意", "不了解", "满意"):
        _add(session, q, None, Channel.PAPER, sat, "", "其他", "")
    session.commit()
    assert "收满计划的答卷数" in client.get(f"/R/{link.token}").get_data(as_text=True)


def test_schedule_form(published, session, client, auth):
    q = published["村干部工资"]
    auth.login("staff")
    client.post(f"/questionnaires/{q.id}/schedule", data={"opens_at": "2024-05-01T08:00", "closes_at": "2024-04-01T08:00"})
    session.refresh(q)
    assert q.opens_at is None
    client.post(f"/questionnaires/{q.id}/schedule", data={"opens_at": "2024-05-01T08:00", "closes_at": "2024-06-01T18:00",
                                                        "target_valid": "150"})
    session.refresh(q)
    assert q.target_valid == 150 and q.opens_at.astimezone(dt.UTC).hour == 0
    assert "2024-06-01 18:00" in client.get(f"/questionnaires/{q.id}/progress").get_data(as_text=True)


def test_share_images(published, session, client, auth):
    from survey_app.models import Link, LinkKind
    q = published["村干部工资"]
    link = session.scalar(select(Link).where(Link.questionnaire_id == q.id, Link.kind == LinkKind.POSTER,
                                             Link.village_id.is_not(None)))
    auth.login("staff")
    svg = client.get(f"/links/{link.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and link.village.name in svg.get_data(as_text=True)
    assert q.indicator.project.name in svg.get_data(as_text=True)
    png = client.get(f"/links/{link.id}/qr.png")
    assert png.data.startswith(b"\x89PNG")
    from PIL import Image
    image = Image.open(io.BytesIO(png.data))
    assert image.height > image.width * 0.9  # the caption is drawn under the code
    page = client.get(f"/questionnaires/{q.id}/share").get_data(as_text=True)
    assert link.token in page and "readonly" in page and "复制链接" in page


def test_change_own_password(users, client, auth, session):
    auth.login("auditor")
    resp = client.post("/account/password", data={"current": "wrong", "new": "a new long password", "again": "a new long password"})
    assert "当前密码不正确" in resp.get_data(as_text=True)
    client.post("/account/password", data={"current": "correct horse battery", "new": "a new long password",
                                           "again": "a new long password"})
    auth.logout()
    assert auth.login("auditor", "a new long password").status_code == 302
    auth.logout()
    auth.login("admin")
    assert "最近登录" in client.get("/users").get_data(as_text=True)


def test_village_template(users, client, auth):
    auth.login("staff")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/help/templates/villages.xlsx").data))
    assert [c.value for c in book["村庄名单"][1]] == ["村名", "村民人数", "村干部人数", "编码"]


def test_long_lists_paginate_search_and_sort(published, session, client, auth):
    from survey_app.models import Link, LinkKind
    from survey_app.services.paging import Page
    q = published["村干部工资"]
    auth.login("staff")
    total_cards = session.query(Link).filter(Link.questionnaire_id == q.id, Link.kind == LinkKind.CARD).count()
    assert total_cards > 20
    html = client.get(f"/questionnaires/{q.id}/cards?per_page=10&page=2").get_data(as_text=True)
    assert f"共 {total_cards} 条，第 11–20 条" in html and "下一页" in html and "上一页" in html
    html = client.get(f"/questionnaires/{q.id}/cards?card_no=1&sort=-village").get_data(as_text=True)
    assert html.count("<td class=\"num\">1</td>") >= 1 and "<td class=\"num\">2</td>" not in html
    assert client.get(f"/questionnaires/{q.id}/cards?page=abc&sort=nonsense").status_code == 200
    html = client.get("/projects?q=村干部").get_data(as_text=True)
    assert "村干部工资" in html and "村办公经费" not in html
    auth.logout()
    auth.login("admin")
    html = client.get("/audit/log?q=login&per_page=10").get_data(as_text=True)
    assert "login" in html and "publish_questionnaire" not in html
    assert Page([], 7, 10, 200).window() == [1, None, 5, 6, 7, 8, 9, None, 20]


def test_progress_counts_a_corrected_form_once(world, session, client, auth):
    q, _, rows = world
    old = rows[2]
    correct(session, old, Answers({**old.answers, "satisfaction": "满意"}, "满意", old.comment, old.village_id),
            "录入错误", actor="staff")
    session.commit()
    auth.login("auditor")
    html = client.get(f"/questionnaires/{q.id}/progress").get_data(as_text=True)
    assert "有效答卷 5 份，满意 4 份" in html  # the corrected form counts once, in its latest version
    listing = client.get(f"/questionnaires/{q.id}/responses").get_data(as_text=True)
    assert old.receipt not in listing and "更正版" in listing


def test_own_password_change_ends_other_sessions(app, users, auth):
    other = app.test_client()
    other.post("/auth/login", data={"username": "staff", "password": "correct horse battery"})
    assert other.get("/projects").status_code == 200
    auth.login("staff")
    auth.client.post("/account/password", data={"current": "correct horse battery", "new": "another long password",
                                                "again": "another long password"})
    assert auth.client.get("/projects").status_code == 200  # this session goes on
    assert other.get("/projects").status_code == 302  # the other device is logged out
