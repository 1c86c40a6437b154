"""Systematic sampling with a random start (issue 13): golden list, hand recomputation, uniform inclusion,
CLI and the offline verifier."""

import hashlib
import json
from collections import Counter

import pytest
from scipy import stats

from analysis.cli import main
from analysis.sampling import _pcg64_reference, draw_order, draw_sample, systematic_positions
from analysis.verify_sampling import _check_draw


def test_golden_systematic_draw():
    d = draw_sample("golden seed", {"村A": 10, "村B": 7}, {"村A": 3, "村B": 7}, method="systematic")
    assert d["村A"].sample == [4, 7, 10] and d["村A"].reserves == [2, 9, 1, 6, 3, 8, 5]
    assert d["村B"].sample == [3, 4, 5, 6, 7, 1, 2] and d["村B"].reserves == []


def test_systematic_by_hand_from_the_documented_algorithm():
    seed, village, n_frame, size = "体彩 2026-11-30 507", "演示村01", 97, 12
    canonical = json.dumps(["survey-app-systematic-v1", seed, village], ensure_ascii=False, separators=(",", ":"))
    key = hashlib.sha256(canonical.encode()).digest()
    threshold = (1 << 64) % n_frame
    start = next(u % n_frame for u in _pcg64_reference(key, 50) if u >= threshold)
    expected = [(start + i * n_frame // size) % n_frame + 1 for i in range(size)]
    assert systematic_positions(seed, village, n_frame, size) == expected
    d = draw_sample(seed, {village: n_frame}, {village: size}, method="systematic")[village]
    assert d.sample == expected and len(set(expected)) == size
    assert d.reserves == [p for p in draw_order(seed, village, n_frame) if p not in set(expected)]


def test_every_position_is_drawn_with_probability_n_over_N():
    frame, size, seeds = 10, 3, 3000
    counts = Counter()
    for i in range(seeds):
        counts.update(systematic_positions(f"seed {i}", "村", frame, size))
    observed = [counts[p] for p in range(1, frame + 1)]
    assert sum(observed) == seeds * size
    assert stats.chisquare(observed).pvalue > 0.001


def test_bad_method_and_full_or_empty_samples():
    with pytest.raises(ValueError, match="method"):
        draw_sample("s", {"村": 5}, {"村": 2}, method="cluster")
    assert systematic_positions("s", "村", 5, 0) == []
    assert sorted(systematic_positions("s", "村", 5, 5)) == [1, 2, 3, 4, 5]


def test_cli_draw_systematic(capsys):
    assert main(["draw", "--seed", "golden seed", "--frame", "村A:10", "--size", "村A:3",
                 "--method", "systematic", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "systematic" and data["villages"]["村A"]["sample"] == [4, 7, 10]


def _record(method, positions):
    seed = "root|体彩|507"
    return {"questionnaire_id": 1, "seed": seed, "chain_root": "root", "lottery": "体彩", "public_number": "507",
            "method": method, "frames": [{"village": "村A", "frame": 10, "size": 3}],
            "cards": [{"card_no": i + 1, "village": "村A", "position": p, "replaces_card_no": None}
                      for i, p in enumerate(positions)]}


def test_offline_verify_recomputes_a_systematic_draw():
    positions = systematic_positions("root|体彩|507", "村A", 10, 3)
    ok = _check_draw(_record("systematic", positions), None, None)
    assert not any("没有被抽中" in p for p in ok)
    simple = draw_sample("root|体彩|507", {"村A": 10}, {"村A": 3})["村A"].sample
    assert set(simple) != set(positions)
    wrong = _check_draw(_record("simple", positions), None, None)  # method changed in the bundle
    assert any("没有被抽中" in p for p in wrong)
