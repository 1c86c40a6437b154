"""Results on the seed: the worked figures, designs, exclusions, write-back, exports."""

import io
import json

import docx
import openpyxl
import pytest
from sqlalchemy import func, select

from survey_app.models import Measurement, Response
from survey_app.services.exclusions import ExclusionError, exclude, revert_exclusion
from survey_app.services.results import compute
from survey_app.services.selfeval import build_table
from survey_app.services.selfeval_export import export_docx, export_xlsx
from survey_app.services.writeback import writeback
from tests.factories import add_responses, exclude_all


@pytest.fixture
def villages(published):
    q = published["村干部工资"]
    return list(q.indicator.project.unit.villages)


def test_150_of_197_village_cadres_supported(published, villages, session):
    q = published["村干部工资"]
    add_responses(session, q, [(villages[0], 80, 2, 0), (villages[1], 66, 2, 0)])
    r = compute(session, q)
    assert (r.valid_n, r.successes, r.population, r.design) == (150, 146, 197, "finite")
    assert r.verdict.verdict == "supported" and r.verdict.method == "exact_hypergeometric"
    assert r.verdict.lower == pytest.approx(189 / 197) and round(r.verdict.lower, 6) == 0.959391
    assert (r.lower, r.upper) == pytest.approx((188 / 197, 193 / 197))
    assert r.actual_value == "97.3%" and r.versions == [1]
    assert r.channels["paper"] == 150 and r.counts["非常满意"] + r.counts["满意"] == 146


def test_census_30_of_31(published, villages, session):
    q = published["自收自支人员补助"]
    add_responses(session, q, [(villages[0], 30, 1, 0)])
    r = compute(session, q)
    assert r.design == "census" and (r.lower, r.upper) == pytest.approx((30 / 31, 30 / 31))
    assert r.verdict.verdict == "supported"


def test_inconclusive_with_responses_still_needed(published, villages, session):
    q = published["村办公经费"]  # villagers of 34 villages: number of persons unknown
    add_responses(session, q, [(villages[0], 146, 4, 3)])
    r = compute(session, q)
    assert r.design == "unknown" and r.population is None and r.dont_know == 3 and r.valid_n == 150
    assert r.display_method == "wilson"
    assert r.verdict.verdict == "inconclusive" and r.verdict.method == "clopper_pearson"
    assert round(r.verdict.lower, 6) == 0.940019 and r.verdict.more_needed == 84


def test_stratified_by_village(published, villages, session):
    q = published["村办公经费"]
    for n, village in enumerate(villages):
        village.population = (1200, 800, 500)[n] if n < 3 else 100
    session.commit()
    add_responses(session, q, [(villages[0], 58, 2, 0), (villages[1], 37, 3, 0), (villages[2], 49, 1, 0)])
    r = compute(session, q)
    assert r.design == "stratified" and r.display_method == "wilson"
    assert r.value == pytest.approx(1200 / 2500 * 58 / 60 + 800 / 2500 * 37 / 40 + 500 / 2500 * 49 / 50)
    # the research note's S1 has the same strata; the other 31 villages have no answers, so W_h uses 2,500
    assert (r.lower, r.upper) == pytest.approx((0.907485, 0.979644), abs=1e-6)
    assert r.verdict.method == "exact_bonferroni"
    assert any("没有有效答卷" in note for note in r.notes)
    rows = {v.name: v for v in r.villages}
    assert rows[villages[0].name].method == "exact_hypergeometric" and rows[villages[0].name].n == 60


