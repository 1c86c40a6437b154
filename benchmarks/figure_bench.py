"""Benchmark the one figure function on the seed's four satisfaction indicators over 34 villages.

Every figure of the results page (design, rate, interval, verdict, more-needed,
per-village exact intervals, statement) for the four indicators, with village
populations entered as the README asks, so that the villagers' indicators take
the stratified design and its more-needed search. The baseline, measured in the
same run, is one exact hypergeometric interval (N = 197, n = 150). The bound
cache is cleared before every call so that nothing is reused between runs.

Run:  .venv/bin/python benchmarks/figure_bench.py  (prints Markdown)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import analysis  # noqa: E402
from analysis.figure import figure  # noqa: E402
from analysis.proportions import _hypergeometric_bounds, proportion_interval  # noqa: E402
from benchmarks.common import machine, median_seconds, table  # noqa: E402

VILLAGES = 34


def timeit(fn) -> float:  # type: ignore[no-untyped-def]
    """Median of 7 runs, the bound cache cleared before each so that nothing is reused between runs."""
    return median_seconds(fn, repeat=7, before=_hypergeometric_bounds.cache_clear)


def seed_indicators(seed: int = 11) -> list[dict[str, object]]:
    """The seed's four satisfaction indicators as counts per village (uneven sampling, nearly all satisfied)."""
    rng = np.random.default_rng(seed)
    villagers = {v: int(rng.integers(150, 1600)) for v in range(VILLAGES)}
    cadres = {v: int(rng.integers(4, 8)) for v in range(VILLAGES)}
    out = []
    for name, pops, per_village, target, population in (
        ("群众满意度（村办公经费）", villagers, (6, 60), "≥95%", None),
        ("群众满意度（人居环境）", villagers, (3, 40), "≥90%", None),
        ("村干部满意度（村干部工资）", cadres, (1, 7), "≥95%", None),
        ("自收自支人员满意度", None, None, "≥95%", 31),
    ):
        cells = []
        if pops is None:
            cells = [(None, 1, "满意", 26), (None, 1, "一般", 1), (None, 1, "不了解", 1)]
        else:
            for v, size in pops.items():
                n = min(size, int(rng.integers(*per_village)))
                unhappy = int(rng.binomial(n, 0.03))
                cells += [(v, 1, "非常满意", (n - unhappy) // 2), (v, 1, "满意", n - unhappy - (n - unhappy) // 2),
                          (v, 1, "不满意", unhappy), (v, 1, "不了解", int(rng.integers(0, 3)))]
        out.append({"name": name, "cells": cells, "target": target, "population": population,
                    "village_populations": pops or {}})
    return out


def main() -> None:
    indicators = seed_indicators()

    def all_figures() -> list[object]:
        return [figure(i["cells"], target=i["target"], population=i["population"],  # type: ignore[arg-type]
                       village_populations=i["village_populations"]) for i in indicators]  # type: ignore[arg-type]

    baseline = timeit(lambda: proportion_interval(146, 150, method="exact_hypergeometric", population=197))
    whole = timeit(all_figures)
    figures = all_figures()
    print("## The figure function on the seed's four indicators, 34 villages with populations\n")
    print(machine(numpy=np.__version__, scipy=scipy.__version__, analysis=analysis.__version__).removesuffix(".")
          + "; median of 7 runs, bound cache cleared before each.\n")
    print(table(["step", "median time", "ratio to one exact hypergeometric interval"], [
        ["baseline: one exact hypergeometric interval (N = 197, n = 150)", f"{baseline * 1e3:.2f} ms", "1.0"],
        ["every figure of the four indicators (design, interval, verdict, more-needed, 34 villages)",
         f"{whole * 1e3:.1f} ms", f"{whole / baseline:.1f}"],
    ]) + "\n")
    print(table(["indicator", "design", "valid n", "verdict", "more needed"], [
        [i["name"], f.design, f.valid_n, f.verdict.verdict if f.verdict else "—",  # type: ignore[attr-defined]
         f.verdict.more_needed if f.verdict else "—"]  # type: ignore[attr-defined]
        for i, f in zip(indicators, figures, strict=True)], align="llrlr"))

if __name__ == "__main__":
    main()
