"""Verdicts on "≥ t" claims, and how many answers a survey needs.

A claim "satisfaction ≥ t" is

* ``supported`` when the one-sided lower confidence bound is ≥ t,
* ``contradicted`` when the one-sided upper confidence bound is < t,
* ``inconclusive`` otherwise.

The bounds are exact: hypergeometric when the population N is known,
Clopper–Pearson when it is not, Bonferroni-combined hypergeometric bounds for
strata. These are the only common methods whose false-support rate never
exceeds α (``docs/statistics.md`` §5). For the hypergeometric bound the
comparison is made in whole people: "≥95% of 197" means K ≥ ⌈0.95·197⌉ = 188,
computed with fractions so that floating point cannot round it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import stats

from analysis._validation import check_confidence, check_counts
from analysis.proportions import hypergeometric_bounds, proportion_interval
from analysis.stratified import stratified_interval
from analysis.targets import Target, parse_target

__all__ = ["Verdict", "min_n_all_satisfied", "sample_size", "target_fraction", "verdict"]

VERDICT_LABELS = {"supported": "达标（有统计支持）", "contradicted": "未达标", "inconclusive": "尚无定论"}
#: without a population, stop looking for "more needed" beyond this many extra answers
MAX_EXTRA = 1_000_000


@dataclass(frozen=True)
class Verdict:
    """The verdict on a "≥ target" claim.

    Attributes
    ----------
    verdict : {'supported', 'contradicted', 'inconclusive'}
    target : float
        The target as a fraction (0.95).
    point, lower, upper : float
        Observed rate and one-sided bounds at ``confidence`` (each bound one-sided).
    method : str
        ``exact_hypergeometric``, ``clopper_pearson`` or ``exact_bonferroni``.
    more_needed : int or None
        More responses, at the current rate, that would settle an inconclusive
        verdict (0 when already settled; None when none can, see ``note``).
    settles_as : {'supported', 'contradicted'} or None
        Which way those ``more_needed`` responses would settle it (None when settled or unsettleable).
    """

    verdict: str
    target: float
    point: float
    lower: float
    upper: float
    method: str
    confidence: float
    n: int
    successes: int
    population: int | None
    more_needed: int | None
    note: str = ""
    settles_as: str | None = None

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.verdict]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def target_fraction(target: float | str | Target) -> Fraction:
    """The target of a "≥" claim as an exact fraction (0.95 → 19/20)."""
    if isinstance(target, str):
        target = parse_target(target)
    if isinstance(target, Target):
        if target.kind != "quantity" or target.value is None:
            raise ValueError(f"target {target.raw!r} is not a numeric target")
        if target.op not in (">=", ">", "="):
            raise ValueError(f"target {target.raw!r} is not a 'greater or equal' claim")
        if target.unit not in ("%", None):
            raise ValueError(f"target {target.raw!r} is not a rate (unit {target.unit}); use a score method")
        value = Fraction(str(target.value)) / 100 if target.unit == "%" or target.value > 1 else Fraction(str(target.value))
    else:
        value = Fraction(str(float(target)))
    if not 0 < value <= 1:
        raise ValueError(f"target must be in (0, 1], got {float(value)}")
    return value


def _k_target(t: Fraction, N: int) -> int:
    return math.ceil(t * N)


def _decide_hyper(x: int, n: int, N: int, t: Fraction, tail: float) -> tuple[str, int, int]:
    k_l, k_u = hypergeometric_bounds(x, n, N, tail)
    k_t = _k_target(t, N)
    if k_l >= k_t:
        return "supported", k_l, k_u
    if k_u < k_t:
        return "contradicted", k_l, k_u
    return "inconclusive", k_l, k_u


def _settled_hyper(xs: np.ndarray, ns: np.ndarray, N: int, t: Fraction,
                   alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised (supported, contradicted): supported ⇔ K_t−1 rejected; contradicted ⇔ K_t rejected."""
    k_t = _k_target(t, N)
    supported = stats.hypergeom.sf(xs - 1, N, k_t - 1, ns) <= alpha if k_t >= 1 else np.ones_like(xs, bool)
    contradicted = stats.hypergeom.cdf(xs, N, k_t, ns) <= alpha
    return supported, contradicted & ~supported


