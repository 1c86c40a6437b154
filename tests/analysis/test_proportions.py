"""Proportion intervals against published values, statsmodels, scipy and exact properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis import METHODS, proportion_interval
from tests.analysis import reference_values as ref

# -- published values --------------------------------------------------------------


@pytest.mark.parametrize(("x", "n", "method", "bounds"), [
    (x, n, m, b) for (x, n), methods in ref.NEWCOMBE_1998.items() for m, b in methods.items()
])
def test_newcombe_1998_table(x, n, method, bounds):
    iv = proportion_interval(x, n, method=method)
    assert round(iv.lower, 4) == pytest.approx(bounds[0], abs=1e-12)
    assert round(iv.upper, 4) == pytest.approx(bounds[1], abs=1e-12)


@pytest.mark.parametrize(("k", "n", "conf", "method", "sides", "lower", "upper"), ref.SCIPY_R)
def test_r_values_from_scipy_suite(k, n, conf, method, sides, lower, upper):
    iv = proportion_interval(k, n, method=method, confidence=conf, sides=sides)
    assert iv.lower == pytest.approx(lower, abs=1e-6)
    assert iv.upper == pytest.approx(upper, abs=1e-6)


@pytest.mark.parametrize(("k", "n", "conf", "upper"), ref.SCIPY_R_UPPER)
def test_r_one_sided_upper_values(k, n, conf, upper):
    # a one-sided 95% upper bound is the upper end of a 90% two-sided interval
    assert proportion_interval(k, n, method="clopper_pearson", confidence=conf).upper == pytest.approx(upper, abs=1e-6)


@pytest.mark.parametrize(("k", "n", "conf", "method", "sides", "lower", "upper"), ref.STATSMODELS_R)
def test_r_values_from_statsmodels_suite(k, n, conf, method, sides, lower, upper):
    iv = proportion_interval(k, n, method=method, confidence=conf, sides=sides)
    assert iv.lower == pytest.approx(lower, abs=1e-6)
    if upper is not None:
        assert iv.upper == pytest.approx(upper, abs=1e-6)


def test_worked_146_of_150_one_sided():
    for method, lower in ref.WORKED["146/150 one-sided lower"].items():
        assert proportion_interval(146, 150, method=method, sides="lower").lower == pytest.approx(lower, abs=1e-6)


@pytest.mark.parametrize(("p", "n", "coverage"), ref.BCD_WALD_COVERAGE)
def test_wald_coverage_matches_brown_cai_dasgupta(p, n, coverage):
    xs = np.arange(n + 1)
    covered = [proportion_interval(int(x), n, method="wald") for x in xs]
    inside = np.array([iv.lower <= p <= iv.upper for iv in covered])
    assert float(stats.binom.pmf(xs, n, p)[inside].sum()) == pytest.approx(coverage, abs=5e-4)


# -- independent implementations ----------------------------------------------------------

STATSMODELS_NAMES = {
    "wald": "normal",
    "wilson": "wilson",
    "agresti_coull": "agresti_coull",
    "clopper_pearson": "beta",
    "jeffreys": "jeffreys",
}
GRID = [(0, 1), (1, 1), (0, 10), (1, 10), (5, 10), (9, 10), (10, 10), (29, 30), (30, 30), (146, 150),
        (190, 200), (4, 200), (0, 500), (499, 500), (9_990_000, 10_000_000), (10_000_000, 10_000_000)]


@pytest.mark.parametrize("method", sorted(STATSMODELS_NAMES))
@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_two_sided_matches_statsmodels(method, confidence):
    for x, n in GRID:
        iv = proportion_interval(x, n, method=method, confidence=confidence)
        lo, hi = proportion_confint(x, n, alpha=1 - confidence, method=STATSMODELS_NAMES[method])
        assert iv.lower == pytest.approx(lo, abs=1e-6), (x, n)
        assert iv.upper == pytest.approx(hi, abs=1e-6), (x, n)


@pytest.mark.parametrize("method", sorted(STATSMODELS_NAMES))
def test_one_sided_lower_matches_statsmodels(method):
    # statsmodels' alternative="smaller" returns the lower bound (its naming follows the test)
    for x, n in GRID:
        iv = proportion_interval(x, n, method=method, sides="lower")
        lo, hi = proportion_confint(x, n, alpha=0.05, method=STATSMODELS_NAMES[method], alternative="smaller")
        assert iv.lower == pytest.approx(lo, abs=1e-6), (x, n)
        assert iv.upper == 1.0


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_and_wilson_cc_match_scipy(confidence):
    for x, n in GRID:
        for ours, theirs in (("wilson", "wilson"), ("wilson_cc", "wilsoncc")):
            ci = stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method=theirs)
            iv = proportion_interval(x, n, method=ours, confidence=confidence)
            assert iv.lower == pytest.approx(max(ci.low, 0), abs=1e-6), (ours, x, n)
            assert iv.upper == pytest.approx(min(ci.high, 1), abs=1e-6), (ours, x, n)
            low = stats.binomtest(x, n, alternative="greater").proportion_ci(confidence_level=confidence, method=theirs)
            assert proportion_interval(x, n, method=ours, confidence=confidence, sides="lower").lower == pytest.approx(
                max(low.low, 0), abs=1e-6)


def test_clopper_pearson_matches_scipy_exact_one_sided():
    for x, n in GRID:
        ci = stats.binomtest(x, n, alternative="greater").proportion_ci(method="exact")
        assert proportion_interval(x, n, method="clopper_pearson", sides="lower").lower == pytest.approx(ci.low, abs=1e-9)


def test_jeffreys_bcd_boundaries():
    # MKmisc::binomCI(method="modified jeffreys") boundary rules
    n, tail = 50, 0.05
    assert proportion_interval(50, 50, method="jeffreys_bcd", sides="lower").lower == pytest.approx(tail ** (1 / n))
    assert proportion_interval(50, 50, method="jeffreys_bcd", sides="lower").lower == pytest.approx(0.941845, abs=1e-6)
    assert proportion_interval(50, 50, method="jeffreys", sides="lower").lower == pytest.approx(0.9625, abs=1e-4)
    assert proportion_interval(1, 50, method="jeffreys_bcd").lower == 0.0
    assert proportion_interval(0, 50, method="jeffreys_bcd").upper == pytest.approx(1 - 0.025 ** (1 / 50))
    assert proportion_interval(49, 50, method="jeffreys_bcd").upper == 1.0
    mid = proportion_interval(20, 50, method="jeffreys_bcd")
    plain = proportion_interval(20, 50, method="jeffreys")
    assert (mid.lower, mid.upper) == (plain.lower, plain.upper)


# -- edge cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_n_equals_one(method):
    for x in (0, 1):
        iv = proportion_interval(x, 1, method=method)
        assert 0.0 <= iv.lower <= iv.upper <= 1.0


def test_all_satisfied_never_collapses_except_wald():
    for method in ("wilson", "wilson_cc", "clopper_pearson", "jeffreys_bcd", "agresti_coull"):
        assert proportion_interval(50, 50, method=method).lower < 0.96
    wald = proportion_interval(50, 50, method="wald")
    assert (wald.lower, wald.upper) == (1.0, 1.0) and "degenerate" in wald.note


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"successes": 1, "n": 0}, "n must be positive"),
        ({"successes": 5, "n": 3}, "cannot exceed n"),
        ({"successes": -1, "n": 3}, "must not be negative"),
        ({"successes": 1, "n": 3, "confidence": 1.0}, "confidence must be in"),
        ({"successes": 1, "n": 3, "confidence": 0.0}, "confidence must be in"),
        ({"successes": 1, "n": 3, "method": "magic"}, "unknown method"),
        ({"successes": 1, "n": 3, "sides": "upper"}, "sides must be"),
        ({"successes": 1, "n": 30, "population": 20}, "cannot exceed the population"),
        ({"successes": 1, "n": 3, "method": "exact_hypergeometric"}, "needs population"),
        ({"successes": 1, "n": 3, "population": 30, "method": "jeffreys"}, "does not take a population"),
        ({"successes": 1.5, "n": 3}, "whole number"),
    ],
)
def test_invalid_input_raises_clear_value_error(kwargs, message):
    successes = kwargs.pop("successes")
    n = kwargs.pop("n")
    with pytest.raises(ValueError, match=message):
        proportion_interval(successes, n, **kwargs)


# -- properties -------------------------------------------------------------------------------

# Jeffreys (either form) is a posterior interval and need not contain p-hat, e.g. at 50% one-sided
CONTAINING = ("wald", "wilson", "wilson_cc", "clopper_pearson")


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), data=st.data(), method=st.sampled_from(METHODS),
       confidence=st.floats(0.5, 0.999), sides=st.sampled_from(["two-sided", "lower"]))
def test_bounds_ordered_and_monotone_in_successes(n, data, method, confidence, sides):
    x = data.draw(st.integers(0, n))
    iv = proportion_interval(x, n, method=method, confidence=confidence, sides=sides)
    assert 0.0 <= iv.lower <= iv.upper <= 1.0
    if method in CONTAINING:
        assert iv.lower <= iv.point + 1e-12 and iv.point <= iv.upper + 1e-12
    if x < n:
        more = proportion_interval(x + 1, n, method=method, confidence=confidence, sides=sides)
        assert more.lower >= iv.lower - 1e-12
        assert more.upper >= iv.upper - 1e-12


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 2000), data=st.data(), method=st.sampled_from(METHODS + ("exact_hypergeometric",)),
       c1=st.floats(0.5, 0.99), c2=st.floats(0.5, 0.99))
def test_wider_at_higher_confidence(n, data, method, c1, c2):
    x = data.draw(st.integers(0, n))
    low_c, high_c = sorted((c1, c2))
    kwargs = {"population": n + data.draw(st.integers(0, 3000))} if method == "exact_hypergeometric" else {}
    a = proportion_interval(x, n, method=method, confidence=low_c, **kwargs)
    b = proportion_interval(x, n, method=method, confidence=high_c, **kwargs)
    assert b.lower <= a.lower + 1e-12 and b.upper >= a.upper - 1e-12


@pytest.mark.parametrize("n", [1, 5, 10, 30, 59, 100])
@pytest.mark.parametrize("sides", ["two-sided", "lower"])
def test_clopper_pearson_coverage_never_below_nominal(n, sides):
    """Exact coverage over a grid of true p, computed from the binomial distribution."""
    bounds = [proportion_interval(x, n, method="clopper_pearson", sides=sides) for x in range(n + 1)]
    xs = np.arange(n + 1)
    for p in np.linspace(0.001, 0.999, 199):
        inside = np.array([b.lower <= p <= b.upper for b in bounds])
        coverage = float(stats.binom.pmf(xs, n, p)[inside].sum())
        assert coverage >= 0.95 - 1e-9, (n, p, coverage)


def test_huge_n_is_fast_and_finite():
    for method in METHODS:
        iv = proportion_interval(9_500_001, 10_000_000, method=method)
        assert math.isfinite(iv.lower) and iv.lower < 0.9500001 < iv.upper