def test_exclusion_flow(published, villages, session, client, auth):
    q = published["村干部工资"]
    add_responses(session, q, [(villages[0], 9, 1, 0)])
    target = session.scalar(select(Response).where(Response.satisfaction == "不满意"))
    with pytest.raises(ExclusionError, match="理由"):
        exclude(session, target, "  ", actor="staff")
    record = exclude(session, target, "同一人重复填写（核实）", actor="staff")
    session.commit()
    r = compute(session, q)
    assert (r.valid_n, r.excluded, r.successes) == (9, 1, 9)
    with pytest.raises(ExclusionError, match="已被排除"):
        exclude(session, target, "again", actor="staff")
    revert_exclusion(session, record, "核实后确认不是重复", actor="admin")
    session.commit()
    r = compute(session, q)
    assert (r.valid_n, r.excluded) == (10, 0)
    assert session.scalar(select(func.count(Response.id))) == 10  # nothing deleted
    auth.login("auditor")
    page = client.get(f"/questionnaires/{q.id}/results").get_data(as_text=True)
    assert "同一人重复填写（核实）" in page and "已撤销" in page and "核实后确认不是重复" in page


def test_exclusion_through_the_page(published, villages, session, client, auth):
    q = published["村干部工资"]
    add_responses(session, q, [(villages[0], 3, 0, 0)])
    receipt = session.scalar(select(Response.receipt))
    auth.login("staff")
    client.post(f"/questionnaires/{q.id}/exclusions", data={"receipt": receipt.lower(), "reason": ""})
    assert compute(session, q).excluded == 0  # no reason: refused
    client.post(f"/questionnaires/{q.id}/exclusions", data={"receipt": receipt, "reason": "测试填写"})
    assert compute(session, q).excluded == 1


def test_simulated_responses_stay_out_of_real_figures(published, villages, session, cli):
    from survey_app.models import Unit
    from survey_app.services.demo import simulate

    simulate(session, session.scalar(select(Unit)))
    session.commit()
    q = published["村干部工资"]
    assert compute(session, q).total == 0
    sim = compute(session, q, simulated=True)
    assert sim.valid_n == 150 and sim.verdict.verdict == "supported"
    real = json.loads(cli("results", "--json").output)
    assert all(item["responses"] == 0 and not item["simulated"] for item in real)
    from survey_app.services.writeback import WritebackError

    with pytest.raises(WritebackError, match="还没有有效答卷"):
        writeback(session, q.indicator, actor="t")


def test_writeback_history_and_project_page(published, villages, session, client, auth, cli):
    q = published["村干部工资"]
    add_responses(session, q, [(villages[0], 100, 2, 0)])
    first = writeback(session, q.indicator, actor="staff")
    session.commit()
    add_responses(session, q, [(villages[1], 46, 2, 0)])
    result = cli("writeback", "--project", q.indicator.project.code)
    assert result.exit_code == 0 and "实际完成值 97.3%" in result.output
    history = session.scalars(select(Measurement).order_by(Measurement.id)).all()
    assert [m.actual_value for m in history] == [first.actual_value, "97.3%"]
    latest = history[-1]
    assert (latest.n, latest.population, latest.verdict, latest.versions) == (150, 197, "supported", [1])
    assert latest.method.startswith("exact_hypergeometric") and latest.confidence == 0.95
    auth.login("staff")
    page = client.get(f"/projects/{q.indicator.project_id}").get_data(as_text=True)
    assert "≥95% / <strong>97.3%</strong>" in page
    detail = client.get(f"/questionnaires/{q.id}/results").get_data(as_text=True)
    assert detail.count("<td>staff</td>") + detail.count("<td>cli</td>") == 2 and "<svg" in detail


def test_results_json_cli(published, villages, session, cli):
    q = published["自收自支人员补助"]
    add_responses(session, q, [(villages[0], 30, 1, 0)])
    data = json.loads(cli("results", "--project", q.indicator.project.code, "--json").output)
    assert len(data) == 1
    item = data[0]
    assert item["design"] == "census" and item["valid_n"] == 31 and item["verdict"]["verdict"] == "supported"
    assert item["method"]["rate"] == "top2" and item["interval"]["confidence"] == 0.95
    assert item["channels"] == {"poster": 0, "card": 0, "paper": 31, "interview": 0}


# -- self-evaluation exports ----------------------------------------------------------------


