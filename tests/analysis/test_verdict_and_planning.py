"""Verdicts on "≥95%" claims, responses still needed, sample sizes."""

import pytest
from scipy import stats

from analysis import min_n_all_satisfied, parse_target, proportion_interval, sample_size, target_fraction, verdict
from tests.analysis import reference_values as ref


def test_worked_case_supported_with_population_inconclusive_without():
    v = verdict(146, 150, "≥95%", population=197)
    assert v.verdict == "supported" and v.method == "exact_hypergeometric"
    assert v.lower == pytest.approx(0.959391, abs=1e-6) and v.more_needed == 0
    w = verdict(146, 150, 0.95)
    assert w.verdict == "inconclusive" and w.method == "clopper_pearson"
    assert w.lower == pytest.approx(0.940019, abs=1e-6)
    assert w.more_needed is not None and w.more_needed > 0


def test_more_needed_is_the_first_n_that_settles():
    w = verdict(146, 150, 0.95)
    extra = w.more_needed
    p = 146 / 150
    settled = verdict(round(p * (150 + extra)), 150 + extra, 0.95)
    assert settled.verdict == "supported"
    before = verdict(round(p * (150 + extra - 1)), 150 + extra - 1, 0.95)
    assert before.verdict == "inconclusive"


def test_census_verdicts_are_plain_comparisons():
    assert verdict(30, 31, 0.95, population=31).verdict == "supported"  # 30 >= ceil(0.95*31) = 30
    assert verdict(29, 31, 0.95, population=31).verdict == "contradicted"
    v = verdict(24, 25, 0.95, population=31)
    assert v.verdict == "inconclusive" and v.lower == pytest.approx(0.903226, abs=1e-6)
    assert v.more_needed == 6  # at 96% a census of 31 gives 30 satisfied: supported


def test_contradicted_and_hopeless():
    v = verdict(80, 100, "≥95%")
    assert v.verdict == "contradicted" and v.upper < 0.95
    exact = verdict(95, 100, 0.95)
    assert exact.verdict == "inconclusive" and exact.more_needed is None and "正好等于" in exact.note


def test_target_integer_arithmetic():
    # 0.95 * 200 is 190 exactly; in floating point it may round up to 190.00000000000003
    assert target_fraction(0.95) * 200 == 190
    assert verdict(190, 200, 0.95, population=200).verdict == "supported"
    assert target_fraction("≥95%") == target_fraction(parse_target("95%以上"))
    with pytest.raises(ValueError, match="not a 'greater or equal'"):
        target_fraction("≤5%")
    with pytest.raises(ValueError, match="not a rate"):
        target_fraction("≥90分")


def test_stratified_verdict_uses_bonferroni_exact():
    v = verdict(0, 0, 0.95, strata=ref.S1)
    assert v.method == "exact_bonferroni" and v.verdict == "inconclusive"
    assert v.more_needed is not None and v.more_needed > 0
    strong = verdict(0, 0, 0.9, strata=[(40, 40, 40), (60, 60, 59)])
    assert strong.verdict == "supported"


def test_false_support_rate_of_the_verdict_never_exceeds_alpha():
    """At the worst case K = K_t - 1 (one person short), P(supported) <= 5%, for every n."""
    N, k = 197, 187
    for n in range(10, N + 1, 7):
        xs = [x for x in range(n + 1) if verdict(x, n, 0.95, population=N).verdict == "supported"]
        rate = sum(stats.hypergeom.pmf(x, N, k, n) for x in xs)
        assert rate <= 0.05 + 1e-12, (n, rate)


@pytest.mark.parametrize(("population", "expected"), list(ref.MIN_N_ALL_SATISFIED.items()))
def test_min_n_all_satisfied(population, expected):
    assert min_n_all_satisfied(0.95, population=population) == expected


@pytest.mark.parametrize(("method", "expected"), list(ref.MIN_N_OTHER.items()))
def test_min_n_other_methods(method, expected):
    assert min_n_all_satisfied(0.95, method=method) == expected


