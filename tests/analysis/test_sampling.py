"""Random draws from a roster, AAPOR rates, non-response bounds and the draw planner."""

import hashlib
import json
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from analysis import aapor_rates, check_issued, draw_sample, nonresponse_bounds, plan_draw, sample_size, verdict
from analysis.cli import main
from analysis.sampling import _pcg64_reference, _Raw, draw_key, draw_order

SEED = "2026-11-28 体彩排列三 第2026318期 开奖号码 507"

# Golden draws: recorded once from the documented algorithm. They must never change,
# on any platform or numpy version: an auditor recomputes old draws years later.
GOLDEN = {
    "村A": ([87, 2, 16, 117, 43, 46, 84, 94, 21, 71, 1, 36], [56, 70, 12, 75, 32, 35]),
    "村B": ([71, 79, 45, 3, 43, 14, 48, 76], [66, 64, 70, 13, 80, 6]),
}
GOLDEN_KEY_A = "db8cdf625665bd9ea507c484aa738a7e2bfcd8a2e8afbf3a6e1717839a5a842b"


def test_golden_draw_is_reproducible():
    draws = draw_sample(SEED, {"村A": 120, "村B": 80}, {"村A": 12, "村B": 8})
    for village, (sample, reserves) in GOLDEN.items():
        assert draws[village].sample == sample
        assert draws[village].reserves[:6] == reserves
        assert sorted(draws[village].order) == list(range(1, draws[village].frame + 1))
    assert draws["村A"].key == GOLDEN_KEY_A
    again = draw_sample(SEED, {"村B": 80, "村A": 120}, {"村A": 12, "村B": 8})  # order of villages is irrelevant
    assert again["村A"].sample == GOLDEN["村A"][0] and again["村B"].sample == GOLDEN["村B"][0]


def _spec_draw(seed, village, frame, size):
    """The documented algorithm written out again with hashlib and plain integers only."""
    canonical = json.dumps(["survey-app-draw-v1", seed, village], ensure_ascii=False, separators=(",", ":"))
    key = hashlib.sha256(canonical.encode("utf-8")).digest()
    state, inc = int.from_bytes(key[:16], "big"), int.from_bytes(key[16:], "big") | 1
    mult, m128, m64 = 0x2360ED051FC65DA44385DF649FCCF645, (1 << 128) - 1, (1 << 64) - 1

    def raw():
        nonlocal state
        state = (state * mult + inc) & m128
        xored = ((state >> 64) ^ state) & m64
        rot = state >> 122
        return ((xored >> rot) | (xored << ((64 - rot) & 63))) & m64

    def below(m):
        while True:
            u = raw()
            if u >= (1 << 64) % m:
                return u % m

    order = list(range(1, frame + 1))
    for i in range(frame - 1):
        j = i + below(frame - i)
        order[i], order[j] = order[j], order[i]
    return order[:size], order[size:]


@pytest.mark.parametrize("seed,village,frame,size", [
    (SEED, "村A", 120, 12), (SEED, "村B", 80, 8), ("x", "石门村", 2500, 40), ("0", "村", 1, 1),
    ("链头 ab12…|公开号 07 18 22", "Café 村", 37, 37),
])
def test_numpy_pcg64_matches_the_written_algorithm(seed, village, frame, size):
    sample, reserves = _spec_draw(seed, village, frame, size)
    d = draw_sample(seed, {village: frame}, {village: size})[village]
    assert (d.sample, d.reserves) == (sample, reserves)


def test_raw_stream_equals_plain_python_pcg64():
    key = draw_key(SEED, "村A")
    raw = _Raw(key)
    assert [raw.next() for _ in range(10_000)] == _pcg64_reference(key, 10_000)  # crosses a block boundary