@pytest.fixture
def evaluated(published, villages, session):
    from decimal import Decimal

    from survey_app.services.selfeval import save_entries

    q = published["村干部工资"]
    add_responses(session, q, [(villages[0], 80, 2, 0), (villages[1], 66, 2, 0)])
    writeback(session, q.indicator, actor="staff")
    project = q.indicator.project
    ids = [i.id for i in project.indicators]
    save_entries(session, project, actor="staff", initial=Decimal("411.56"), full_year=Decimal("411.56"),
                 executed=Decimal("400.00"), outcome="工资按月足额发放", weights={"产出指标": 50, "效益指标": 30,
                                                                         "满意度指标": 10, "预算执行率": 10},
                 actuals={ids[0]: ("197人", None, ""), ids[1]: ("98%", None, "个别月份延迟"),
                          ids[2]: ("达成年度指标", None, ""), ids[3]: ("411.56万元", None, ""),
                          ids[4]: ("部分达成年度指标并具有一定效果", 12.0, "待改进"), ids[5]: ("达成年度指标", None, "")})
    session.commit()
    return project


def test_self_evaluation_table_scores(evaluated, session):
    table = build_table(session, evaluated)
    assert [r.points for r in table.rows] == [12.5, 12.5, 12.5, 12.5, 15.0, 15.0, 10.0]
    assert [r.score for r in table.rows] == [12.5, 12.25, 12.5, 12.5, 12.0, 15.0, 10.0]
    assert table.execution_rate == pytest.approx(400 / 411.56) and table.budget_score == 9.72
    assert table.total == 96.47 and table.total_points == 100
    sat = table.rows[-1]
    assert sat.actual == "97.3%" and sat.note == "①"
    note = table.footnotes[0]
    assert "有效答卷 150 份" in note and "总体 197 人" in note and "95.4%–98.0%" in note
    # plain Chinese, never contradicting itself (issue 16)
    assert "总体人数未知" not in note and not any(w in note for w in ("wilson", "clopper", "verdict", "exact"))


