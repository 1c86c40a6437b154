"""Satisfaction-rate statistics for budget performance indicators.

A pure library (standard library, numpy and scipy only): target parsing,
proportion intervals, finite-population and stratified estimators, verdicts,
sample-size planning and self-evaluation scoring. ``survey_app`` depends on
it; it never imports ``survey_app`` or Flask.
"""

from analysis.targets import Target, TargetParseError, parse_target

__all__ = ["Target", "TargetParseError", "parse_target"]