def _settled_cp(xs: np.ndarray, ns: np.ndarray, t: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    lower = np.where(xs == 0, 0.0, stats.beta.ppf(alpha, np.maximum(xs, 1e-300), ns - xs + 1))
    upper = np.where(xs == ns, 1.0, stats.beta.isf(alpha, xs + 1, np.maximum(ns - xs, 1e-300)))
    supported = lower >= t
    return supported, (upper < t) & ~supported


def verdict(
    successes: int,
    n: int,
    target: float | str | Target,
    *,
    population: int | None = None,
    confidence: float = 0.95,
    strata: Sequence[Sequence[int]] | None = None,
    max_total: int | None = None,
) -> Verdict:
    """Judge a "≥ target" claim from ``successes`` satisfied out of ``n`` valid answers.

    Parameters
    ----------
    successes, n : int
        Ignored when ``strata`` is given (the strata carry the counts).
    target : float, str or Target
        0.95, ``"≥95%"`` or a parsed target.
    population : int, optional
        Known population N: exact hypergeometric bounds.
    confidence : float
        Confidence of each one-sided bound.
    strata : sequence of (population_h, n_h, successes_h), optional
        Villages as strata: exact Bonferroni bounds.
    max_total : int, optional
        The most answers the group can ever give (its size) when it is known but
        not used as the design's population: ``more_needed`` never exceeds it.

    Examples
    --------
    >>> v = verdict(146, 150, "≥95%", population=197)
    >>> v.verdict, round(v.lower, 6)
    ('supported', 0.959391)
    >>> verdict(146, 150, 0.95).verdict
    'inconclusive'
    """
    t = target_fraction(target)
    confidence = check_confidence(confidence)
    alpha = 1 - confidence
    if strata is not None:
        return _verdict_strata(strata, t, confidence)
    x, n, N = check_counts(successes, n, population)
    p = x / n
    if N is not None:
        state, k_l, k_u = _decide_hyper(x, n, N, t, alpha)
        lower, upper = k_l / N, k_u / N
        method = "exact_hypergeometric"
    else:
        lo = proportion_interval(x, n, method="clopper_pearson", confidence=confidence, sides="lower").lower
        up = 1.0 if x == n else float(stats.beta.isf(alpha, x + 1, n - x))
        lower, upper = lo, up
        state = "supported" if lower >= float(t) else "contradicted" if upper < float(t) else "inconclusive"
        method = "clopper_pearson"
    more, note, way = (0, "", None) if state != "inconclusive" else _more_needed(x, n, N, t, alpha, max_total)
    return Verdict(state, float(t), p, lower, upper, method, confidence, n, x, N, more, note, way)


def _more_needed(x: int, n: int, N: int | None, t: Fraction, alpha: float,
                 max_total: int | None = None) -> tuple[int | None, str, str | None]:
    """(extra answers, note, which way they settle it) at the current rate."""
    p = x / n
    if N is not None:
        extra = np.arange(1, N - n + 1)
        if extra.size == 0:
            return None, "已是全面调查，无法再增加样本。", None
        ns = n + extra
        xs = np.minimum(np.rint(p * ns).astype(np.int64), ns)
        xs = np.maximum(xs, x)  # answers already in cannot disappear
        supported, contradicted = _settled_hyper(xs, ns, N, t, alpha)
        hits = np.flatnonzero(supported | contradicted)
        if hits.size:
            i = hits[0]
            return int(extra[i]), "", "supported" if supported[i] else "contradicted"
        return None, f"按目前的满意比例，即使调查全部 {N} 人也无法得出结论。", None
    if Fraction(x, n) == t:
        return None, "目前的满意率正好等于目标值，再多的样本也无法得出结论。", None
    limit = MAX_EXTRA if max_total is None else max(0, max_total - n)
    start, chunk = 1, 4096
    while start <= limit:
        extra = np.arange(start, min(start + chunk, limit + 1))
        ns = n + extra
        xs = np.rint(p * ns).astype(np.int64)
        supported, contradicted = _settled_cp(xs, ns, float(t), alpha)
        hits = np.flatnonzero(supported | contradicted)
        if hits.size:
            i = hits[0]
            return int(extra[i]), "", "supported" if supported[i] else "contradicted"
        start += chunk
        chunk *= 2
    if max_total is not None:
        return None, (f"按目前的满意比例，即使全部 {max_total} 人都作答也无法得出结论；"
                      "需要已知总体人数并作全面调查，或满意比例发生变化。"), None
    return None, f"按目前的满意比例，再增加 {MAX_EXTRA} 份也无法得出结论。", None


def _decide_strata(rows: list[tuple[int, int, int]], t: Fraction, confidence: float) -> tuple[str, float, float]:
    """The plain supported / contradicted / inconclusive test for strata (no more-needed search):
    exact hypergeometric bounds per stratum at α/H (Bonferroni), summed in whole people."""
    tail = (1 - confidence) / len(rows)
    k_lower = k_upper = N = 0
    for N_h, n_h, x_h in rows:
        k_l, k_u = hypergeometric_bounds(x_h, n_h, N_h, tail)
        k_lower, k_upper, N = k_lower + k_l, k_upper + k_u, N + N_h
    k_t = _k_target(t, N)
    state = "supported" if k_lower >= k_t else "contradicted" if k_upper < k_t else "inconclusive"
    return state, k_lower / N, k_upper / N


def _verdict_strata(strata: Sequence[Sequence[int]], t: Fraction, confidence: float) -> Verdict:
    low = stratified_interval(strata, method="exact_bonferroni", confidence=confidence, sides="lower")
    rows = [(int(s[0]), int(s[1]), int(s[2])) for s in strata]
    state, lower, upper = _decide_strata(rows, t, confidence)
    more: int | None = 0
    way: str | None = None
    note = low.note
    if state == "inconclusive":
        more, extra_note, way = _more_needed_strata(rows, t, confidence)
        note = f"{note}; {extra_note}" if extra_note else note
    return Verdict(state, float(t), low.point, lower, upper, "exact_bonferroni", confidence, low.n,
                   low.successes, low.population, more, note, way)


def _grow(rows: list[tuple[int, int, int]], m: int) -> list[tuple[int, int, int]]:
    """``m`` extra answers spread over villages in proportion to what each still lacks, at each village's rate."""
    room = [N_h - n_h for N_h, n_h, _ in rows]
    total_room = sum(room)
    grown = []
    for (N_h, n_h, x_h), r in zip(rows, room, strict=True):
        add = min(r, math.ceil(m * r / total_room)) if total_room else 0
        grown.append((N_h, n_h + add, min(n_h + add, x_h + round(add * x_h / n_h))))
    return grown


def _strata_after(strata: Sequence[Sequence[int]], m: int, target: float | str | Target,
                  confidence: float = 0.95) -> str:
    """The plain verdict state after ``m`` more answers spread as :func:`_grow` does."""
    rows = [(int(s[0]), int(s[1]), int(s[2])) for s in strata]
    return _decide_strata(_grow(rows, m), target_fraction(target), confidence)[0]


def _more_needed_strata(rows: list[tuple[int, int, int]], t: Fraction,
                        confidence: float) -> tuple[int | None, str, str | None]:
    """Extra answers spread over villages in proportion to what each still lacks.

    Each trial asks only the plain supported/contradicted/inconclusive test
    (:func:`_decide_strata`), never the full verdict with its own search.
    """
    total_room = sum(N_h - n_h for N_h, n_h, _ in rows)
    if total_room == 0:
        return None, "每个村都已全面调查，无法再增加样本。", None

    def state(m: int) -> str:
        return _decide_strata(_grow(rows, m), t, confidence)[0]

    if state(total_room) == "inconclusive":
        return None, "按各村目前的满意比例，即使全部调查也无法得出结论。", None
    lo, hi = 1, total_room
    while lo < hi:  # approximately monotone in m; bisection gives the first settling total
        mid = (lo + hi) // 2
        if state(mid) != "inconclusive":
            hi = mid
        else:
            lo = mid + 1
    return lo, "按各村剩余人数比例分配新增样本（近似）", state(lo)


# -- planning ---------------------------------------------------------------------

PLAN_METHODS = ("clopper_pearson", "wilson", "jeffreys", "exact_hypergeometric")


def _x_crit(n: int, t: Fraction, alpha: float, method: str, N: int | None) -> int:
    """Smallest number satisfied out of n that supports "≥ t" (n + 1 if none does)."""
    tf = float(t)
    if method == "exact_hypergeometric":
        assert N is not None
        k_t = _k_target(t, N)
        if k_t == 0:
            return 0
        xs = np.arange(0, n + 1)
        ok = stats.hypergeom.sf(xs - 1, N, k_t - 1, n) <= alpha
    elif method == "clopper_pearson":
        xs = np.arange(1, n + 1)
        ok = stats.beta.ppf(alpha, xs, n - xs + 1) >= tf
    elif method == "wilson":
        # exactly proportion_interval(method="wilson", population=N, sides="lower"): n_eff = n(N−1)/(N−n)
        # with a population, the observed rate in a census, plain Wilson without one
        xs = np.arange(0, n + 1)
        p = xs / n
        if N is not None and n >= N:
            lower = p
        else:
            z = float(stats.norm.isf(alpha))
            m = n if N is None else n * (N - 1) / (N - n)
            denom = 1 + z * z / m
            lower = (p + z * z / (2 * m) - z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))) / denom
        ok = lower >= tf
    elif method == "jeffreys":
        xs = np.arange(0, n + 1)
        ok = stats.beta.ppf(alpha, xs + 0.5, n - xs + 0.5) >= tf
    else:
        raise ValueError(f"unknown planning method {method!r}; choose one of {PLAN_METHODS}")
    hits = np.flatnonzero(ok)
    return int(xs[hits[0]]) if hits.size else n + 1


