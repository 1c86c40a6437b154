"""The county overview (/county): every visible unit's satisfaction indicators with status, verdict,
rate, response rate and flags; sortable, filterable; admins and auditors only, auditors scoped."""

import re

import pytest
from sqlalchemy import select

from survey_app.models import Indicator, Project, Questionnaire, Unit
from tests.conftest import PASSWORD, SEED
from tests.factories import add_responses


def _questionnaires(session, unit) -> list[Questionnaire]:
    return list(session.scalars(select(Questionnaire).join(Indicator).join(Project)
                                .where(Project.unit_id == unit.id).order_by(Questionnaire.id)))


@pytest.fixture
def states(county, session, users):
    """Unit A: one indicator written back, one with a settled verdict, one with a few answers, one with none;
    unit C (929003): imported, no questionnaire at all."""
    from survey_app.services.importing import import_file
    from survey_app.services.writeback import writeback

    text = SEED.read_text(encoding="utf-8").replace("929001", "929003").replace("张二庄镇", "王五庄镇")
    import_file(session, text.encode("utf-8"), "王五庄镇.txt", actor="test", year=2024)
    a = _questionnaires(session, county["a"])
    add_responses(session, a[0], [(None, 30, 2, 0)])
    writeback(session, a[0].indicator, actor="test")
    add_responses(session, a[1], [(None, 0, 40, 0)])  # settled: far below any target
    add_responses(session, a[2], [(None, 3, 1, 0)])  # open verdict
    session.commit()
    c = session.scalar(select(Unit).where(Unit.code == "929003"))
    return {"written": a[0], "enough": a[1], "collecting": a[2], "empty": a[3], "c": c}


def _login(client, username):
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def _row_of(html: str, questionnaire_id: int) -> str:
    return next(r for r in _rows(html) if f"/questionnaires/{questionnaire_id}/results\"" in r)


def test_status_of_each_indicator(client, session, states):
    _login(client, "admin")
    html = client.get("/county").get_data(as_text=True)
    assert "已写回" in _row_of(html, states["written"].id)
    assert "答卷已够" in _row_of(html, states["enough"].id)
    assert "收集中" in _row_of(html, states["collecting"].id)
    assert "收集中" in _row_of(html, states["empty"].id)  # published, no answers yet
    c_rows = [r for r in _rows(html) if "王五庄镇" in r]
    assert len(c_rows) == 4 and all("没有问卷" in r for r in c_rows)
    # the status filter keeps only those rows; counts shown for each status
    only = client.get("/county?status=enough").get_data(as_text=True)
    assert [r for r in _rows(only)] and all("答卷已够" in r for r in _rows(only))
    assert "没有问卷（4）" in html


def test_verdict_and_rate_agree_with_the_results_page(client, session, states):
    from survey_app.services.results import compute

    _login(client, "auditor")
    html = client.get("/county").get_data(as_text=True)
    for key in ("written", "enough", "collecting"):
        q = states[key]
        result = compute(session, q)
        row = _row_of(html, q.id)
        page = client.get(f"/questionnaires/{q.id}/results").get_data(as_text=True)
        label = result.verdict.label if result.verdict else "未判定"
        assert label in row and label in page
        assert f">{result.actual_value}<" in row and result.actual_value in page
        assert f">{result.valid_n}<" in row


def test_sorting_by_rate_and_by_flags(client, session, states):
    _login(client, "admin")
    ids = [states[k].id for k in ("written", "enough", "collecting")]

    def order(url):
        html = client.get(url).get_data(as_text=True)
        found = [int(m) for r in _rows(html) for m in re.findall(r"/questionnaires/(\d+)/results\"", r)]
        return [i for i in found if i in ids]

    # rates: written 30/32, enough 0/40, collecting 3/4
    assert order("/county?sort=rate") == [states["enough"].id, states["collecting"].id, states["written"].id]
    assert order("/county?sort=-rate") == [states["written"].id, states["collecting"].id, states["enough"].id]
    html = client.get("/county?sort=-rate").get_data(as_text=True)
    assert "满意率 ▼" in html and "sort=rate" in html  # the header links to the other direction
    # rows without a value (no questionnaire) come last in either direction
    assert "王五庄镇" in _rows(client.get("/county?sort=-rate").get_data(as_text=True))[-1]
    assert client.get("/county?sort=bogus").status_code == 200


def test_auditor_with_a_unit_list_sees_only_those_units(client, session, states, county):
    _login(client, "auditor_b")  # granted unit 929002 only (the county fixture)
    html = client.get("/county").get_data(as_text=True)
    assert len(_rows(html)) == 4 and all("李三庄镇" in r for r in _rows(html))
    assert "张二庄镇" not in html and "王五庄镇" not in html
    # naming another unit in the URL shows nothing of it
    other = client.get("/county?unit=929001").get_data(as_text=True)
    assert "张二庄镇" not in other and "没有编码为“929001”的单位，或您没有查看它的权限" in other


def test_unit_filter_and_click_through(client, session, states, county):
    _login(client, "admin")
    html = client.get("/county?unit=929002").get_data(as_text=True)
    assert len(_rows(html)) == 4 and all("李三庄镇" in r for r in _rows(html))
    q = _questionnaires(session, county["b"])[0]
    assert f"/questionnaires/{q.id}/results" in html and f"/projects/{q.indicator.project_id}" in html


def test_staff_may_not_see_the_overview(client, states):
    _login(client, "staff")
    assert client.get("/county").status_code == 403
    nav = client.get("/projects").get_data(as_text=True)
    assert "全县总览" not in nav


def test_nav_link_for_admin_and_auditor(client, states):
    _login(client, "auditor")
    assert 'href="/county"' in client.get("/projects").get_data(as_text=True)


def test_flags_are_counted_per_indicator(client, session, states):
    from survey_app.services.flags import compute_flags

    _login(client, "admin")
    html = client.get("/county?sort=-flags").get_data(as_text=True)
    for key in ("written", "enough", "collecting"):
        q = states[key]
        count = len(compute_flags(session, q))
        row = _row_of(html, q.id)
        assert (f"{count} 条" in row) if count else ("无" in row)


def test_flag_counts_follow_new_responses(county, session):
    """Flag counts are kept per process; a questionnaire with new responses is counted again."""
    from survey_app.services.flags import compute_flags, flag_counts

    q = _questionnaires(session, county["a"])[0]
    add_responses(session, q, [(None, 3, 1, 0)])
    assert flag_counts(session, [q.id]) == {q.id: len(compute_flags(session, q))} == {q.id: 0}
    add_responses(session, q, [(None, 20, 0, 0)])  # one staff member keys in 20 paper forms at once
    counted = flag_counts(session, [q.id])[q.id]
    assert counted == len(compute_flags(session, q)) >= 1
    assert flag_counts(session, [q.id])[q.id] == counted
