"""Shared argument checks with exact ValueError messages."""

from __future__ import annotations

import math
import numbers

SIDES = ("two-sided", "lower")


def check_counts(successes: int, n: int, population: int | None = None) -> tuple[int, int, int | None]:
    for name, value in (("successes", successes), ("n", n)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    if n <= 0:
        raise ValueError(f"n must be positive, got n={n}")
    if successes < 0:
        raise ValueError(f"successes must not be negative, got successes={successes}")
    if successes > n:
        raise ValueError(f"successes ({successes}) cannot exceed n ({n})")
    if population is not None:
        if not isinstance(population, numbers.Integral) or isinstance(population, bool):
            raise ValueError(f"population must be a whole number, got {population!r}")
        if n > population:
            raise ValueError(f"n ({n}) cannot exceed the population ({population})")
        population = int(population)
    return int(successes), int(n), population


def check_confidence(confidence: float) -> float:
    if not isinstance(confidence, numbers.Real) or isinstance(confidence, bool) or math.isnan(confidence):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(confidence)


def check_sides(sides: str) -> str:
    if sides not in SIDES:
        raise ValueError(f"sides must be one of {SIDES}, got {sides!r}")
    return sides


def tail_alpha(confidence: float, sides: str) -> float:
    """Probability in each tail: α/2 two-sided, α for a one-sided lower bound."""
    alpha = 1.0 - confidence
    return alpha / 2 if sides == "two-sided" else alpha
