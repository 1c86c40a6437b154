"""Honest samples in the app: frames, the seeded draw, cards on drawn positions, dispositions, the assessment."""

import pytest
from sqlalchemy import select

from analysis import draw_sample
from survey_app.models import AuditEvent, Channel, Link
from survey_app.services import sampling
from survey_app.services.collection import Answers, new_submission_key, submit
from survey_app.services.results import compute
from survey_app.services.sampling import SamplingError
from tests.test_results import add_responses


@pytest.fixture
def cadres(published):
    return published["村干部工资"]


def _villages(q):
    return list(q.indicator.project.unit.villages)


def _drawn(session, q, sizes=(5, 4), frames=(40, 30), number="507"):
    villages = _villages(q)[:len(frames)]
    for village, frame in zip(villages, frames, strict=True):
        sampling.set_frame(session, q, village, frame, actor="t", description="花名册")
    sampling.declare_draw(session, q, "体彩排列三 2026-11-30", {v.id: s for v, s in zip(villages, sizes, strict=True)}, actor="t")
    cards = sampling.perform_draw(session, q, number, actor="t")
    session.commit()
    return villages, cards


def _answer(session, q, card, choice):
    submit(session, link=card, version=q.current_version,
           answers=Answers({"satisfaction": choice}, choice, "", card.village_id),
           submission_key=new_submission_key(), channel=Channel.CARD, entered_by="")
    session.commit()


def test_draw_issues_cards_exactly_on_the_drawn_positions(session, cadres):
    villages, cards = _drawn(session, cadres)
    draw = sampling.draw_of(session, cadres)
    assert draw.seed == f"{draw.chain_root}|体彩排列三 2026-11-30|507" and len(draw.chain_root) == 64
    expected = draw_sample(draw.seed, {villages[0].name: 40, villages[1].name: 30},
                           {villages[0].name: 5, villages[1].name: 4})
    for village in villages:
        got = sorted(c.position for c in cards if c.village_id == village.id)
        assert got == sorted(expected[village.name].sample)
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["sample_declare", "sample_draw"] or "sample_draw" in actions
    assert sampling.issued_problems(session, cadres) == []


def test_frames_are_locked_and_the_draw_cannot_be_repeated(session, cadres):
    villages, _ = _drawn(session, cadres)
    with pytest.raises(SamplingError, match="锁定|不能再修改"):
        sampling.set_frame(session, cadres, villages[0], 50, actor="t")
    with pytest.raises(SamplingError, match="重抽"):
        sampling.perform_draw(session, cadres, "999", actor="t")
    with pytest.raises(SamplingError, match="重复登记"):
        sampling.declare_draw(session, cadres, "x", {villages[0].id: 1}, actor="t")


def test_declare_refuses_bad_sizes_and_missing_lottery(session, cadres):
    village = _villages(cadres)[0]
    sampling.set_frame(session, cadres, village, 10, actor="t")
    with pytest.raises(SamplingError, match="1–10"):
        sampling.declare_draw(session, cadres, "体彩", {village.id: 11}, actor="t")
    with pytest.raises(SamplingError, match="公开号码"):
        sampling.declare_draw(session, cadres, "  ", {village.id: 2}, actor="t")
    with pytest.raises(SamplingError, match="先登记"):
        sampling.perform_draw(session, cadres, "1", actor="t")
    sampling.set_frame(session, cadres, village, 900_000, actor="t")
    with pytest.raises(SamplingError, match="最多抽取 5000"):
        sampling.declare_draw(session, cadres, "体彩", {village.id: 5001}, actor="t")


def test_a_card_moved_off_the_draw_is_reported(session, cadres):
    villages, cards = _drawn(session, cadres)
    vd = sampling.village_draw(session, cadres, villages[0].id)
    card = next(c for c in cards if c.village_id == villages[0].id)
    card.position = next(p for p in range(1, 41) if p not in vd.sample and p not in vd.reserves[:10])
    session.commit()
    assert any("不是抽中的位置" in p for p in sampling.issued_problems(session, cadres))


def test_replacement_only_for_not_eligible_and_in_reserve_order(session, cadres):
    villages, cards = _drawn(session, cadres)
    card = next(c for c in cards if c.village_id == villages[0].id)
    with pytest.raises(SamplingError, match="不能替换"):
        sampling.replace_card(session, card, actor="t")
    sampling.set_dispositions(session, cadres, {card.id: ("not_eligible", 1)}, actor="t")
    new = sampling.replace_card(session, card, actor="t")
    vd = sampling.village_draw(session, cadres, villages[0].id)
    assert new.position == vd.reserves[0] and new.replaces_id == card.id
    with pytest.raises(SamplingError, match="已经替补"):
        sampling.replace_card(session, card, actor="t")
    session.commit()
    assert sampling.issued_problems(session, cadres) == []


