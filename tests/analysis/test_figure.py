"""The one figure function: counts in, every figure out."""

import pytest

from analysis.figure import figure


def test_stratified_with_a_village_of_one_answer_does_not_fail():
    """A stratum with n_h = 1 has no variance estimate: the displayed interval falls back, the page stays up."""
    cells = [(1, 1, "满意", 1), (2, 1, "满意", 40), (2, 1, "不满意", 2), (3, 1, "非常满意", 9)]
    f = figure(cells, target="≥95%", village_populations={1: 300, 2: 500, 3: 90})
    assert f.design == "stratified" and f.display_method == "wilson_kish"
    assert f.verdict is not None and f.lower is not None
    assert any("方差" in note or "只有 1 份" in note for note in f.notes)


def test_design_is_chosen_from_counts_and_populations():
    assert figure([(None, 1, "满意", 31)], target="≥95%", population=31).design == "census"
    assert figure([(None, 1, "满意", 30)], target="≥95%", population=197).design == "finite"
    assert figure([(None, 1, "满意", 30)], target="≥95%").design == "unknown"
    too_many = figure([(None, 1, "满意", 40)], target="≥95%", population=31)
    assert too_many.design == "unknown" and too_many.population is None and too_many.notes


def test_counts_per_version_village_and_option():
    cells = [(1, 1, "满意", 3), (1, 2, "不了解", 2), (2, 2, "一般", 1)]
    f = figure(cells, target="≥95%", excluded=4)
    assert (f.total, f.valid_n, f.dont_know, f.excluded, f.successes) == (6, 4, 2, 4, 3)
    assert f.versions == {1: 3, 2: 3} and f.counts["一般"] == 1
    assert [(v.village, v.n, v.dont_know) for v in f.villages] == [(1, 3, 2), (2, 1, 0)]
    assert "工作人员排除 4 份" in f.statement and "“不了解” 2 份" in f.statement


def test_unknown_answer_is_refused():
    with pytest.raises(ValueError):
        figure([(None, 1, "还行", 1)])
