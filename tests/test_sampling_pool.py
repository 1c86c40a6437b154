"""Poster and random-sample answers are not pooled unless staff switch it on (issue 13)."""

import io
import json
import zipfile

from sqlalchemy import update

from analysis.verify import verify_bundle
from survey_app.models import AuditEvent, Channel, Questionnaire
from survey_app.services import sampling
from survey_app.services.integrity import bundle
from survey_app.services.results import compute
from tests.test_results import add_responses
from tests.test_sampling_app import _answer, _drawn, cadres  # noqa: F401


def _setup(session, q):
    villages, cards = _drawn(session, q, sizes=(5, 4))
    for card in cards[:4]:
        _answer(session, q, card, "满意")
    _answer(session, q, cards[4], "不满意")
    add_responses(session, q, [(villages[0], 0, 7, 0)], channel=Channel.POSTER)  # 7 dissatisfied posters
    session.commit()
    return villages, cards


def _bundle(session, tmp_path, name="b.zip"):
    path = tmp_path / name
    path.write_bytes(bundle(session, actor="t"))
    session.commit()
    return path


def _verified(path):
    report = verify_bundle(str(path))
    assert report.ok, (report.problems, report.differences)


def _figure(path, q):
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    return next(f for f in manifest["figures"] if f["questionnaire_id"] == q.id)


def test_figure_uses_only_card_answers_unless_pooled(session, cadres, tmp_path):
    _setup(session, cadres)
    result = compute(session, cadres)
    assert (result.valid_n, result.successes) == (5, 4)
    assert result.left_out == 7 and not result.pooled
    a = sampling.design_assessment(session, cadres, result)
    assert a.design_kind == "random_sample" and a.other_answers == 7
    assert any("另有 7 份海报答卷未计入随机样本" in line for line in a.lines)
    path = _bundle(session, tmp_path)
    assert _figure(path, cadres)["valid_n"] == 5
    _verified(path)

    sampling.set_pool_posters(session, cadres, True, actor="t")
    session.commit()
    event = session.query(AuditEvent).filter_by(action="sample_pool_posters").one()
    assert event.details["pool_posters"] is True
    pooled = compute(session, cadres)
    assert (pooled.valid_n, pooled.successes) == (12, 4) and pooled.pooled and pooled.left_out == 0
    a = sampling.design_assessment(session, cadres, pooled)
    assert a.design_kind == "self_selected" and a.pooled
    assert any("合并" in line and "自愿作答" in line for line in a.lines)
    path2 = _bundle(session, tmp_path, "pooled.zip")
    assert _figure(path2, cadres)["valid_n"] == 12
    _verified(path2)


def test_switch_changed_behind_the_apps_back_is_detected(session, cadres, tmp_path):
    _setup(session, cadres)
    session.execute(update(Questionnaire).where(Questionnaire.id == cadres.id).values(pool_posters=True))
    session.commit()
    session.expire_all()
    assert compute(session, cadres).valid_n == 12
    path = _bundle(session, tmp_path)
    report = verify_bundle(str(path))
    assert not report.ok and any("合并海报答卷" in d for d in report.differences)


def test_offline_verify_recomputes_the_selection_from_raw_rows(session, cadres, tmp_path):
    _setup(session, cadres)
    path = _bundle(session, tmp_path)
    out = tmp_path / "forged.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "manifest.json":
                doc = json.loads(data)
                fig = next(f for f in doc["figures"] if f["questionnaire_id"] == cadres.id)
                fig["inputs"]["pool_posters"] = True  # claim pooling in the manifest only
                data = json.dumps(doc, ensure_ascii=False).encode()
            dst.writestr(name, data)
    report = verify_bundle(str(out))
    assert report.ok or not any("有效答卷数" in d for d in report.differences)  # selection is not read from inputs


def test_switch_page_and_label(client, auth, session, cadres):
    _setup(session, cadres)
    auth.login("staff")
    page = client.get(f"/questionnaires/{cadres.id}/sampling").get_data(as_text=True)
    assert "合并海报答卷" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post(f"/questionnaires/{cadres.id}/sampling/pool", data={"csrf_token": token, "pool": "1"})
    assert resp.status_code in (302, 303)
    session.expire_all()
    assert session.get(Questionnaire, cadres.id).pool_posters is True
    detail = client.get(f"/questionnaires/{cadres.id}/results").get_data(as_text=True)
    assert "合并" in detail and "None" not in detail
    auth.logout()
    auth.login("auditor")
    assert client.post(f"/questionnaires/{cadres.id}/sampling/pool", data={"pool": "0"}).status_code == 403


def test_footnote_and_results_json_say_what_was_counted(session, cli, cadres):
    from survey_app.services.selfeval import build_table
    from survey_app.services.writeback import writeback

    _setup(session, cadres)
    row = next(r for r in json.loads(cli("results", "--json").output) if r["questionnaire_id"] == cadres.id)
    assert row["valid_n"] == 5 and row["left_out"] == 7 and row["design_kind"] == "random_sample"
    writeback(session, cadres.indicator, actor="t")
    session.commit()
    notes = build_table(session, cadres.indicator.project).footnotes
    assert any("另有 7 份海报答卷未计入随机样本" in note for note in notes)
    sampling.set_pool_posters(session, cadres, True, actor="t")
    session.commit()
    row = next(r for r in json.loads(cli("results", "--json").output) if r["questionnaire_id"] == cadres.id)
    assert row["valid_n"] == 12 and row["pooled"] and row["design_kind"] == "self_selected"
    writeback(session, cadres.indicator, actor="t")
    session.commit()
    notes = build_table(session, cadres.indicator.project).footnotes
    assert any("合并计算" in note for note in notes)