def test_a_prefix_of_the_order_is_the_same_as_the_full_order():
    full = draw_order(SEED, "村A", 300)
    assert sorted(full) == list(range(1, 301))
    for length in (0, 1, 12, 299, 300, 1000):
        assert draw_order(SEED, "村A", 300, length) == full[:length]
    limited = draw_sample(SEED, {"村A": 120}, {"村A": 12}, reserves=3)["村A"]
    assert limited.sample == GOLDEN["村A"][0] and limited.reserves == GOLDEN["村A"][1][:3]
    # a roster of a million costs only the positions asked for
    assert len(draw_order(SEED, "镇", 1_000_000, 20)) == 20


def test_villages_have_independent_streams_and_the_seed_matters():
    alone = draw_sample(SEED, {"村A": 120}, {"村A": 12})["村A"].sample
    assert alone == GOLDEN["村A"][0]  # adding 村B did not change 村A
    assert draw_sample(SEED + " ", {"村A": 120}, {"村A": 12})["村A"].sample != alone
    assert draw_sample(SEED, {"村a": 120}, {"村a": 12})["村a"].sample != alone
    # NFC: the same text typed two ways draws the same
    assert draw_order("Cafe\u0301", "村", 50) == draw_order("Caf\u00e9", "村", 50)


def test_uniform_over_many_seeds():
    frame, size, seeds = 10, 3, 3000
    inclusion = np.zeros(frame, int)
    first = np.zeros(frame, int)
    first_reserve = np.zeros(frame, int)
    for s in range(seeds):
        d = draw_sample(f"seed-{s}", {"村": frame}, {"村": size})["村"]
        for p in d.sample:
            inclusion[p - 1] += 1
        first[d.sample[0] - 1] += 1
        first_reserve[d.reserves[0] - 1] += 1
    for counts in (inclusion, first, first_reserve):
        result = stats.chisquare(counts)
        assert result.pvalue > 0.001, counts
    # every one of the C(5,2) = 10 samples of size 2 from 5 is equally likely
    pairs: dict[tuple[int, ...], int] = {}
    for s in range(2000):
        key = tuple(sorted(draw_sample(f"pair-{s}", {"村": 5}, {"村": 2})["村"].sample))
        pairs[key] = pairs.get(key, 0) + 1
    assert len(pairs) == 10 and stats.chisquare(list(pairs.values())).pvalue > 0.001


def test_a_biased_draw_would_fail_the_uniformity_check():
    # the check has teeth: "always keep position 1" is rejected at once
    counts = np.array([3000] + [667] * 9)
    assert stats.chisquare(counts).pvalue < 1e-6


@pytest.mark.parametrize("frames,sizes,message", [
    ({"村A": 0}, {"村A": 0}, "between 1"),
    ({"村A": 10}, {"村A": 11}, "from 0 to 10"),
    ({"村A": 10}, {"村B": 1}, "no frame"),
    ({"村A": 10.5}, {"村A": 1}, "whole number"),
    ({"村A": 10}, {"村A": -1}, "from 0 to 10"),
])
def test_bad_frames_are_refused(frames, sizes, message):
    with pytest.raises(ValueError, match=message):
        draw_sample(SEED, frames, sizes)
    with pytest.raises(ValueError, match="seed"):
        draw_sample("  ", {"村A": 10}, {"村A": 1})


def test_cards_only_on_drawn_positions_and_reserves_in_order():
    d = draw_sample(SEED, {"村A": 120}, {"村A": 12})["村A"]
    assert check_issued(d, d.sample) == []
    assert check_issued(d, d.sample + d.reserves[:2], replacements=2) == []
    # a reserve without a declared replacement, or skipping the reserve order, is off the draw
    assert check_issued(d, d.sample + [d.reserves[0]]) == [f"position {d.reserves[0]} was not drawn"]
    assert check_issued(d, d.sample + [d.reserves[1]], replacements=1) == [f"position {d.reserves[1]} was not drawn"]
    assert check_issued(d, d.sample + [121]) == ["position 121 was not drawn"]
    assert check_issued(d, d.sample + [d.sample[0]]) == [f"position {d.sample[0]} has more than one card"]


