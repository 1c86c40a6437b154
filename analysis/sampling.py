"""Random selection from a roster that anyone can recompute, response rates, and
verdicts that survive non-response.

The draw
--------
Each village (stratum) has a frame: the positions 1…N_h on the village's own
numbered paper list. ``draw_sample(seed, frames, sizes)`` draws a simple random
sample without replacement of n_h positions per village, and orders *all*
remaining positions as reserves (the declared replacement rule: a replaced
card goes to the next unused reserve, never to a position the interviewer
picks).

The algorithm is fixed here, version ``DRAW_ALGORITHM`` (it never depends on a
numpy ``Generator`` method, whose streams numpy may change between releases):

1. Key. ``key = SHA-256(UTF-8(JSON))`` where JSON is
   ``json.dumps(["survey-app-draw-v1", seed, village], ensure_ascii=False,
   separators=(",", ":"))``. Seed and village are NFC-normalised first.
   Villages get independent streams: adding or renaming one village does not
   change another's draw.
2. Generator. PCG64 (O'Neill's PCG XSL-RR 128/64, as ``numpy.random.PCG64``)
   with ``state = int.from_bytes(key[0:16], "big")`` and
   ``inc = int.from_bytes(key[16:32], "big") | 1``. Each raw 64-bit output
   ``u`` advances ``state = (state · M + inc) mod 2¹²⁸`` with
   M = 0x2360ED051FC65DA44385DF649FCCF645, then returns
   ``rotr64((state >> 64) XOR (state mod 2⁶⁴), state >> 122)``.
   We read outputs with ``PCG64.random_raw`` (the bit generator's raw stream,
   which numpy keeps stable); ``_pcg64_reference`` below is the same
   generator in plain Python and a test keeps the two identical.
3. Bounded integers. ``below(m)`` for m ≥ 1: take the next raw output u;
   reject it while ``u < (2⁶⁴ − m) mod m`` (= 2⁶⁴ mod m); return ``u mod m``.
   Exactly uniform on 0…m−1.
4. Order. Fisher–Yates on the list ``[1, 2, …, N]``: for i = 0 … N−2,
   ``j = i + below(N − i)``, swap items i and j. The result is the draw order.
   The first n_h positions are the sample; the rest, in order, are the
   reserves.

Systematic sampling with a random start (``method="systematic"``), version
``SYSTEMATIC_ALGORITHM``: circular systematic sampling with a fractional
interval. The key is step 1 with the label ``"survey-app-systematic-v1"``
instead of ``"survey-app-draw-v1"``; the generator and ``below`` are steps 2–3.
The start is ``s = below(N)``; the sample is, for i = 0 … n−1, position
``((s + floor(i·N/n)) mod N) + 1`` in that order. The offsets floor(i·N/n)
are distinct, so every position is drawn for exactly n of the N starts:
inclusion probability n/N, as for a simple random sample (but pairs are not
equally likely: neighbours on the list are never drawn together when n < N/2).
Reserves are the other positions in the simple-random draw order of step 4, so
replacements follow the same declared rule.

Anyone can recompute a draw from the seed and the frame with this module alone
(``python -m analysis draw``) or with any PCG64 implementation.

Non-response
------------
``nonresponse_bounds`` follows Horowitz & Manski (2000): of n₀ eligible drawn
people (or the whole population N in a census attempt), r answered and x were
satisfied. Nothing in the data says how the n₀ − r others would have answered,
so the satisfied count among all n₀ lies between x (every non-respondent
dissatisfied: worst case) and x + n₀ − r (every one satisfied: best case).
Each end gets the exact verdict of ``analysis.verdict``; the **robust
verdict** is supported only when even the worst case is supported, and
contradicted only when even the best case is contradicted. A one-sided test
at the worst end is a valid level-α test for the whole identified set, as in
Imbens & Manski (2004); the two-sided interval shown for the whole set is the
conservative union of the two ends' intervals.

Response rates follow AAPOR *Standard Definitions* (final disposition codes
I, P, R, NC, O, UH/UO, NE; RR1–RR6, COOP1–4, REF1–3, CON1–3).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import stats

from analysis._validation import check_confidence
from analysis.targets import Target
from analysis.verdict import Verdict, target_fraction, verdict

#: draw methods: simple random sampling (Fisher–Yates order) and systematic with a random start
DRAW_METHODS = ("simple", "systematic")
SYSTEMATIC_ALGORITHM = "survey-app-systematic-v1: circular systematic, start below(N) on PCG64"

__all__ = [
    "DRAW_METHODS",
    "SYSTEMATIC_ALGORITHM",
    "systematic_positions",
    "DISPOSITIONS",
    "DISPOSITION_LABELS",
    "DRAW_ALGORITHM",
    "MAX_FRAME",
    "AaporRates",
    "Bounds",
    "DrawPlan",
    "VillageDraw",
    "aapor_rates",
    "check_issued",
    "draw_key",
    "draw_order",
    "draw_sample",
    "nonresponse_bounds",
    "plan_draw",
]

DRAW_ALGORITHM = "survey-app-draw-v1: SHA-256 key, PCG64 raw outputs, rejection below(m), Fisher–Yates"
#: largest frame per village (a roster of households or persons of one village)
MAX_FRAME = 1_000_000

_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645


# -- the draw -----------------------------------------------------------------------


def _nfc(text: str, what: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text, got {text!r}")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise ValueError(f"{what} must not be empty")
    return text


def draw_key(seed: str, village: str, label: str = "survey-app-draw-v1") -> bytes:
    """The 32-byte key of one village's draw: SHA-256 of the canonical JSON (step 1)."""
    canonical = json.dumps([label, _nfc(seed, "seed"), _nfc(village, "village")],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _pcg_state(key: bytes) -> tuple[int, int]:
    return int.from_bytes(key[:16], "big"), int.from_bytes(key[16:32], "big") | 1


class _Raw:
    """Raw 64-bit outputs of PCG64 seeded from a key, read in blocks from numpy."""

    BLOCK = 4096

    def __init__(self, key: bytes) -> None:
        state, inc = _pcg_state(key)
        self._bg = np.random.PCG64()
        self._bg.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                          "has_uint32": 0, "uinteger": 0}
        self._buf: list[int] = []
        self._i = 0

    def next(self) -> int:
        if self._i == len(self._buf):
            self._buf = [int(v) for v in self._bg.random_raw(self.BLOCK)]
            self._i = 0
        u = self._buf[self._i]
        self._i += 1
        return u

    def below(self, m: int) -> int:
        """Uniform on 0…m−1 by rejection (step 3)."""
        threshold = (1 << 64) % m
        while True:
            u = self.next()
            if u >= threshold:
                return u % m


