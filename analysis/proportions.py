"""Confidence intervals for a proportion, with and without a known population.

Conventions (see ``docs/statistics.md`` and the README):

* ``sides="two-sided"`` puts α/2 in each tail; ``sides="lower"`` is a one-sided
  lower bound with all of α in the lower tail (``upper`` is then 1).
* Wald and Agresti–Coull are clipped to [0, 1], as statsmodels does.
* ``jeffreys`` is the equal-tailed Beta(x+½, n−x+½) interval with no boundary
  change (statsmodels); ``jeffreys_bcd`` adds the Brown–Cai–DasGupta change.
* With ``population=N`` sampling is without replacement. ``n == N`` is a census:
  the interval is the observed rate.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

from scipy import stats

from analysis._validation import check_confidence, check_counts, check_sides, tail_alpha

__all__ = ["METHODS", "POPULATION_METHODS", "Interval", "proportion_interval", "hypergeometric_bounds"]

METHODS = ("wald", "wilson", "wilson_cc", "agresti_coull", "clopper_pearson", "jeffreys", "jeffreys_bcd")
POPULATION_METHODS = ("exact_hypergeometric", "wilson", "wald", "clopper_pearson")

METHOD_LABELS = {
    "wald": "Wald（正态近似，不推荐）",
    "wilson": "Wilson 得分区间",
    "wilson_cc": "Wilson 连续性校正区间",
    "agresti_coull": "Agresti–Coull 区间",
    "clopper_pearson": "Clopper–Pearson 精确区间",
    "jeffreys": "Jeffreys 区间",
    "jeffreys_bcd": "Jeffreys 区间（BCD 边界修正）",
    "exact_hypergeometric": "超几何精确区间（有限总体）",
}


@dataclass(frozen=True)
class Interval:
    """A proportion with its confidence interval and everything needed to read it.

    Attributes
    ----------
    point : float
        The observed proportion ``successes / n``.
    lower, upper : float
        Interval bounds; ``upper`` is 1 for a one-sided lower bound.
    method, confidence, sides : str, float, str
    n, successes : int
    population : int or None
        The known population size N, if any.
    k_lower, k_upper : int or None
        For ``exact_hypergeometric``: the bounds as whole numbers of satisfied
        people in the population (``lower = k_lower / N``).
    n_eff : float or None
        Effective sample size used by variance-based methods.
    note : str
        Anything a reader must know (census, conservative, degenerate).
    """

    point: float
    lower: float
    upper: float
    method: str
    confidence: float
    sides: str
    n: int
    successes: int
    population: int | None = None
    k_lower: int | None = None
    k_upper: int | None = None
    n_eff: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        pop = f", N={self.population}" if self.population else ""
        side = "双侧" if self.sides == "two-sided" else "单侧下限"
        return (
            f"{self.point:.1%} [{self.lower:.1%}, {self.upper:.1%}], n={self.n}{pop}, "
            f"{METHOD_LABELS.get(self.method, self.method)} {self.confidence:.0%} {side}"
        )


@functools.lru_cache(maxsize=64)
def _z(tail: float) -> float:
    """The normal quantile for a tail (cached: a page asks it for the same confidence hundreds of times)."""
    return float(stats.norm.isf(tail))


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return center - half, center + half


def _clip(lo: float, hi: float) -> tuple[float, float]:
    return max(0.0, lo), min(1.0, hi)


def _clopper_pearson(x: int, n: int, tail: float) -> tuple[float, float]:
    lo = 0.0 if x == 0 else float(stats.beta.ppf(tail, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.isf(tail, x + 1, n - x))
    return lo, hi


def hypergeometric_bounds(x: int, n: int, population: int, tail: float) -> tuple[int, int]:
    """Exact bounds ``(K_L, K_U)`` on the number of satisfied people in the population.

    Inverts the one-sided hypergeometric tests: ``K_L`` is the smallest K with
    ``P(X >= x | N, K, n) > tail`` and ``K_U`` the largest with
    ``P(X <= x | N, K, n) > tail``. Both tail probabilities are monotone in K:
    a bisection over the feasible K finds them exactly (tail sums from log-gamma, far
    cheaper than a scipy call per step). Results are cached (pure function of integers).

    References
    ----------
    Buonaccorsi (1987); the cluster-text.com calculator values in
    ``tests/analysis/reference_values.py`` are reproduced exactly.
    """
    return _hypergeometric_bounds(int(x), int(n), int(population), float(tail))


def _log_pmf(k: int, n: int, N: int, K: int) -> float:
    """log P(X = k) for X ~ Hypergeometric(N, K, n), from log-gamma."""
    lg = math.lgamma
    return (lg(K + 1) - lg(k + 1) - lg(K - k + 1) + lg(N - K + 1) - lg(n - k + 1) - lg(N - K - n + k + 1)
            - lg(N + 1) + lg(n + 1) + lg(N - n + 1))


def _tail(x: int, n: int, N: int, K: int, upper: bool) -> float:
    """P(X >= x) (``upper``) or P(X <= x) for X ~ Hypergeometric(N, K, n).

    Sums the probabilities outwards from x, away from the mode, with the ratio of
    consecutive terms, until they no longer change the sum (relative 1e-17); a
    tail that contains the mode is one minus the other tail. A few dozen float
    operations instead of a scipy call.
    """
    lo, hi = max(0, n - (N - K)), min(n, K)
    mode = (n + 1) * (K + 1) // (N + 2)
    if upper:
        if x <= lo:
            return 1.0
        if x > hi:
            return 0.0
        return _away(x, hi, 1, n, N, K) if x > mode else max(0.0, 1.0 - _away(x - 1, lo, -1, n, N, K))
    if x >= hi:
        return 1.0
    if x < lo:
        return 0.0
    return _away(x, lo, -1, n, N, K) if x < mode else max(0.0, 1.0 - _away(x + 1, hi, 1, n, N, K))


def _away(start: int, stop: int, step: int, n: int, N: int, K: int) -> float:
    """Σ P(X = k) for k from ``start`` to ``stop`` (terms decreasing: ``start`` is beyond the mode)."""
    term = math.exp(_log_pmf(start, n, N, K))
    total, k = term, start
    while k != stop:
        if step == 1:
            term *= (K - k) * (n - k) / ((k + 1) * (N - K - n + k + 1))
        else:
            term *= k * (N - K - n + k) / ((K - k + 1) * (n - k + 1))
        k += step
        total += term
        if term <= total * 1e-17:
            break
    return min(total, 1.0)


@functools.lru_cache(maxsize=65536)
def _hypergeometric_bounds(x: int, n: int, N: int, tail: float) -> tuple[int, int]:
    k_min, k_max = x, N - (n - x)  # K values consistent with the sample

    def p_ge(K: int) -> float:  # P(X >= x) given K; increasing in K
        return _tail(x, n, N, K, upper=True)

    def p_le(K: int) -> float:  # P(X <= x) given K; decreasing in K
        return _tail(x, n, N, K, upper=False)

    lo, hi = k_min, k_max
    while lo < hi:  # smallest K with p_ge(K) > tail (p_ge(k_max) >= P(X = x) ... > 0)
        mid = (lo + hi) // 2
        if p_ge(mid) > tail:
            hi = mid
        else:
            lo = mid + 1
    k_lower = lo
    lo, hi = k_min, k_max
    while lo < hi:  # largest K with p_le(K) > tail
        mid = (lo + hi + 1) // 2
        if p_le(mid) > tail:
            lo = mid
        else:
            hi = mid - 1
    k_upper = lo
    return k_lower, k_upper


def proportion_interval(
    successes: int,
    n: int,
    *,
    method: str = "wilson",
    confidence: float = 0.95,
    sides: str = "two-sided",
    population: int | None = None,
) -> Interval:
    """Confidence interval for a proportion.

    Parameters
    ----------
    successes, n : int
        Satisfied answers and valid answers.
    method : str
        Without a population: ``wald``, ``wilson`` (default), ``wilson_cc``,
        ``agresti_coull``, ``clopper_pearson``, ``jeffreys``, ``jeffreys_bcd``.
        With ``population``: ``exact_hypergeometric`` (recommended), ``wilson``
        (n_eff = n(N−1)/(N−n)), ``wald`` (variance (1−n/N)p(1−p)/(n−1)) or
        ``clopper_pearson`` (ignores N: valid but conservative).
    confidence : float
        In (0, 1).
    sides : {'two-sided', 'lower'}
    population : int, optional
        Known population size N (sampling without replacement).

    Returns
    -------
    Interval

    Raises
    ------
    ValueError
        For n ≤ 0, successes outside [0, n], n > N, confidence outside (0, 1),
        an unknown method, or a method that does not fit the population setting.

    References
    ----------
    Newcombe, R. G. (1998). Two-sided confidence intervals for the single
    proportion. *Statistics in Medicine* 17, 857–872.
    Brown, L. D., Cai, T. T., DasGupta, A. (2001). Interval estimation for a
    binomial proportion. *Statistical Science* 16, 101–133.
    Agresti, A., Coull, B. A. (1998). *The American Statistician* 52, 119–126.
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., §3.2 (FPC variance).

    Examples
    --------
    >>> iv = proportion_interval(146, 150, population=197, method="exact_hypergeometric", sides="lower")
    >>> iv.k_lower, round(iv.lower, 6)
    (189, 0.959391)
    """
    x, n, N = check_counts(successes, n, population)
    confidence = check_confidence(confidence)
    sides = check_sides(sides)
    tail = tail_alpha(confidence, sides)
    p = x / n
    z = _z(tail)
    note = ""
    k_lower = k_upper = None
    n_eff: float | None = None

    if N is not None:
        if method not in POPULATION_METHODS:
            raise ValueError(
                f"method {method!r} does not take a population; with population use one of {POPULATION_METHODS}"
            )
        if n == N and method != "clopper_pearson":
            lo = hi = p
            k_lower = k_upper = x
            note = "census: every member answered, the interval is the observed rate"
        elif method == "exact_hypergeometric":
            k_lower, k_upper = hypergeometric_bounds(x, n, N, tail)
            lo, hi = k_lower / N, k_upper / N
        elif method == "wilson":
            n_eff = n * (N - 1) / (N - n)
            lo, hi = _clip(*_wilson(p, n_eff, z))
        elif method == "wald":
            if n < 2:
                raise ValueError("wald with a population needs n >= 2 (the variance divides by n - 1)")
            var = (1 - n / N) * p * (1 - p) / (n - 1)
            lo, hi = _clip(p - z * math.sqrt(var), p + z * math.sqrt(var))
            if p in (0.0, 1.0):
                note = "degenerate: the variance is 0 when every answer agrees; use exact_hypergeometric"
        else:  # clopper_pearson ignores N
            lo, hi = _clopper_pearson(x, n, tail)
            note = "ignores the population size: valid but conservative"
    else:
        if method == "exact_hypergeometric":
            raise ValueError("exact_hypergeometric needs population=N")
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS + ('exact_hypergeometric',)}")
        if method == "wald":
            half = z * math.sqrt(p * (1 - p) / n)
            lo, hi = _clip(p - half, p + half)
            if p in (0.0, 1.0):
                note = "degenerate: Wald gives zero width at 0% or 100%"
        elif method == "wilson":
            lo, hi = _wilson(p, n, z)
            lo, hi = (0.0 if x == 0 else lo), (1.0 if x == n else hi)
        elif method == "wilson_cc":
            denom = 2 * (n + z * z)
            center = (2 * n * p + z * z) / denom
            q = 1 - p
            lo = 0.0 if x == 0 else center - (1 + z * math.sqrt(z * z - 2 - 1 / n + 4 * p * (n * q + 1))) / denom
            hi = 1.0 if x == n else center + (1 + z * math.sqrt(z * z + 2 - 1 / n + 4 * p * (n * q - 1))) / denom
            lo, hi = _clip(lo, hi)
        elif method == "agresti_coull":
            n_tilde = n + z * z
            p_tilde = (x + z * z / 2) / n_tilde
            half = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
            lo, hi = _clip(p_tilde - half, p_tilde + half)
        elif method == "clopper_pearson":
            lo, hi = _clopper_pearson(x, n, tail)
        else:  # jeffreys, jeffreys_bcd
            lo = float(stats.beta.ppf(tail, x + 0.5, n - x + 0.5))
            hi = float(stats.beta.isf(tail, x + 0.5, n - x + 0.5))
            if method == "jeffreys_bcd":
                if x == n:
                    lo = tail ** (1 / n)
                elif x <= 1:
                    lo = 0.0
                if x == 0:
                    hi = 1 - tail ** (1 / n)
                elif x >= n - 1:
                    hi = 1.0
    if sides == "lower":
        hi = 1.0
        if k_upper is not None and N is not None:
            k_upper = N
    lo, hi = float(lo), float(hi)
    return Interval(
        point=p,
        lower=lo,
        upper=hi,
        method=method,
        confidence=confidence,
        sides=sides,
        n=n,
        successes=x,
        population=N,
        k_lower=k_lower,
        k_upper=k_upper,
        n_eff=n_eff,
        note=note,
    )
