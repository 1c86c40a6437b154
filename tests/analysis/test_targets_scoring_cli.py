"""Target parsing, rates and scores, and the auditors' command line."""

import json

import pytest

from analysis import TargetParseError, parse_target, satisfaction_rate, score_indicator
from analysis.cli import main
from tests.analysis import reference_values as ref


@pytest.mark.parametrize(
    ("text", "op", "value", "unit", "kind"),
    [
        ("≥95%", ">=", 95, "%", "quantity"),
        (">=90%", ">=", 90, "%", "quantity"),
        ("＞＝90％", ">=", 90, "%", "quantity"),
        ("≧90%", ">=", 90, "%", "quantity"),
        ("≦5%", "<=", 5, "%", "quantity"),
        ("》95%", ">=", 95, "%", "quantity"),
        ("292%", ">=", 92, "%", "quantity"),  # OCR: 2 for ≥
        ("W5%", "<=", 5, "%", "quantity"),  # OCR: W for ≤
        ("90%", "=", 90, "%", "quantity"),
        ("95%以上", ">=", 95, "%", "quantity"),
        ("95%及以上", ">=", 95, "%", "quantity"),
        ("不低于95%", ">=", 95, "%", "quantity"),
        ("不少于34个", ">=", 34, "个", "quantity"),
        ("至少50人", ">=", 50, "人", "quantity"),
        ("达到95%", ">=", 95, "%", "quantity"),
        ("不高于5%", "<=", 5, "%", "quantity"),
        ("不超过10万元", "<=", 10, "万元", "quantity"),
        ("低于3%", "<", 3, "%", "quantity"),
        ("控制在5%以内", "<=", 5, "%", "quantity"),
        ("5%以下", "<=", 5, "%", "quantity"),
        ("8,827,620.53元", "=", 8827620.53, "元", "quantity"),
        ("95百分比", "=", 95, "%", "quantity"),
        ("≥90分", ">=", 90, "分", "quantity"),
        ("73.18万元", "=", 73.18, "万元", "quantity"),
        ("１２月底前", None, None, None, "time"),
        ("12月底前发放到位", None, None, None, "time"),
        ("9月前", None, None, None, "time"),
        ("1-12月", None, None, None, "time"),
        ("202001-202012", None, None, None, "time"),
        ("每月按时发放村经费", None, None, None, "time"),
        ("及时", None, None, None, "time"),
        ("1年", None, 1, "年", "time"),
        ("提高", None, None, None, "qualitative"),
        ("有效保障", None, None, None, "qualitative"),
        ("保障村级组织长期正常使用", None, None, None, "qualitative"),
    ],
)
def test_parse_target_forms(text, op, value, unit, kind):
    target = parse_target(text)
    assert (target.op, target.value, target.unit, target.kind, target.raw) == (op, value, unit, kind, text)


def test_split_cells():
    assert parse_target("≥", "95", "%") == parse_target(["≥", "95", "%"])
    assert str(parse_target(["≥", "95", "%"])) == "≥95%"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "为空"), ("≥", "只有比较符"), ("≥**%", "占位符"), ("≥**人", "占位符"), ("abc", "无法识别"),
     ("90-95%", "范围"), ("≥95%以下", "自相矛盾"), ("95%%", "含数字")],
)
def test_unreadable_targets_raise(text, message):
    with pytest.raises(TargetParseError, match=message):
        parse_target(text)


def test_rate_top2_excludes_dont_know_and_reports_it():
    rate = satisfaction_rate({"非常满意": 30, "满意": 40, "一般": 10, "不满意": 5, "非常不满意": 5, "不了解": 7})
    assert (rate.successes, rate.n, rate.excluded) == (70, 90, {"不了解": 7})
    assert rate.value == pytest.approx(70 / 90)  # the domain note's worked example: 77.8%
    assert "不了解 7 份" in rate.statement()