def _pcg64_reference(key: bytes, count: int) -> list[int]:
    """The first ``count`` raw outputs of PCG64 in plain Python (step 2), for cross-checks."""
    state, inc = _pcg_state(key)
    out = []
    for _ in range(count):
        state = (state * _PCG_MULT + inc) & _MASK128
        xored = ((state >> 64) ^ state) & _MASK64
        rot = state >> 122
        out.append(((xored >> rot) | (xored << ((64 - rot) & 63))) & _MASK64)
    return out


def _check_frame(village: str, size: object) -> int:
    if not isinstance(size, numbers.Integral) or isinstance(size, bool):
        raise ValueError(f"frame of {village!r} must be a whole number, got {size!r}")
    if not 1 <= size <= MAX_FRAME:
        raise ValueError(f"frame of {village!r} must be between 1 and {MAX_FRAME}, got {size}")
    return int(size)


def draw_order(seed: str, village: str, frame: int, length: int | None = None) -> list[int]:
    """The draw order of positions 1…frame for one village (steps 1–4).

    With ``length`` only the first ``length`` positions are computed. They are
    exactly the first positions of the full order (swap i of Fisher–Yates fixes
    item i for good), in O(length) time and memory however large the frame.
    """
    frame = _check_frame(village, frame)
    steps = frame if length is None else max(0, min(int(length), frame))
    raw = _Raw(draw_key(seed, village))
    moved: dict[int, int] = {}  # sparse Fisher–Yates: index → item, for indices touched so far
    order = []
    for i in range(steps):
        j = i + raw.below(frame - i) if i < frame - 1 else i
        item_j = moved.get(j, j + 1)
        moved[j] = moved.get(i, i + 1)
        order.append(item_j)
    return order