# -- AAPOR ----------------------------------------------------------------------------

# A worked disposition table (AAPOR codes): I=48 P=2 R=4 NC=3 O=1 U=2 NE=5
TABLE = {"completed": 48, "partial": 2, "refused": 4, "non_contact": 3, "other": 1, "unknown": 2, "not_eligible": 5}


def test_aapor_rates_follow_the_standard_definitions():
    I, P, R, NC, O, U, NE = 48, 2, 4, 3, 1, 2, 5  # noqa: E741 (AAPOR codes)
    e = Fraction(I + P + R + NC + O, I + P + R + NC + O + NE)  # 58/63
    r = aapor_rates(TABLE)
    expected = {
        "rr1": Fraction(I, I + P + R + NC + O + U), "rr2": Fraction(I + P, I + P + R + NC + O + U),
        "rr3": I / (I + P + R + NC + O + e * U), "rr4": (I + P) / (I + P + R + NC + O + e * U),
        "rr5": Fraction(I, I + P + R + NC + O), "rr6": Fraction(I + P, I + P + R + NC + O),
        "coop1": Fraction(I, I + P + R + O), "coop2": Fraction(I + P, I + P + R + O),
        "coop3": Fraction(I, I + P + R), "coop4": Fraction(I + P, I + P + R),
        "ref1": Fraction(R, I + P + R + NC + O + U), "ref2": R / (I + P + R + NC + O + e * U),
        "ref3": Fraction(R, I + P + R + NC + O),
        "con1": Fraction(I + P + R + O, I + P + R + O + NC + U),
        "con2": (I + P + R + O) / (I + P + R + O + NC + e * U), "con3": Fraction(I + P + R + O, I + P + R + O + NC),
    }
    for name, value in expected.items():
        assert getattr(r, name) == pytest.approx(float(value), abs=1e-12), name
    assert r.rr1 == pytest.approx(48 / 60) and r.e == pytest.approx(58 / 63)
    assert r.rr1 <= r.rr3 <= r.rr5 and r.rr2 <= r.rr4 <= r.rr6  # the standard's ordering
    assert aapor_rates(TABLE, e=1).rr3 == pytest.approx(r.rr1)
    assert aapor_rates(TABLE, e=0).rr3 == pytest.approx(r.rr5)
    assert aapor_rates({"I": 48, "NE": 5, "U": 2}).rr1 == pytest.approx(48 / 50)  # AAPOR codes accepted


def test_aapor_edge_cases():
    assert aapor_rates({}).rr1 is None
    with pytest.raises(ValueError, match="unknown disposition"):
        aapor_rates({"absent": 1})
    with pytest.raises(ValueError, match="whole number"):
        aapor_rates({"completed": -1})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        aapor_rates(TABLE, e=1.5)


# -- non-response bounds ----------------------------------------------------------------


def test_census_attempt_of_197_cadres():
    b = nonresponse_bounds(146, 150, 197, "≥95%", population=197)
    assert b.census and b.nonrespondents == 47 and b.response_rate == pytest.approx(150 / 197)
    # assuming non-respondents resemble respondents: the familiar exact result
    assert b.assumed.verdict == "supported" and b.assumed.lower == pytest.approx(189 / 197)
    # worst case: 146 of 197 satisfied, a census figure, below ⌈0.95·197⌉ = 188
    assert b.worst.point == pytest.approx(146 / 197) and b.worst_interval == (146 / 197, 146 / 197)
    assert b.worst.verdict == "contradicted"
    # best case: 193 of 197
    assert b.best.point == pytest.approx(193 / 197) and b.best.verdict == "supported"
    assert b.robust == "inconclusive" and b.interval == (146 / 197, 193 / 197)
    assert "取决于未答者" in b.robust_label