def test_weighted_score_default_and_custom():
    counts = {"非常满意": 10, "满意": 10, "一般": 0, "不满意": 0, "非常不满意": 0}
    assert satisfaction_rate(counts, method="weighted").value == 90.0
    custom = satisfaction_rate({"非常满意": 1, "不满意": 1}, method="weighted", scores=(100, 80, 60, 30, 0))
    assert custom.value == 65.0


def test_rate_errors():
    with pytest.raises(ValueError, match="neither on the scale"):
        satisfaction_rate({"很好": 3})
    with pytest.raises(ValueError, match="no valid answers"):
        satisfaction_rate({"不了解": 3})
    with pytest.raises(ValueError, match="one value per option"):
        satisfaction_rate({"满意": 1}, method="weighted", scores=(1, 2))


@pytest.mark.parametrize(("target", "actual", "points", "expected"), ref.SCORES)
def test_scores_from_worked_examples(target, actual, points, expected):
    assert score_indicator(target, actual, points).score == pytest.approx(expected, abs=1e-9)


def test_reverse_and_qualitative_scores():
    assert score_indicator("≤5%", "4%", 10).score == 10
    assert score_indicator("≤5%", "8%", 10).score == 6.25  # A/B
    assert score_indicator("≤5%", "8%", 10, reverse_rule="linear").score == 4.0
    assert score_indicator("≤5%", "10%", 10, reverse_rule="linear").score == 0.0
    assert score_indicator("≥95%", 0.92, 10).score == 9.68  # a fraction for a percentage target
    band = score_indicator("有效保障", "部分达成年度指标并具有一定效果", 10)
    assert band.score is None and band.band == (6.0, 8.0)
    with pytest.raises(ValueError, match="must be one of"):
        score_indicator("有效保障", "很好", 10)
    with pytest.raises(ValueError, match="does not match"):
        score_indicator("≥95%", "90分", 10)


# -- CLI -------------------------------------------------------------------------------


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_interval_json(capsys):
    code, out, _ = _run(capsys, "interval", "--successes", "146", "--n", "150", "--population", "197",
                        "--method", "exact_hypergeometric", "--sides", "lower", "--json")
    data = json.loads(out)
    assert code == 0 and data["k_lower"] == 189 and round(data["lower"], 6) == 0.959391


def test_cli_lines(capsys):
    _, out, _ = _run(capsys, "verdict", "--successes", "146", "--n", "150", "--target", "≥95%")
    assert "尚无定论 inconclusive" in out and "还需" in out
    _, out, _ = _run(capsys, "stratified", "--stratum", "1200,60,58", "--stratum", "800,40,37",
                     "--stratum", "500,50,49", "--method", "korn_graubard")
    assert "90.6842%" in out and "98.3637%" in out
    _, out, _ = _run(capsys, "min-n", "--target", "0.95", "--population", "31")
    assert "24" in out
    _, out, _ = _run(capsys, "sample-size", "--target", "≥95%", "--expected", "0.99", "--population", "200")
    assert "72" in out
    _, out, _ = _run(capsys, "score", "--target", "≥95%", "--actual", "92%", "--points", "10")
    assert "9.68" in out
    _, out, _ = _run(capsys, "parse-target", "95%以上")
    assert "op=>=" in out


def test_cli_errors_exit_nonzero_without_traceback(capsys):
    code, out, err = _run(capsys, "interval", "--successes", "5", "--n", "3")
    assert code == 2 and "cannot exceed n" in err and "Traceback" not in err
    code, _, err = _run(capsys, "stratified", "--stratum", "1,2")
    assert code == 2 and "N,n,x" in err
    code, _, err = _run(capsys, "parse-target", "≥**%")
    assert code == 2 and "占位符" in err


def test_python_m_analysis_runs():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, check=True)
    for command in ("interval", "stratified", "verdict", "sample-size", "min-n", "parse-target", "score"):
        assert command in result.stdout