def systematic_positions(seed: str, village: str, frame: int, size: int) -> list[int]:
    """Circular systematic sample of ``size`` of positions 1…frame with a random start (see the module doc)."""
    frame = _check_frame(village, frame)
    if size <= 0:
        return []
    start = _Raw(draw_key(seed, village, "survey-app-systematic-v1")).below(frame)
    return [(start + i * frame // size) % frame + 1 for i in range(size)]


@dataclass(frozen=True)
class VillageDraw:
    """One village's draw.

    Attributes
    ----------
    sample : list of int
        The drawn positions, in draw order (the visit list sorts them).
    reserves : list of int
        Every other position, in the order replacements must use them.
    """

    village: str
    frame: int
    size: int
    sample: list[int]
    reserves: list[int]
    key: str = field(repr=False, default="")

    @property
    def order(self) -> list[int]:
        return self.sample + self.reserves

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def draw_sample(seed: str, frames: Mapping[str, int], sizes: Mapping[str, int], *,
                reserves: int | None = None, method: str = "simple") -> dict[str, VillageDraw]:
    """Draw a simple random sample (or, with ``method="systematic"``, a systematic sample with a
    random start) per village from ``seed``.

    Parameters
    ----------
    seed : str
        The seed text, fixed and published before the draw.
    frames : mapping village → N_h
        The roster size: positions 1…N_h on the village's numbered list.
    sizes : mapping village → n_h
        How many positions to draw (0 ≤ n_h ≤ N_h). Every village in
        ``sizes`` needs a frame; villages with a frame and no size draw 0.

    Returns
    -------
    dict village → VillageDraw, in the order of ``frames``.

    Examples
    --------
    >>> d = draw_sample("2026-11-28 福彩3D 第2026318期 507", {"村A": 120}, {"村A": 3})
    >>> len(d["村A"].sample), len(d["村A"].reserves)
    (3, 117)
    """
    _nfc(seed, "seed")
    if method not in DRAW_METHODS:
        raise ValueError(f"method must be one of {', '.join(DRAW_METHODS)}, got {method!r}")
    unknown = [v for v in sizes if v not in frames]
    if unknown:
        raise ValueError(f"no frame for {', '.join(map(repr, unknown))}")
    out: dict[str, VillageDraw] = {}
    for village, frame in frames.items():
        frame = _check_frame(village, frame)
        size = sizes.get(village, 0)
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or not 0 <= size <= frame:
            raise ValueError(f"sample size of {village!r} must be a whole number from 0 to {frame}, got {size!r}")
        if method == "systematic":
            sample = systematic_positions(seed, village, frame, int(size))
            taken = set(sample)
            rest = [p for p in draw_order(seed, village, frame) if p not in taken]
            if reserves is not None:
                rest = rest[:max(0, reserves)]
            out[village] = VillageDraw(village, frame, int(size), sample, rest,
                                       draw_key(seed, village, "survey-app-systematic-v1").hex())
            continue
        order = draw_order(seed, village, frame, None if reserves is None else int(size) + max(0, reserves))
        out[village] = VillageDraw(village, frame, int(size), order[:size], order[size:],
                                   draw_key(seed, village).hex())
    return out


def check_issued(draw: VillageDraw, issued: Iterable[int], *, replacements: int = 0) -> list[str]:
    """Problems with cards issued to ``issued`` positions under ``draw`` (empty when fine).

    Allowed: the drawn positions, plus, for ``replacements`` declared
    replacement cards, the first ``replacements`` reserves in draw order (the
    declared rule). Anything else is a card issued to a position that was not
    drawn. Each position carries at most one card.
    """
    problems: list[str] = []
    seen: set[int] = set()
    for p in issued:
        if p in seen:
            problems.append(f"position {p} has more than one card")
        seen.add(p)
    if replacements < 0:
        raise ValueError("replacements must not be negative")
    allowed = set(draw.sample) | set(draw.reserves[:replacements])
    problems += [f"position {p} was not drawn" for p in sorted(seen - allowed)]
    return problems


# -- AAPOR dispositions and rates -------------------------------------------------

#: our final dispositions and their AAPOR codes
DISPOSITIONS = {
    "completed": "I",       # 1.1 complete
    "partial": "P",         # 1.2 partial
    "refused": "R",         # 2.1 refusal and break-off
    "non_contact": "NC",    # 2.2 non-contact (after the declared number of visits)
    "other": "O",           # 2.3 other (e.g. too ill, language)
    "unknown": "U",         # 3.x unknown eligibility (UH + UO), also unused cards at close
    "not_eligible": "NE",   # 4.x not eligible (moved away, not in the group, position empty)
}
DISPOSITION_LABELS = {
    "completed": "完成", "partial": "部分完成", "refused": "拒访", "non_contact": "多次上门未接触",
    "other": "其他原因未访", "unknown": "情况不明", "not_eligible": "不符合条件",
}


@dataclass(frozen=True)
class AaporRates:
    """AAPOR outcome rates (Standard Definitions), each in [0, 1] or None when 0/0."""

    counts: dict[str, int]
    e: float
    rr1: float | None
    rr2: float | None
    rr3: float | None
    rr4: float | None
    rr5: float | None
    rr6: float | None
    coop1: float | None
    coop2: float | None
    coop3: float | None
    coop4: float | None
    ref1: float | None
    ref2: float | None
    ref3: float | None
    con1: float | None
    con2: float | None
    con3: float | None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def aapor_rates(counts: Mapping[str, int], *, e: float | None = None) -> AaporRates:
    """AAPOR response, cooperation, refusal and contact rates from disposition counts.

    Parameters
    ----------
    counts : mapping
        Keys from ``DISPOSITIONS`` (or the AAPOR codes I, P, R, NC, O, U, NE);
        missing keys count 0.
    e : float, optional
        Estimated share of unknown-eligibility cases that are eligible. Default:
        the share eligible among cases whose eligibility is known,
        (I+P+R+NC+O)/(I+P+R+NC+O+NE) (AAPOR's "proportional allocation"), or 1
        when nothing is known.

    With U = UH + UO the formulas are (AAPOR Standard Definitions)::

        RR1 = I / ((I+P) + (R+NC+O) + U)          RR2 = (I+P) / (same)
        RR3 = I / ((I+P) + (R+NC+O) + e·U)        RR4 = (I+P) / (same)
        RR5 = I / ((I+P) + (R+NC+O))              RR6 = (I+P) / (same)
        COOP1 = I / ((I+P) + R + O)   COOP2 = (I+P) / ((I+P) + R + O)
        COOP3 = I / ((I+P) + R)       COOP4 = (I+P) / ((I+P) + R)
        REF1 = R / ((I+P) + (R+NC+O) + U)   REF2 = R / (… + e·U)   REF3 = R / ((I+P) + (R+NC+O))
        CON1 = ((I+P)+R+O) / ((I+P)+R+O+NC+U)   CON2 = … / (… + e·U)   CON3 = … / ((I+P)+R+O+NC)
    """
    codes = {"I": 0, "P": 0, "R": 0, "NC": 0, "O": 0, "U": 0, "NE": 0}
    for key, value in counts.items():
        code = DISPOSITIONS.get(key, key)
        if code not in codes:
            raise ValueError(f"unknown disposition {key!r}; use one of {sorted(DISPOSITIONS)}")
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise ValueError(f"count of {key!r} must be a whole number ≥ 0, got {value!r}")
        codes[code] += int(value)
    I, P, R, NC, O, U, NE = (codes[c] for c in ("I", "P", "R", "NC", "O", "U", "NE"))  # noqa: E741 (AAPOR codes)
    known = I + P + R + NC + O
    if e is None:
        e = known / (known + NE) if known + NE else 1.0
    elif not isinstance(e, numbers.Real) or isinstance(e, bool) or not 0 <= e <= 1:
        raise ValueError(f"e must be a number in [0, 1], got {e!r}")
    e = float(e)
    IP = I + P
    contacted = IP + R + O
    return AaporRates(
        counts=codes, e=e,
        rr1=_ratio(I, known + U), rr2=_ratio(IP, known + U),
        rr3=_ratio(I, known + e * U), rr4=_ratio(IP, known + e * U),
        rr5=_ratio(I, known), rr6=_ratio(IP, known),
        coop1=_ratio(I, IP + R + O), coop2=_ratio(IP, IP + R + O),
        coop3=_ratio(I, IP + R), coop4=_ratio(IP, IP + R),
        ref1=_ratio(R, known + U), ref2=_ratio(R, known + e * U), ref3=_ratio(R, known),
        con1=_ratio(contacted, contacted + NC + U), con2=_ratio(contacted, contacted + NC + e * U),
        con3=_ratio(contacted, contacted + NC),
    )


# -- non-response bounds ------------------------------------------------------------

ROBUST_LABELS = {
    "supported": "达标（即使未答者全部不满意也有统计支持）",
    "contradicted": "未达标（即使未答者全部满意也未达标）",
    "inconclusive": "尚无定论（取决于未答者的态度）",
}


@dataclass(frozen=True)
class Bounds:
    """Verdicts on a "≥ target" claim when some of those asked did not answer.

    Attributes
    ----------
    drawn : int
        n₀: eligible people asked (the drawn sample, or N in a census attempt).
    respondents, satisfied : int
        r and x.
    nonrespondents : int
        n₀ − r.
    assumed, worst, best : Verdict
        ``assumed``: x of r (non-respondents resemble respondents); ``worst``:
        x of n₀; ``best``: x + n₀ − r of n₀. Each exact (hypergeometric with N).
    worst_interval, best_interval : tuple of float
        Exact two-sided intervals at ``confidence`` for each end.
    interval : tuple of float
        Covers every non-respondent scenario: worst lower end, best upper end.
    robust : str
        supported / contradicted / inconclusive.
    """

    target: float
    confidence: float
    drawn: int
    respondents: int
    satisfied: int
    population: int | None
    census: bool
    assumed: Verdict | None
    worst: Verdict
    best: Verdict
    worst_interval: tuple[float, float]
    best_interval: tuple[float, float]
    interval: tuple[float, float]
    robust: str

    @property
    def nonrespondents(self) -> int:
        return self.drawn - self.respondents

    @property
    def response_rate(self) -> float:
        return self.respondents / self.drawn

    @property
    def robust_label(self) -> str:
        return ROBUST_LABELS[self.robust]

    def as_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data.update(nonrespondents=self.nonrespondents, response_rate=self.response_rate,
                    robust_label=self.robust_label)
        return data


def _two_sided(x: int, n: int, N: int | None, confidence: float) -> tuple[float, float]:
    from analysis.proportions import proportion_interval

    method = "exact_hypergeometric" if N is not None else "clopper_pearson"
    iv = proportion_interval(x, n, method=method, confidence=confidence, population=N)
    return iv.lower, iv.upper


def _whole(name: str, value: object) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def nonresponse_bounds(
    satisfied: int,
    respondents: int,
    drawn: int,
    target: float | str | Target,
    *,
    population: int | None = None,
    confidence: float = 0.95,
) -> Bounds:
    """Worst-case and best-case verdicts when ``drawn − respondents`` did not answer.

    Parameters
    ----------
    satisfied, respondents, drawn : int
        x ≤ r ≤ n₀. ``drawn`` counts eligible people asked; a census attempt
        has ``drawn == population``.
    target : float, str or Target
    population : int, optional
        Known N: exact hypergeometric bounds; n₀ = N is a census.
    confidence : float
        Confidence of each one-sided verdict bound and of the two-sided intervals.

    Examples
    --------
    A census attempt of 197 cadres, 150 answers, 146 satisfied:

    >>> b = nonresponse_bounds(146, 150, 197, "≥95%", population=197)
    >>> b.assumed.verdict, b.worst.point, b.worst.verdict, b.best.verdict, b.robust
    ('supported', 0.7411167512690355, 'contradicted', 'supported', 'inconclusive')
    """
    x = _whole("satisfied", satisfied)
    r = _whole("respondents", respondents)
    n0 = _whole("drawn", drawn)
    if n0 <= 0:
        raise ValueError(f"drawn must be positive, got {n0}")
    if not 0 <= x <= r <= n0:
        raise ValueError(f"need 0 ≤ satisfied ({x}) ≤ respondents ({r}) ≤ drawn ({n0})")
    N = None if population is None else _whole("population", population)
    if N is not None and n0 > N:
        raise ValueError(f"drawn ({n0}) cannot exceed the population ({N})")
    confidence = check_confidence(confidence)
    t = target_fraction(target)
    assumed = verdict(x, r, float(t), population=N, confidence=confidence) if r > 0 else None
    worst = verdict(x, n0, float(t), population=N, confidence=confidence)
    best = verdict(x + n0 - r, n0, float(t), population=N, confidence=confidence)
    if worst.verdict == "supported":
        robust = "supported"
    elif best.verdict == "contradicted":
        robust = "contradicted"
    else:
        robust = "inconclusive"
    w_iv = _two_sided(x, n0, N, confidence)
    b_iv = _two_sided(x + n0 - r, n0, N, confidence)
    return Bounds(float(t), confidence, n0, r, x, N, N is not None and n0 == N, assumed, worst, best,
                  w_iv, b_iv, (w_iv[0], b_iv[1]), robust)


# -- planning the draw -------------------------------------------------------------


@dataclass(frozen=True)
class DrawPlan:
    """How many cards to draw so that the robust verdict is supported with ``power``.

    ``cards`` is None when no draw up to the frame (or ``max_cards``) reaches
    the power; ``min_response_rate`` is the response rate below which even
    everyone satisfied cannot support the target in the worst case.
    """

    cards: int | None
    target: float
    expected_satisfaction: float
    expected_response: float
    power: float
    achieved_power: float | None
    expected_respondents: float | None
    min_response_rate: float
    population: int | None
    confidence: float
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _supports(x: int, n: int, t: Fraction, alpha: float, N: int | None) -> bool:
    """Does x satisfied of n support "≥ t" with the exact one-sided bound (as ``analysis.verdict``)?"""
    if N is not None:
        k_t = math.ceil(t * N)
        return k_t == 0 or float(stats.hypergeom.sf(x - 1, N, k_t - 1, n)) <= alpha
    return x >= 1 and float(stats.beta.ppf(alpha, x, n - x + 1)) >= float(t)


def _robust_power(n0: int, c: int, sat: float, resp: float, N: int | None) -> float:
    """P(worst case supported) = P(x ≥ c) with x = satisfied respondents among n₀ drawn.

    Each drawn person answers with probability ``resp`` independently of being
    satisfied; the satisfied among the drawn are Hypergeometric(N, round(sat·N), n₀)
    (Binomial(n₀, sat) without N), then thinned by ``resp``.
    """
    if c > n0:
        return 0.0
    if N is None:  # a thinned binomial is binomial
        return float(stats.binom.sf(c - 1, n0, sat * resp))
    s = np.arange(0, n0 + 1)
    weights = stats.hypergeom.pmf(s, N, round(sat * N), n0)
    return float(np.sum(weights * stats.binom.sf(c - 1, s, resp)))


def plan_draw(
    target: float | str | Target,
    expected_satisfaction: float,
    expected_response: float,
    *,
    power: float = 0.8,
    confidence: float = 0.95,
    population: int | None = None,
    max_cards: int = 20_000,
) -> DrawPlan:
    """Smallest number of cards n₀ whose robust verdict is supported with ``power``.

    The robust verdict is supported when the worst case (every non-respondent
    dissatisfied) is, i.e. x ≥ x_crit(n₀) for the exact one-sided bound. The
    worst case can only be supported when satisfied respondents reach the
    target share of everyone asked, so the plan needs roughly
    ``expected_satisfaction × expected_response > target``; the returned
    ``min_response_rate`` = target / expected_satisfaction says it plainly.
    """
    t = target_fraction(target)
    confidence = check_confidence(confidence)
    check_confidence(power)
    for name, v in (("expected_satisfaction", expected_satisfaction), ("expected_response", expected_response)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not 0 < v <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {v!r}")
    N = None if population is None else _whole("population", population)
    if N is not None and N <= 0:
        raise ValueError(f"population must be positive, got {N}")
    alpha = 1 - confidence
    min_resp = min(1.0, float(t) / expected_satisfaction)
    limit = N if N is not None else max_cards
    base = dict(target=float(t), expected_satisfaction=float(expected_satisfaction),
                expected_response=float(expected_response), power=float(power), min_response_rate=min_resp,
                population=N, confidence=confidence)
    if expected_satisfaction * expected_response <= float(t):
        return DrawPlan(None, achieved_power=None, expected_respondents=None,
                        note="expected satisfied respondents do not exceed the target share of cards drawn",
                        **base)
    best_n, best_p = None, 0.0
    c = 0  # the critical count x_crit(n₀) never decreases as n₀ grows: walk it up
    for n0 in range(1, limit + 1):
        while c <= n0 and not _supports(c, n0, t, alpha, N):
            c += 1
        p = _robust_power(n0, c, expected_satisfaction, expected_response, N)
        if p >= power:
            return DrawPlan(n0, achieved_power=p, expected_respondents=n0 * expected_response, **base)
        if p > best_p:
            best_n, best_p = n0, p
    note = (f"no draw up to {limit} reaches power {power}"
            + (f" (best {best_p:.3f} at {best_n})" if best_n else ""))
    return DrawPlan(None, achieved_power=None, expected_respondents=None, note=note, **base)