@pytest.mark.parametrize("satisfied,worst,best,robust", [
    (30, "supported", "supported", "supported"),      # 30 of 31 even if the 31st is dissatisfied
    (29, "contradicted", "supported", "inconclusive"),  # 29 or 30 of 31: the one missing decides
    (28, "contradicted", "contradicted", "contradicted"),  # at most 29 of 31 < 30
])
def test_thirty_of_thirty_one_staff_answering(satisfied, worst, best, robust):
    b = nonresponse_bounds(satisfied, 30, 31, 0.95, population=31)
    assert (b.worst.verdict, b.best.verdict, b.robust) == (worst, best, robust)
    assert b.worst.point == pytest.approx(satisfied / 31) and b.best.point == pytest.approx((satisfied + 1) / 31)


def test_drawn_sample_of_60_with_48_answers_unknown_population():
    b = nonresponse_bounds(48, 48, 60, 0.95)
    # worst: 48/60; the Clopper–Pearson upper bound is below 95%
    up = stats.binomtest(48, 60, alternative="less").proportion_ci(0.95).high
    assert b.worst.upper == pytest.approx(up) and up < 0.95 and b.worst.verdict == "contradicted"
    # best: 60/60; Clopper–Pearson lower bound 0.05^(1/60) = 0.95131 ≥ 95%
    assert b.best.lower == pytest.approx(0.05 ** (1 / 60)) and b.best.verdict == "supported"
    # assumed: 48/48 gives 0.05^(1/48) = 0.9395 < 95%
    assert b.assumed.lower == pytest.approx(0.05 ** (1 / 48)) and b.assumed.verdict == "inconclusive"
    assert b.robust == "inconclusive"
    ci = stats.binomtest(48, 60).proportion_ci(0.95, method="exact")
    assert b.worst_interval == pytest.approx((ci.low, ci.high))


def test_drawn_sample_of_60_with_48_answers_from_a_roster_of_400():
    b = nonresponse_bounds(48, 48, 60, 0.95, population=400)
    # worst: 48 of 60 drawn from 400; K_U is the largest K with P(X ≤ 48 | K) > 5%
    k_u = round(b.worst.upper * 400)
    assert stats.hypergeom.cdf(48, 400, k_u, 60) > 0.05 >= stats.hypergeom.cdf(48, 400, k_u + 1, 60)
    assert k_u < 380 and b.worst.verdict == "contradicted"
    k_l = round(b.best.lower * 400)  # best: 60 of 60
    assert stats.hypergeom.sf(59, 400, k_l, 60) > 0.05 >= stats.hypergeom.sf(59, 400, k_l - 1, 60)
    assert k_l >= 380 and b.best.verdict == "supported" and b.robust == "inconclusive"
    assert not b.census


def test_robust_verdict_is_never_better_than_the_worst_case():
    for x in range(0, 41, 5):
        for r in (x, 40):
            b = nonresponse_bounds(x, r, 45, 0.9, population=120)
            assert (b.robust == "supported") == (b.worst.verdict == "supported")
            assert (b.robust == "contradicted") == (b.best.verdict == "contradicted")
            if b.assumed:
                assert b.worst.lower <= b.assumed.lower + 1e-12 and b.best.upper >= b.assumed.upper - 1e-12


def test_everyone_answering_leaves_no_gap():
    b = nonresponse_bounds(58, 60, 60, 0.95, population=500)
    assert b.worst == b.best == b.assumed and b.nonrespondents == 0


def test_bounds_refuse_impossible_counts():
    for args, message in [((5, 4, 10), "satisfied"), ((5, 11, 10), "drawn"), ((1, 1, 0), "positive")]:
        with pytest.raises(ValueError, match=message):
            nonresponse_bounds(*args, 0.95)
    with pytest.raises(ValueError, match="population"):
        nonresponse_bounds(5, 5, 10, 0.95, population=9)