def _power(n: int, x_crit: int, expected: float, N: int | None) -> float:
    if x_crit > n:
        return 0.0
    if N is not None:
        k0 = round(expected * N)
        return float(stats.hypergeom.sf(x_crit - 1, N, k0, n))
    return float(stats.binom.sf(x_crit - 1, n, expected))


def _plan_method(method: str | None, population: int | None) -> str:
    if method is None:
        return "exact_hypergeometric" if population is not None else "clopper_pearson"
    if method not in PLAN_METHODS:
        raise ValueError(f"unknown planning method {method!r}; choose one of {PLAN_METHODS}")
    if method == "exact_hypergeometric" and population is None:
        raise ValueError("exact_hypergeometric needs population=N")
    return method


def sample_size(
    target: float | str | Target,
    expected: float,
    *,
    power: float = 0.8,
    confidence: float = 0.95,
    population: int | None = None,
    method: str | None = None,
    max_n: int = 200_000,
) -> int:
    """Smallest n whose probability of a ``supported`` verdict reaches ``power``.

    Computed exactly: for each n the critical count x_crit(n) of the chosen
    one-sided bound, then P(X ≥ x_crit) under Binomial(n, expected) or, with
    a population, Hypergeometric(N, K₀ = round(expected·N), n). Power is a
    sawtooth in n (discreteness), so a slightly larger n can have lower power;
    this returns the *first* n that reaches it.

    Raises
    ------
    ValueError
        When ``expected`` does not exceed the target, or no n (up to N or
        ``max_n``) reaches the power.

    Examples
    --------
    >>> sample_size(0.95, 0.97)
    601
    >>> sample_size(0.95, 0.97, population=200)
    145
    """
    t = target_fraction(target)
    confidence = check_confidence(confidence)
    check_confidence(power)
    method = _plan_method(method, population)
    if not 0 < expected <= 1:
        raise ValueError(f"expected rate must be in (0, 1], got {expected}")
    if expected <= float(t):
        raise ValueError(f"expected rate {expected} must exceed the target {float(t)} for the claim to be supportable")
    alpha = 1 - confidence
    limit = population if population is not None else max_n
    if population is not None and round(expected * population) < _k_target(t, population):
        raise ValueError("with this population the expected number satisfied is below the target even in a census")
    for n in range(1, limit + 1):
        if _power(n, _x_crit(n, t, alpha, method, population), expected, population) >= power:
            return n
    raise ValueError(f"no sample size up to {limit} reaches power {power}")


