"""Stratified estimates: villages as strata with known populations.

The point estimate is p_st = Σ W_h p_h with W_h = N_h / N (population shares,
never sample shares). The variance is the unbiased stratified SRSWOR estimator

    V = Σ W_h² (1 − f_h) p_h (1 − p_h) / (n_h − 1),   f_h = n_h / N_h,

which is what R's ``survey`` package computes for ``svydesign(strata=, fpc=)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from analysis._validation import check_confidence, check_counts, check_sides, tail_alpha
from analysis.proportions import _wilson, hypergeometric_bounds

__all__ = ["STRATIFIED_METHODS", "IntervalUndefined", "StratifiedInterval", "stratified_interval"]

STRATIFIED_METHODS = ("wald", "wilson", "korn_graubard", "wilson_kish", "exact_bonferroni")


class IntervalUndefined(ValueError):
    """A variance-based interval that does not exist for these data (e.g. p_st = 1)."""


@dataclass(frozen=True)
class StratifiedInterval:
    """A stratified proportion with its interval.

    Attributes
    ----------
    point, lower, upper : float
    method, confidence, sides : str, float, str
    variance : float
        Estimated variance of ``point`` (0 when every stratum is a census or unanimous).
    n_eff : float or None
        Effective sample size: p(1−p)/V for ``wilson``/``korn_graubard`` (after the
        df adjustment for ``korn_graubard``), Kish's for ``wilson_kish``.
    df : int
        Design degrees of freedom, Σ n_h − H.
    n, population, strata : int
        Total responses, total population, number of strata.
    note : str
    """

    point: float
    lower: float
    upper: float
    method: str
    confidence: float
    sides: str
    variance: float
    n_eff: float | None
    df: int
    n: int
    successes: int
    population: int
    strata: int
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _check_strata(strata: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    rows = [tuple(s) for s in strata]
    if not rows:
        raise ValueError("strata must not be empty")
    checked = []
    for index, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise ValueError(f"stratum {index} must be (population, n, successes), got {row!r}")
        N_h, n_h, x_h = row
        try:
            x_h, n_h, N_h = check_counts(x_h, n_h, N_h)
        except ValueError as exc:
            raise ValueError(f"stratum {index}: {exc}") from None
        checked.append((N_h, n_h, x_h))
    return checked


def stratified_interval(
    strata: Sequence[Sequence[int]],
    *,
    method: str = "wilson",
    confidence: float = 0.95,
    sides: str = "two-sided",
) -> StratifiedInterval:
    """Confidence interval for a stratified proportion.

    Parameters
    ----------
    strata : sequence of (population_h, n_h, successes_h)
    method : str
        ``wald`` (V with z), ``wilson`` (n_eff = p(1−p)/V, z), ``korn_graubard``
        (as R ``svyciprop(method="beta")``: n_eff scaled by
        (t_{n−1}/t_df)², then Clopper–Pearson at x* = n_eff·p),
        ``wilson_kish`` (Wilson at Kish's n = (Σw)²/Σw², defined when p_st is 0
        or 1), ``exact_bonferroni`` (Σ_h K_h / N with exact hypergeometric bounds
        at α/H per stratum; conservative, never variance-based).
    confidence : float
    sides : {'two-sided', 'lower'}

    Raises
    ------
    IntervalUndefined
        When a variance-based method has nothing to work with (V = 0, e.g.
        every answer satisfied). Use ``wilson_kish`` or ``exact_bonferroni``.
    ValueError
        For invalid strata, or a stratum with n_h = 1 short of a census (no
        variance estimate; R ``survey`` fails the same way by default).

    References
    ----------
    Cochran (1977), §5.3; Korn, E. L., Graubard, B. I. (1998). Confidence
    intervals for proportions with small expected number of positive counts
    estimated from survey data. *Survey Methodology* 24, 193–201; Kish (1965).
    Lumley, T. R package ``survey``, ``svyciprop``.
    """
    rows = _check_strata(strata)
    confidence = check_confidence(confidence)
    sides = check_sides(sides)
    if method not in STRATIFIED_METHODS:
        raise ValueError(f"unknown stratified method {method!r}; choose one of {STRATIFIED_METHODS}")
    tail = tail_alpha(confidence, sides)
    N = sum(r[0] for r in rows)
    n = sum(r[1] for r in rows)
    successes = sum(r[2] for r in rows)
    H = len(rows)
    df = n - H
    point = sum(N_h / N * x_h / n_h for N_h, n_h, x_h in rows)
    variance = 0.0
    for index, (N_h, n_h, x_h) in enumerate(rows, start=1):
        if n_h == N_h:
            continue  # census stratum: no sampling variance
        if n_h < 2:
            if method in ("exact_bonferroni", "wilson_kish"):
                continue
            raise ValueError(f"stratum {index} has n_h = 1 but is not a census: no variance estimate")
        p_h = x_h / n_h
        variance += (N_h / N) ** 2 * (1 - n_h / N_h) * p_h * (1 - p_h) / (n_h - 1)
    point = min(max(point, 0.0), 1.0)
    z = float(stats.norm.isf(tail))
    n_eff: float | None = None
    note = ""

    if method == "exact_bonferroni":
        per_tail = tail / H
        k_low = k_high = 0
        for N_h, n_h, x_h in rows:
            k_l, k_u = hypergeometric_bounds(x_h, n_h, N_h, per_tail)
            k_low += k_l
            k_high += k_u
        lo, hi = k_low / N, k_high / N
        note = f"Bonferroni: exact hypergeometric bound per stratum at tail {per_tail:.6g}; conservative"
    elif method == "wilson_kish":
        n_eff = N * N / sum(N_h * N_h / n_h for N_h, n_h, _ in rows)
        lo, hi = _wilson(point, n_eff, z)
        lo, hi = max(0.0, lo), min(1.0, hi)
        note = "Kish effective n reflects weighting only (no FPC, no stratification gain)"
    else:
        if variance <= 0.0:
            raise IntervalUndefined(
                f"{method} is undefined here: the estimated variance is 0 (p_st = {point:.6g}; every "
                "stratum is unanimous or a census). Use wilson_kish or exact_bonferroni, and the "
                "per-village exact bounds."
            )
        if method == "wald":
            half = z * math.sqrt(variance)
            lo, hi = max(0.0, point - half), min(1.0, point + half)
        elif method == "wilson":
            n_eff = point * (1 - point) / variance
            lo, hi = _wilson(point, n_eff, z)
        else:  # korn_graubard
            n_eff = point * (1 - point) / variance
            if df < 1:
                raise IntervalUndefined("korn_graubard needs at least one design degree of freedom (n > H)")
            n_eff *= (stats.t.ppf(tail, n - 1) / stats.t.ppf(tail, df)) ** 2
            x_star = n_eff * point
            lo = float(stats.beta.ppf(tail, x_star, n_eff - x_star + 1))
            hi = float(stats.beta.isf(tail, x_star + 1, n_eff - x_star))
    if sides == "lower":
        hi = 1.0
    return StratifiedInterval(
        point=point,
        lower=float(lo),
        upper=float(hi),
        method=method,
        confidence=confidence,
        sides=sides,
        variance=variance,
        n_eff=n_eff,
        df=df,
        n=n,
        successes=successes,
        population=N,
        strata=H,
        note=note,
    )