# -- planning ---------------------------------------------------------------------------


def _power_by_enumeration(n0, sat, resp, N, target=0.95):
    """P(robust verdict supported), enumerating every outcome through ``verdict``."""
    total = 0.0
    sats = range(n0 + 1)
    w = stats.hypergeom.pmf(sats, N, round(sat * N), n0) if N else stats.binom.pmf(sats, n0, sat)
    for s, ws in zip(sats, w, strict=True):
        if ws < 1e-15:
            continue
        for x in range(s + 1):
            if verdict(x, n0, target, population=N).verdict == "supported":
                total += ws * stats.binom.pmf(x, s, resp)
    return total


def test_plan_draw_is_the_first_n_reaching_power():
    plan = plan_draw(0.95, 0.995, 0.99, population=80)
    assert plan.cards is not None and plan.achieved_power >= 0.8
    assert _power_by_enumeration(plan.cards, 0.995, 0.99, 80) == pytest.approx(plan.achieved_power, abs=1e-9)
    assert all(_power_by_enumeration(n, 0.995, 0.99, 80) < 0.8 for n in range(max(1, plan.cards - 6), plan.cards))


@pytest.mark.parametrize("expected,population", [(0.98, 2096), (0.98, None), (0.99, 200)])
def test_plan_draw_with_full_response_is_the_usual_sample_size(expected, population):
    # everyone answering leaves no gap between worst case and the usual verdict
    assert plan_draw(0.95, expected, 1.0, population=population).cards == sample_size(0.95, expected,
                                                                                     population=population)


def test_lower_response_needs_more_cards():
    cards = [plan_draw(0.95, 0.98, r, population=2096).cards for r in (1.0, 0.99, 0.98)]
    assert cards == sorted(cards) and cards[0] < cards[-1]


def test_plan_draw_without_population_and_when_response_is_too_low():
    plan = plan_draw(0.9, 0.99, 0.97)
    assert plan.cards is not None
    assert _power_by_enumeration(plan.cards, 0.99, 0.97, None, 0.9) == pytest.approx(plan.achieved_power, abs=1e-9)
    low = plan_draw(0.95, 0.99, 0.8, population=400)
    assert low.cards is None and low.min_response_rate == pytest.approx(0.95 / 0.99)


# -- CLI ------------------------------------------------------------------------------


def test_cli_draw_json_and_chinese(capsys):
    assert main(["draw", "--seed", SEED, "--frame", "村A:120,村B:80", "--size", "村A:12,村B:8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["villages"]["村A"]["sample"] == GOLDEN["村A"][0]
    assert data["villages"]["村B"]["reserves"][:6] == GOLDEN["村B"][1]
    assert main(["draw", "--seed", SEED, "--frame", "村A：120，村B：80", "--size", "村A:12,村B:8"]) == 0
    text = capsys.readouterr().out
    assert "村A（名单 1–120，抽 12 个）：1、2、16" in text and "替补顺序：56、70" in text
    assert main(["draw", "--seed", SEED, "--frame", "村A:x", "--size", "村A:1"]) == 2
    assert "村A" in capsys.readouterr().err


def test_cli_bounds_and_aapor(capsys):
    assert main(["bounds", "--satisfied", "146", "--respondents", "150", "--drawn", "197",
                 "--population", "197", "--target", "≥95%"]) == 0
    text = capsys.readouterr().out
    assert "最坏情况（未答者都不满意）74.1%：未达标" in text and "稳健结论：尚无定论" in text
    assert main(["aapor", "--completed", "48", "--partial", "2", "--refused", "4", "--non-contact", "3",
                 "--other", "1", "--unknown", "2", "--not-eligible", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rr1"] == pytest.approx(0.8)
    assert main(["plan-draw", "--target", "0.95", "--expected", "0.99", "--response", "0.8"]) == 0
    assert "应答率至少要达到 96.0%" in capsys.readouterr().out