@pytest.mark.parametrize(("expected_rate", "values"), list(ref.SAMPLE_SIZE.items()))
def test_sample_size_table(expected_rate, values):
    cp, wilson, n10000, n1000, n200 = values
    assert sample_size(0.95, expected_rate) == cp
    assert sample_size(0.95, expected_rate, method="wilson") == wilson
    assert sample_size(0.95, expected_rate, population=10000) == n10000
    assert sample_size(0.95, expected_rate, population=1000) == n1000
    assert sample_size(0.95, expected_rate, population=200) == n200


def test_sample_size_rejects_impossible_plans():
    with pytest.raises(ValueError, match="must exceed the target"):
        sample_size(0.95, 0.95)
    with pytest.raises(ValueError, match="below the target even in a census"):
        sample_size(0.95, 0.951, population=31)


# -- issue 11: the stratified more-needed search and planning that matches the verdict's bound -------

def _strata_34():
    """34 villages of uneven size, sampled unevenly, nearly all satisfied (realistic staff input)."""
    rows = [(575, 56, 56), (822, 27, 24), (1220, 50, 47)]
    for h in range(31):
        size = 90 + (h * 137) % 1400
        n = 8 + (h * 7) % 40
        rows.append((size, n, n - (h % 3 == 0)))
    return rows


def test_stratified_more_needed_is_quick_and_uses_a_plain_test(monkeypatch):
    """The search asks "settled or not" per trial; it never runs a full verdict (with its own search)."""
    import importlib

    module = importlib.import_module("analysis.verdict")
    calls = {"n": 0}
    original = module.verdict

    def counting(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "verdict", counting)
    for strata in ([(575, 56, 56), (822, 27, 24), (1220, 50, 47)], _strata_34()):
        v = counting(0, 0, 0.95, strata=strata)
        assert v.verdict == "inconclusive" and v.more_needed is not None and v.more_needed > 0
        assert v.settles_as in ("supported", "contradicted")
        # the answer is right: adding that many settles it, one fewer does not
        assert module._strata_after(strata, v.more_needed, 0.95) != "inconclusive"
    assert calls["n"] == 2


def test_more_needed_says_which_way_it_settles():
    low = verdict(11, 12, "≥95%")
    assert low.verdict == "inconclusive" and low.settles_as == "contradicted" and low.more_needed == 126
    high = verdict(146, 150, "≥95%")
    assert high.settles_as == "supported"
    assert verdict(150, 150, "≥95%", population=197).settles_as is None  # already settled


def test_more_needed_never_exceeds_the_group():
    """A group of 31 without a design population: never propose more than the 31 can give."""
    v = verdict(29, 30, "≥95%", max_total=31)
    assert v.verdict == "inconclusive" and v.more_needed is None and "31" in v.note
    w = verdict(11, 12, "≥95%", max_total=31)
    assert w.more_needed is None or w.more_needed <= 31 - 12


@pytest.mark.parametrize("population", [None, 31, 34, 197, 200, 1000])
@pytest.mark.parametrize("method", ["clopper_pearson", "wilson", "exact_hypergeometric"])
def test_planning_uses_exactly_the_interval_bound(method, population):
    """min_n_all_satisfied is the first n whose all-satisfied lower bound (as proportion_interval
    computes it for this method and population) reaches the target."""
    if method == "exact_hypergeometric" and population is None:
        return
    limit = population or 200

    def supported(n):
        return proportion_interval(n, n, method=method, population=population, sides="lower").lower >= 0.95

    first = next((n for n in range(1, limit + 1) if supported(n)), None)
    if first is None:  # e.g. Clopper–Pearson ignores N = 31 and would need 59 of 31
        with pytest.raises(ValueError):
            min_n_all_satisfied(0.95, population=population, method=method)
    else:
        assert min_n_all_satisfied(0.95, population=population, method=method) == first


def test_sample_size_wilson_with_population_uses_the_fpc_bound():
    from fractions import Fraction

    from analysis.verdict import _x_crit

    for n in (20, 60, 150):
        x = _x_crit(n, Fraction(19, 20), 0.05, "wilson", 197)
        ok = [proportion_interval(k, n, method="wilson", population=197, sides="lower").lower >= 0.95
              for k in range(n + 1)]
        assert x == (ok.index(True) if True in ok else n + 1)