def test_dispositions_and_the_random_sample_assessment(session, cadres):
    villages, cards = _drawn(session, cadres, sizes=(5, 4))
    for card in cards[:6]:
        _answer(session, cadres, card, "满意")
    refused, absent, empty = cards[6], cards[7], cards[8]
    changed = sampling.set_dispositions(session, cadres, {refused.id: ("refused", 1), absent.id: ("non_contact", 3),
                                                          cards[0].id: ("refused", None)}, actor="t")
    session.commit()
    assert changed == 2  # the answered card keeps "completed"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "sample_dispositions")).one()
    assert {c["to"] for c in event.details["changes"]} == {"refused", "non_contact"}
    add_responses(session, cadres, [(villages[0], 3, 0, 0)], channel=Channel.POSTER)  # self-selected extras
    result = compute(session, cadres)
    a = sampling.design_assessment(session, cadres, result)
    assert a.design_kind == "random_sample" and (a.drawn, a.respondents, a.satisfied) == (9, 6, 6)
    assert a.response_rate == pytest.approx(6 / 9)  # RR1 with the last card unknown
    assert a.aapor["counts"]["U"] == 1 and a.aapor["counts"]["R"] == 1 and a.aapor["counts"]["NC"] == 1
    assert a.bounds["worst"]["rate"] == pytest.approx(6 / 9) and a.bounds["best"]["rate"] == 1.0
    assert a.robust_verdict == "inconclusive"  # 9 of 9 drawn from 70 cannot support 95% either
    assert a.other_answers == 3 and not a.pooled and any("没有并入" in line for line in a.lines)
    assert empty.disposition is None


def test_poster_answers_are_self_selected_with_bounds(session, cadres):
    villages = _villages(cadres)
    add_responses(session, cadres, [(villages[0], 80, 2, 0), (villages[1], 66, 2, 0)], channel=Channel.POSTER)
    result = compute(session, cadres)
    a = sampling.design_assessment(session, cadres, result)
    assert a.design_kind == "self_selected"
    assert a.bounds["worst"]["rate"] == pytest.approx(146 / 197) and a.bounds["best"]["rate"] == pytest.approx(193 / 197)
    assert a.robust_verdict == "inconclusive"
    text = "".join(a.lines)
    assert "前提" in text and "146" not in text.split("若其余")[0][-3:]
    assert "随机抽样" in a.advice


def test_numbered_list_upload_refuses_names():
    assert sampling.parse_numbered_list(b"1\n2\n3\n")[0] == 3
    with pytest.raises(SamplingError, match="第 2 行"):
        sampling.parse_numbered_list("1\n张三\n".encode())
    with pytest.raises(SamplingError, match="UTF-8"):
        sampling.parse_numbered_list(b"\xff\xfe1")


