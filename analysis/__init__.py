"""Satisfaction-rate statistics for budget performance indicators.

A pure library (standard library, numpy and scipy only): target parsing,
proportion intervals, finite-population and stratified estimators, verdicts,
sample-size planning, self-evaluation scoring, reproducible random draws
from rosters, AAPOR response rates and non-response bounds. :func:`figure` is the one
function every page, export and the offline verifier take their figures from. ``survey_app`` depends on
it; it never imports ``survey_app`` or Flask. ``python -m analysis --help``
offers the same functions on the command line.
"""

from analysis.figure import Figure, figure
from analysis.proportions import METHODS, POPULATION_METHODS, Interval, proportion_interval
from analysis.sampling import (
    DISPOSITIONS,
    DRAW_ALGORITHM,
    AaporRates,
    Bounds,
    DrawPlan,
    VillageDraw,
    aapor_rates,
    check_issued,
    draw_sample,
    nonresponse_bounds,
    plan_draw,
)
from analysis.scoring import (
    DEFAULT_SCORES,
    FIVE_POINT,
    QUALITATIVE_BANDS,
    SatisfactionRate,
    Score,
    ScoreInterval,
    satisfaction_rate,
    score_indicator,
    score_interval,
)
from analysis.stratified import STRATIFIED_METHODS, IntervalUndefined, StratifiedInterval, stratified_interval
from analysis.targets import Target, TargetParseError, parse_target
from analysis.verdict import Verdict, min_n_all_satisfied, sample_size, target_fraction, verdict

__version__ = "0.1.0"

__all__ = [
    "DISPOSITIONS",
    "DRAW_ALGORITHM",
    "AaporRates",
    "Bounds",
    "DrawPlan",
    "VillageDraw",
    "aapor_rates",
    "check_issued",
    "draw_sample",
    "nonresponse_bounds",
    "plan_draw",
    "DEFAULT_SCORES",
    "Figure",
    "FIVE_POINT",
    "METHODS",
    "POPULATION_METHODS",
    "QUALITATIVE_BANDS",
    "STRATIFIED_METHODS",
    "Interval",
    "IntervalUndefined",
    "SatisfactionRate",
    "Score",
    "ScoreInterval",
    "StratifiedInterval",
    "Target",
    "TargetParseError",
    "Verdict",
    "figure",
    "min_n_all_satisfied",
    "parse_target",
    "proportion_interval",
    "sample_size",
    "satisfaction_rate",
    "score_indicator",
    "score_interval",
    "stratified_interval",
    "target_fraction",
    "verdict",
]