def min_n_all_satisfied(
    target: float | str | Target,
    *,
    confidence: float = 0.95,
    population: int | None = None,
    method: str | None = None,
) -> int:
    """Smallest all-satisfied sample that supports the target.

    59 for ≥95% with N unknown (Clopper–Pearson: 0.05^(1/59) = 0.9505); 24 of
    N = 31; 50 of N = 197 (exact hypergeometric).

    Raises
    ------
    ValueError
        When even a census cannot support the target (impossible for t ≤ 1).
    """
    t = target_fraction(target)
    confidence = check_confidence(confidence)
    method = _plan_method(method, population)
    alpha = 1 - confidence
    if method == "clopper_pearson":
        n = math.ceil(math.log(alpha) / math.log(float(t))) if t < 1 else None
        if n is None:
            raise ValueError("a 100% target can never be supported by a sample from an unknown population")
        while n > 1 and alpha ** (1 / (n - 1)) >= float(t):
            n -= 1
        while alpha ** (1 / n) < float(t):
            n += 1
        if population is not None and n > population:
            raise ValueError(f"no all-satisfied sample up to {population} supports the target with clopper_pearson")
        return n
    limit = population if population is not None else 10_000_000
    if method == "exact_hypergeometric":
        assert population is not None
        k_t = _k_target(t, population)
        ns = np.arange(1, population + 1)
        # all n satisfied supports the claim ⇔ K_t − 1 is rejected: P(X ≥ n | K_t − 1) ≤ α
        ok = stats.hypergeom.sf(ns - 1, population, k_t - 1, ns) <= alpha if k_t >= 1 else np.ones_like(ns, bool)
        hits = np.flatnonzero(ok)
        return int(ns[hits[0]])
    n = 1
    while n <= limit:
        if _x_crit(n, t, alpha, method, population) <= n:
            return n
        n += 1
    raise ValueError(f"no all-satisfied sample up to {limit} supports the target")