def test_xlsx_export_cell_by_cell(evaluated, session, client, auth):
    auth.login("auditor")
    response = client.get(f"/projects/{evaluated.id}/self-evaluation.xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert ws["A1"].value == "项目支出绩效自评表（2024年度）"
    assert (ws["A2"].value, ws["B2"].value, ws["E2"].value, ws["F2"].value) == (
        "项目名称", "村干部工资", "项目编码", "13043425P004424100750")
    # 主管部门 is staff-entered (not in the target table); 实施单位 is the unit
    assert (ws["A3"].value, ws["B3"].value, ws["F3"].value) == ("主管部门", None, "魏县张二庄镇人民政府本级")
    assert [ws.cell(4, c).value for c in range(1, 8)] == ["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数",
                                                          "分值", "执行率", "得分"]
    # budget figures are numbers, formatted in the cell
    assert [ws.cell(5, c).value for c in range(1, 8)] == ["年度资金总额", 411.56, 411.56, 400.0, 10,
                                                          pytest.approx(400 / 411.56), 9.72]
    assert ws.cell(5, 2).number_format == "0.00" and ws.cell(5, 6).number_format == "0.00%"
    assert [ws.cell(7, c).value for c in range(1, 9)] == ["一级指标", "二级指标", "三级指标", "年度指标值",
                                                          "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
    assert [ws.cell(8, c).value for c in range(1, 8)] == ["产出指标", "数量指标", "村干部工资发放人数", "197人", "197人",
                                                          12.5, 12.5]
    assert [ws.cell(9, c).value for c in (5, 7, 8)] == ["98%", 12.25, "个别月份延迟"]
    assert [ws.cell(14, c).value for c in range(1, 8)] == ["满意度指标", "服务对象满意度指标", "群众满意度①", "≥95%",
                                                           "97.3%", 10, 10]
    assert (ws.cell(15, 1).value, ws.cell(15, 6).value, ws.cell(15, 7).value) == ("总分", 100, 96.47)
    assert ws.cell(16, 1).value.startswith("① 群众满意度：问卷调查，满意率 97.3%：有效答卷 150 份")
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:H1", "A8:A11", "A12:A13", "A15:E15"} <= merged
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.fitToWidth == 1
    assert ws["A8"].font.name == "宋体"


def test_docx_export_cell_by_cell(evaluated, session):
    document = docx.Document(io.BytesIO(export_docx(build_table(session, evaluated))))
    assert document.paragraphs[0].text == "项目支出绩效自评表（2024年度）"
    table = document.tables[0]
    assert table.cell(0, 1).text == "村干部工资" and table.cell(0, 5).text == "13043425P004424100750"
    assert [table.cell(3, c).text for c in range(7)] == ["年度资金总额", "411.56", "411.56", "400.00", "10", "97.19%",
                                                         "9.72"]
    assert [table.cell(12, c).text for c in range(8)] == ["满意度指标", "服务对象满意度指标", "群众满意度①", "≥95%", "97.3%",
                                                          "10", "10", ""]
    assert table.cell(6, 0).text == "产出指标" and table.cell(9, 0)._tc is table.cell(6, 0)._tc  # merged level 1
    assert table.cell(13, 0).text == "总分" and table.cell(13, 6).text == "96.47"
    assert document.paragraphs[-1].text.startswith("① 群众满意度：问卷调查")
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297


def test_unit_workbook_one_sheet_per_project(evaluated, session):
    unit = evaluated.unit
    workbook = openpyxl.load_workbook(io.BytesIO(export_xlsx([build_table(session, p) for p in unit.projects])))
    assert sorted(workbook.sheetnames) == sorted(p.name for p in unit.projects)
    other = workbook["村办公经费"]
    assert other["B2"].value == "村办公经费" and other.cell(15, 7).value == "待评分"


def test_self_evaluation_page_saves_entries(published, session, client, auth):
    project = published["村办公经费"].indicator.project
    auth.login("staff")
    data = {"initial": "73.18", "full_year": "73.18", "executed": "73.18", "outcome": "已全部发放",
            f"actual_{project.indicators[0].id}": "34个"}
    assert client.post(f"/projects/{project.id}/self-evaluation", data=data).status_code == 302
    page = client.get(f"/projects/{project.id}/self-evaluation").get_data(as_text=True)
    assert "100.00%，得分 10.0 / 10.0" in page and 'value="34个"' in page
    bad = client.post(f"/projects/{project.id}/self-evaluation", data={"executed": "很多"}, follow_redirects=True)
    assert "全年执行数“很多”不是数字" in bad.get_data(as_text=True)


# -- issue 11: one figure everywhere ---------------------------------------------------------------


def test_progress_page_shows_the_same_figure_as_the_results_page_after_exclusions(client, auth, published,
                                                                                   villages, session):
    """After excluding 10 of 50 answers the results page shows 40/40; the progress page must too."""
    q = published["村办公经费"]
    add_responses(session, q, [(villages[0], 40, 10, 0)])
    assert exclude_all(session, q, "不满意", "测试：重复录入") == 10
    r = compute(session, q)
    assert (r.valid_n, r.successes, r.excluded) == (40, 40, 10) and r.actual_value == "100.0%"
    auth.login("auditor")
    progress = client.get(f"/questionnaires/{q.id}/progress").get_data(as_text=True)
    results = client.get(f"/questionnaires/{q.id}/results").get_data(as_text=True)
    assert "80.0%" not in progress
    assert r.figure.statement in progress and r.figure.statement in results


def test_figure_statement_is_plain_chinese_and_never_contradicts_itself(published, villages, session):
    q = published["村办公经费"]  # population unknown
    add_responses(session, q, [(villages[0], 11, 1, 0)])
    r = compute(session, q)
    text = r.figure.statement
    assert text.count("总体人数未知") == 1
    assert "再收 126 份" in text and "“未达标”" in text
    assert not any(word in text for word in ("wilson", "clopper", "Wilson", "Clopper", "inconclusive", "None"))
    q2 = published["村干部工资"]  # 197 cadres
    add_responses(session, q2, [(villages[0], 30, 0, 0)])
    text2 = compute(session, q2).figure.statement
    assert "总体 197 人" in text2 and "总体人数未知" not in text2