def test_pages_frame_declare_draw_visit_list(client, auth, session, cadres):
    auth.login("staff")
    villages = _villages(cadres)[:2]
    url = f"/questionnaires/{cadres.id}/sampling"
    page = client.get(url)
    assert page.status_code == 200 and "各村名单人数" in page.get_data(as_text=True)
    token = _csrf(page)
    data = {"csrf_token": token, "action": "frames", f"frame-{villages[0].id}": "40", f"frame-{villages[1].id}": "3x"}
    bad = client.post(url, data=data, follow_redirects=True)
    assert "必须是整数" in bad.get_data(as_text=True) and not sampling.frames_of(session, cadres)
    data[f"frame-{villages[1].id}"] = "30"
    assert client.post(url, data=data).status_code == 302
    client.post(url, data={"csrf_token": token, "action": "declare", "lottery": "体彩排列三 2026-11-30",
                           f"size-{villages[0].id}": "5", f"size-{villages[1].id}": "4"})
    done = client.post(url, data={"csrf_token": token, "action": "draw", "number": "507"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "已抽取" in text and "python -m analysis draw --seed" in text
    visit = client.get(f"{url}/villages/{villages[0].id}")
    body = visit.get_data(as_text=True)
    assert visit.status_code == 200 and "名单编号" in body and "None" not in body
    card = session.scalars(select(Link).where(Link.village_id == villages[0].id, Link.position.is_not(None))).first()
    saved = client.post(f"{url}/villages/{villages[0].id}",
                        data={"csrf_token": token, f"disp-{card.id}": "not_eligible", f"visits-{card.id}": "2"},
                        follow_redirects=True)
    assert "已保存 1 张" in saved.get_data(as_text=True)
    replaced = client.post(f"/links/{card.id}/replace", data={"csrf_token": token}, follow_redirects=True)
    assert "按替补顺序发放卡片" in replaced.get_data(as_text=True)
    printed = client.get(f"{url}/villages/{villages[0].id}?print=1").get_data(as_text=True)
    assert "□完成" in printed


def _csrf(page):
    import re

    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    return found.group(1) if found else ""  # CSRF is off in tests unless a test turns it on


def test_results_json_page_footnote_and_bundle_carry_the_design(session, cli, client, auth, cadres, tmp_path):
    import io
    import json
    import zipfile

    from survey_app.services.integrity import bundle
    from survey_app.services.selfeval import build_table
    from survey_app.services.writeback import writeback

    villages = _villages(cadres)
    add_responses(session, cadres, [(villages[0], 80, 2, 0), (villages[1], 66, 2, 0)], channel=Channel.POSTER)
    data = json.loads(cli("results", "--json").output)
    row = next(r for r in data if r["questionnaire_id"] == cadres.id)
    assert row["design_kind"] == "self_selected" and row["robust_verdict"] == "inconclusive"
    assert row["bounds"]["worst"]["rate"] == pytest.approx(146 / 197) and row["response_rate"] == pytest.approx(150 / 197)
    assert row["verdict"]["verdict"] == "supported"  # the usual figure is still there, now with its assumption
    auth.login("staff")
    page = client.get("/results").get_data(as_text=True)
    assert "以作答者能代表全体为前提" in page and "稳健结论" in page
    detail = client.get(f"/questionnaires/{cadres.id}/results").get_data(as_text=True)
    assert "未答者全部不满意（最坏情况）" in detail and "74.1%" in detail and "None" not in detail
    auth.login("auditor")
    evidence = client.get(f"/audit/questionnaires/{cadres.id}").get_data(as_text=True)
    assert "抽样设计与无应答" in evidence
    writeback(session, cadres.indicator, actor="t")
    session.commit()
    table = build_table(session, cadres.indicator.project)
    assert any("自愿作答" in note and "74.1%" in note and "尚无定论" in note for note in table.footnotes)
    archive = zipfile.ZipFile(io.BytesIO(bundle(session, actor="t")))
    sampled = json.loads(archive.read("sampling.json"))
    assert any(d["design_kind"] == "self_selected" for d in sampled["designs"])


def _rewrite(path, out, change):
    import json
    import zipfile

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "sampling.json":
                doc = json.loads(data)
                change(doc)
                data = json.dumps(doc, ensure_ascii=False).encode()
            dst.writestr(name, data)
    return str(out)


def test_offline_verify_recomputes_draws_and_catches_tampering(session, cadres, tmp_path):
    from analysis.verify import verify_bundle
    from survey_app.services.integrity import bundle

    villages, cards = _drawn(session, cadres)
    sampling.set_dispositions(session, cadres, {cards[0].id: ("not_eligible", 1)}, actor="t")
    sampling.replace_card(session, cards[0], actor="t")
    _answer(session, cadres, cards[1], "满意")
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle(session, actor="t"))
    session.commit()
    report = verify_bundle(str(path))
    assert report.ok, (report.problems, report.differences)

    def move_card(doc):
        draw = doc["draws"][0]
        village = draw["frames"][0]
        card = next(c for c in draw["cards"] if c["village"] == village["village"] and not c["replaces_card_no"])
        taken = {c["position"] for c in draw["cards"]}
        card["position"] = next(p for p in range(1, village["frame"] + 1) if p not in taken)

    moved = verify_bundle(_rewrite(path, tmp_path / "moved.zip", move_card))
    assert not moved.ok and any("这个位置没有被抽中" in d for d in moved.differences)

    def change_seed(doc):
        draw = doc["draws"][0]
        draw["public_number"] = "508"
        draw["seed"] = f"{draw['chain_root']}|{draw['lottery']}|508"

    reseeded = verify_bundle(_rewrite(path, tmp_path / "seed.zip", change_seed))
    assert not reseeded.ok and any("种子被改动" in d for d in reseeded.differences)

    def change_frame(doc):
        doc["draws"][0]["frames"][0]["frame"] += 1

    reframed = verify_bundle(_rewrite(path, tmp_path / "frame.zip", change_frame))
    assert any("名单人数或抽取数量" in d for d in reframed.differences)


def test_demo_shows_a_random_sample_next_to_poster_answers(published, session, client, auth):
    from survey_app.models import Unit
    from survey_app.services.demo import RANDOM_SAMPLE_PROJECT, simulate

    simulate(session, session.scalar(select(Unit)))
    session.commit()
    drawn_q, poster_q = published[RANDOM_SAMPLE_PROJECT], published["村干部工资"]
    drawn = sampling.design_assessment(session, drawn_q, compute(session, drawn_q, simulated=True))
    poster = sampling.design_assessment(session, poster_q, compute(session, poster_q, simulated=True))
    assert drawn.design_kind == "random_sample" and drawn.robust_verdict == "supported"
    assert drawn.drawn == 140 and drawn.respondents == 139 and drawn.aapor["counts"]["NE"] == 2
    assert poster.design_kind == "self_selected" and poster.robust_verdict == "inconclusive"
    assert sampling.issued_problems(session, drawn_q) == []
    real = sampling.design_assessment(session, drawn_q, compute(session, drawn_q))
    assert real.respondents == 0  # simulated card answers never count as real ones
    auth.login("staff")
    drawn_page = client.get(f"/questionnaires/{drawn_q.id}/results?simulated=1").get_data(as_text=True)
    poster_page = client.get(f"/questionnaires/{poster_q.id}/results?simulated=1").get_data(as_text=True)
    assert "按名单随机抽样" in drawn_page and "自愿作答" in poster_page


def test_planner_allocates_cards_in_proportion_to_rosters(session, cadres, client, auth):
    villages = _villages(cadres)[:3]
    for village, size in zip(villages, (400, 300, 300), strict=True):
        sampling.set_frame(session, cadres, village, size, actor="t")
    session.commit()
    allocation = sampling.plan_allocation(session, cadres, 0.99, 0.99)
    assert sum(allocation.sizes.values()) == allocation.plan.cards
    assert allocation.sizes[villages[0].id] >= allocation.sizes[villages[1].id]
    hopeless = sampling.plan_allocation(session, cadres, 0.98, 0.9)
    assert not hopeless.sizes and "应答率至少要达到" in hopeless.message
    auth.login("staff")
    page = client.get(f"/questionnaires/{cadres.id}/sampling?expected=99&response=99").get_data(as_text=True)
    assert f'value="{allocation.sizes[villages[0].id]}"' in page and "需抽取" in page


def test_the_printed_command_recomputes_the_card_positions(session, cadres, capsys):
    import json
    import shlex

    from analysis.cli import main

    villages, cards = _drawn(session, cadres)
    command = sampling.check_command(sampling.draw_of(session, cadres))
    args = shlex.split(command)
    assert args[:3] == ["python", "-m", "analysis"]
    assert main([*args[3:], "--json"]) == 0
    recomputed = json.loads(capsys.readouterr().out)["villages"]
    for village in villages:
        assert sorted(recomputed[village.name]["sample"]) == sorted(c.position for c in cards
                                                                    if c.village_id == village.id)


def test_results_page_reads_draws_cards_and_answers_once_for_all_indicators(published, session, client, auth):
    from sqlalchemy import event

    from survey_app.services.results import compute_all

    drawn = [published["村干部工资"], published["村办公经费"]]
    for q in drawn:
        _, cards = _drawn(session, q)
        for card, choice in zip(cards[:3], ["满意", "非常满意", "不满意"], strict=True):
            _answer(session, q, card, choice)
    sampling.set_pool_posters(session, drawn[1], True, actor="t")
    for q in published.values():
        add_responses(session, q, [(_villages(q)[0], 4, 1, 0)])
    results = compute_all(session)
    batch = sampling.design_assessments(session, results)
    assert [a.design_kind for a in batch[:2]] != ["self_selected"] * 2 and any(a.pooled for a in batch)
    assert [a.as_dict() for a in batch] == [sampling.design_assessment(session, r.questionnaire, r).as_dict()
                                            for r in results]
    auth.login("auditor")
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/results")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert page.status_code == 200 and "按名单随机抽样" in page.get_data(as_text=True)
    assert sum(s.startswith("SELECT sample_draws.id") for s in statements) == 1  # not one per indicator
    assert sum(s.startswith("SELECT links.") for s in statements) == 1
    assert sum(s.startswith("SELECT responses.card_id, responses.satisfaction") for s in statements) == 1
