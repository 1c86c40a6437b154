"""Known populations (197 cadres, 31 staff) and villages as strata."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import IntervalUndefined, proportion_interval, stratified_interval
from tests.analysis import reference_values as ref


@pytest.mark.parametrize(("N", "n", "x", "conf", "lower", "upper"), ref.HYPERGEOMETRIC)
def test_exact_hypergeometric_matches_published_calculator(N, n, x, conf, lower, upper):
    iv = proportion_interval(x, n, population=N, method="exact_hypergeometric", confidence=conf)
    assert round(iv.lower * 100, 1) == lower and round(iv.upper * 100, 1) == upper
    assert iv.lower == iv.k_lower / N and iv.upper == iv.k_upper / N


def test_146_of_150_from_197_supports_while_clopper_pearson_does_not():
    exact = proportion_interval(146, 150, population=197, method="exact_hypergeometric", sides="lower")
    assert exact.k_lower == 189 and exact.lower == pytest.approx(ref.WORKED["146/150 N=197 exact lower"], abs=1e-6)
    assert exact.lower >= 0.95
    ignoring = proportion_interval(146, 150, population=197, method="clopper_pearson", sides="lower")
    assert ignoring.lower == pytest.approx(0.940019, abs=1e-6) and ignoring.lower < 0.95
    assert "conservative" in ignoring.note
    two = proportion_interval(146, 150, population=197, method="exact_hypergeometric")
    assert (two.k_lower, two.k_upper) == (188, 193)
    assert (two.lower, two.upper) == pytest.approx(ref.WORKED["146/150 N=197 exact two-sided"], abs=1e-6)
    n_eff, lo, hi = ref.WORKED["146/150 N=197 wilson n_eff"]
    wilson = proportion_interval(146, 150, population=197, method="wilson")
    assert wilson.n_eff == pytest.approx(n_eff, abs=0.01)
    assert (wilson.lower, wilson.upper) == pytest.approx((lo, hi), abs=1e-6)


def test_census_is_the_observed_rate_for_every_population_method():
    for method in ("exact_hypergeometric", "wilson", "wald"):
        iv = proportion_interval(30, 31, population=31, method=method)
        assert (iv.lower, iv.upper) == pytest.approx(ref.WORKED["census 30/31"], abs=1e-6)
        assert "census" in iv.note
    ignoring = proportion_interval(30, 31, population=31, method="clopper_pearson", sides="lower")
    assert ignoring.lower == pytest.approx(0.85591, abs=1e-5)


def test_small_population_worked_cases():
    assert proportion_interval(25, 25, population=31, method="exact_hypergeometric", sides="lower").lower == \
        pytest.approx(ref.WORKED["25/25 of 31 lower"], abs=1e-6)
    assert proportion_interval(24, 25, population=31, method="exact_hypergeometric", sides="lower").lower == \
        pytest.approx(ref.WORKED["24/25 of 31 lower"], abs=1e-6)
    # 100% of the sample is not 100% of the population: 150/150 of 197 -> 195/197
    assert proportion_interval(150, 150, population=197, method="exact_hypergeometric", sides="lower").k_lower == 195


def test_finite_wald_uses_unbiased_variance():
    iv = proportion_interval(146, 150, population=197, method="wald")
    p = 146 / 150
    se = np.sqrt((1 - 150 / 197) * p * (1 - p) / 149)
    assert iv.lower == pytest.approx(p - stats.norm.isf(0.025) * se, abs=1e-12)


@pytest.mark.parametrize(("N", "n"), [(31, 10), (34, 20), (60, 25), (197, 50)])
@pytest.mark.parametrize("sides", ["two-sided", "lower"])
def test_exact_hypergeometric_coverage_never_below_nominal(N, n, sides):
    """For every possible K in the population, P(K_L <= K <= K_U) >= 95%, computed exactly."""
    bounds = [proportion_interval(x, n, population=N, method="exact_hypergeometric", sides=sides)
              for x in range(n + 1)]
    xs = np.arange(n + 1)
    for K in range(N + 1):
        inside = np.array([b.k_lower <= K <= b.k_upper for b in bounds])
        coverage = float(stats.hypergeom.pmf(xs, N, K, n)[inside].sum())
        assert coverage >= 0.95 - 1e-9, (N, n, K, coverage)


@settings(max_examples=100, deadline=None)
@given(N=st.integers(1, 3000), data=st.data(), confidence=st.floats(0.5, 0.999))
def test_hypergeometric_bounds_contain_the_sample_and_are_monotone(N, data, confidence):
    n = data.draw(st.integers(1, N))
    x = data.draw(st.integers(0, n))
    iv = proportion_interval(x, n, population=N, method="exact_hypergeometric", confidence=confidence)
    # K can be no less than the satisfied answers seen, no more than N minus the dissatisfied seen
    assert x <= iv.k_lower <= iv.k_upper <= N - (n - x)
    # (x/n itself need not lie in [K_L/N, K_U/N]: population rates are multiples of 1/N,
    # e.g. 1 of 7 sampled from N = 8 gives K in {1, 2} only)
    if x < n:
        more = proportion_interval(x + 1, n, population=N, method="exact_hypergeometric", confidence=confidence)
        assert more.k_lower >= iv.k_lower and more.k_upper >= iv.k_upper


# -- strata -----------------------------------------------------------------------------


def test_s1_matches_r_survey():
    values = ref.S1_VALUES
    wald = stratified_interval(ref.S1, method="wald")
    assert wald.point == pytest.approx(values["point"], abs=1e-9)
    assert wald.variance ** 0.5 == pytest.approx(values["se"], abs=1e-6)
    assert (wald.lower, wald.upper) == pytest.approx(values["wald"], abs=1e-6)
    wilson = stratified_interval(ref.S1, method="wilson")
    assert (wilson.lower, wilson.upper) == pytest.approx(values["wilson"], abs=1e-6)
    assert wilson.n_eff == pytest.approx(values["wilson_neff"], abs=0.01)
    kg = stratified_interval(ref.S1, method="korn_graubard")
    assert (kg.lower, kg.upper) == pytest.approx(values["korn_graubard"], abs=1e-6)
    assert kg.df == 147
    kish = stratified_interval(ref.S1, method="wilson_kish")
    assert kish.n_eff == pytest.approx(values["kish_neff"], abs=0.01)


def test_all_satisfied_strata_say_variance_methods_are_undefined():
    strata = [(120, 30, 30), (80, 20, 20), (50, 10, 10)]
    for method in ("wald", "wilson", "korn_graubard"):
        with pytest.raises(IntervalUndefined, match="undefined"):
            stratified_interval(strata, method=method)
    kish = stratified_interval(strata, method="wilson_kish", sides="lower")
    assert 0.9 < kish.lower < 1.0
    bonferroni = stratified_interval(strata, method="exact_bonferroni", sides="lower")
    assert 0 < bonferroni.lower < 1.0 and bonferroni.upper == 1.0


def test_exact_bonferroni_is_sum_of_per_stratum_bounds():
    strata = [(120, 30, 29), (80, 20, 19), (50, 10, 10)]
    result = stratified_interval(strata, method="exact_bonferroni", sides="lower")
    expected = sum(
        proportion_interval(x, n, population=N, method="exact_hypergeometric", sides="lower",
                            confidence=1 - 0.05 / 3).k_lower
        for N, n, x in strata
    )
    assert result.lower == pytest.approx(expected / 250, abs=1e-12)


def test_single_stratum_wald_equals_finite_population_wald():
    single = stratified_interval([(197, 150, 146)], method="wald")
    plain = proportion_interval(146, 150, population=197, method="wald")
    assert (single.lower, single.upper) == pytest.approx((plain.lower, plain.upper), abs=1e-12)


def test_census_strata_contribute_no_variance():
    result = stratified_interval([(31, 31, 30), (100, 40, 38)], method="wald")
    only = (100 / 131) ** 2 * (1 - 40 / 100) * 0.95 * 0.05 / 39
    assert result.variance == pytest.approx(only, rel=1e-12)


@pytest.mark.parametrize(
    ("strata", "message"),
    [([], "must not be empty"), ([(10, 5)], "must be \\(population, n, successes\\)"),
     ([(10, 12, 3)], "stratum 1: n \\(12\\) cannot exceed"), ([(10, 1, 1), (10, 5, 4)], "n_h = 1")],
)
def test_invalid_strata(strata, message):
    with pytest.raises(ValueError, match=message):
        stratified_interval(strata, method="wald")
