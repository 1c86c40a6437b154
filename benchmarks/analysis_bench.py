"""Benchmark the analysis pipeline: 1,000,000 responses, 4 indicators x 34 villages.

Responses are generated as numpy arrays and reduced to counts with one
``np.bincount`` (no Python loop over responses); the pipeline then computes,
per indicator, per-village rates and exact intervals, the stratified interval
and the verdict. Times are reported next to baselines measured in the same run:

* aggregation baseline: ``np.bincount`` over the same 1,000,000 responses;
* per-call baseline: statsmodels ``proportion_confint`` (Wilson / beta) on the
  same counts.

Run:  .venv/bin/python benchmarks/analysis_bench.py  (prints Markdown)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy
from statsmodels.stats.proportion import proportion_confint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import analysis  # noqa: E402
from analysis import (  # noqa: E402
    FIVE_POINT,
    min_n_all_satisfied,
    proportion_interval,
    sample_size,
    satisfaction_rate,
    stratified_interval,
    verdict,
)
from benchmarks.common import machine, median_seconds, table  # noqa: E402

OPTIONS = FIVE_POINT + ("不了解",)
N_RESPONSES = 1_000_000
INDICATORS = 4
VILLAGES = 34


def make_responses(seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    indicator = rng.integers(0, INDICATORS, N_RESPONSES)
    village = rng.integers(0, VILLAGES, N_RESPONSES)
    option = rng.choice(len(OPTIONS), N_RESPONSES, p=[0.55, 0.41, 0.02, 0.01, 0.005, 0.005])
    # village populations large enough for the sample (each village gets ~7,350 answers per indicator)
    populations = rng.integers(12_000, 40_000, VILLAGES)
    return indicator, village, option, populations


def aggregate(indicator: np.ndarray, village: np.ndarray, option: np.ndarray) -> np.ndarray:
    key = (indicator * VILLAGES + village) * len(OPTIONS) + option
    return np.bincount(key, minlength=INDICATORS * VILLAGES * len(OPTIONS)).reshape(
        INDICATORS, VILLAGES, len(OPTIONS)
    )


def pipeline(counts: np.ndarray, populations: np.ndarray) -> list[object]:
    results = []
    for i in range(INDICATORS):
        strata = []
        for v in range(VILLAGES):
            rate = satisfaction_rate(dict(zip(OPTIONS, (int(c) for c in counts[i, v]), strict=True)))
            proportion_interval(rate.successes, rate.n, method="wilson")
            proportion_interval(rate.successes, rate.n, method="exact_hypergeometric",
                                population=int(populations[v]), sides="lower")
            strata.append((int(populations[v]), rate.n, rate.successes))
        results.append(stratified_interval(strata, method="wilson"))
        results.append(verdict(0, 0, 0.95, strata=strata))
    return results


def main() -> None:
    indicator, village, option, populations = make_responses()
    t_bincount = median_seconds(lambda: np.bincount(option, minlength=len(OPTIONS)), repeat=7)
    t_aggregate = median_seconds(lambda: aggregate(indicator, village, option), repeat=7)
    counts = aggregate(indicator, village, option)
    assert counts.sum() == N_RESPONSES
    t_pipeline = median_seconds(lambda: pipeline(counts, populations), repeat=3)

    x, n = 146, 150
    per_call = [
        ("statsmodels proportion_confint wilson (baseline)", lambda: proportion_confint(x, n, method="wilson")),
        ("statsmodels proportion_confint beta (baseline)", lambda: proportion_confint(x, n, method="beta")),
        ("proportion_interval wilson", lambda: proportion_interval(x, n, method="wilson")),
        ("proportion_interval clopper_pearson", lambda: proportion_interval(x, n, method="clopper_pearson")),
        ("proportion_interval exact_hypergeometric N=197", lambda: proportion_interval(
            x, n, population=197, method="exact_hypergeometric")),
        ("proportion_interval exact_hypergeometric N=1,000,000, n=100,000", lambda: proportion_interval(
            97_000, 100_000, population=1_000_000, method="exact_hypergeometric")),
        ("stratified_interval wilson, 34 strata", lambda: stratified_interval(
            [(int(populations[v]), 7000, 6700) for v in range(VILLAGES)], method="wilson")),
        ("stratified_interval exact_bonferroni, 34 strata", lambda: stratified_interval(
            [(int(populations[v]), 7000, 6700) for v in range(VILLAGES)], method="exact_bonferroni")),
        ("verdict N=197 (supported)", lambda: verdict(x, n, 0.95, population=197)),
        ("verdict N unknown (inconclusive, with more_needed)", lambda: verdict(x, n, 0.95)),
        ("min_n_all_satisfied N=197", lambda: min_n_all_satisfied(0.95, population=197)),
        ("sample_size expected 0.98, N unknown", lambda: sample_size(0.95, 0.98)),
    ]
    rows = [(name, median_seconds(fn, repeat=5, number=20 if "sample_size" not in name else 1)) for name, fn in per_call]
    base = rows[0][1]

    print("# analysis benchmark\n")
    print(machine(numpy=np.__version__, scipy=scipy.__version__, analysis=analysis.__version__).removesuffix(".")
          + ".\n")
    print(f"## Pipeline: {N_RESPONSES:,} responses, {INDICATORS} indicators x {VILLAGES} villages\n")
    whole = t_aggregate + t_pipeline
    print(table(["step", "median time", "ratio to baseline"], [
        [f"baseline: `np.bincount` of the {N_RESPONSES:,} answers", f"{t_bincount * 1e3:.2f} ms", "1.0"],
        ["counts per indicator x village x option (one `np.bincount`)", f"{t_aggregate * 1e3:.2f} ms",
         f"{t_aggregate / t_bincount:.1f}"],
        ["rates, Wilson + exact intervals per village, stratified interval, verdict (136 cells)",
         f"{t_pipeline * 1e3:.1f} ms", f"{t_pipeline / t_bincount:.1f}"],
        ["whole pipeline", f"{whole * 1e3:.1f} ms", f"{whole / t_bincount:.1f}"],
    ]))
    print("\n## Per call\n")
    print(table(["call", "median time", "ratio to statsmodels Wilson"],
                [[name, f"{seconds * 1e6:,.0f} µs", f"{seconds / base:.1f}"] for name, seconds in rows]))

if __name__ == "__main__":
    main()
