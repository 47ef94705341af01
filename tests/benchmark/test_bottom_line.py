"""The bottom line on results built by hand, where the right answer is known."""

import re

import pytest

from healthbalance.benchmark import bottom_line
from tests.benchmark._helpers import hand_built as _results


def test_names_the_worst_reliable_group_and_the_best_strategy():
    results = _results({"reweighing": 0.01, "group_over": 0.05, "jtt": -0.04})
    text = results.summary()
    # brute force: the lowest erm AUROC among the reliable groups
    m = results.metrics
    erm = m[(m["strategy"] == "erm") & (m["metric"] == "roc_auc") & m["reliable"]]
    erm = erm[erm["attribute"] == "race"]
    worst = erm.loc[erm["estimate"].idxmin(), "group"]
    assert worst == "B"
    assert "worst-off group under plain training (erm) is B, AUROC 0.700" in text
    assert "did best for it is group_over: +0.050 [+0.030, +0.070]" in text
    assert "its interval excludes 0" in text
    assert "better with group_over; worse with jtt." in text  # reweighing covers 0
    assert "Too small to rank: Tiny, Small." in text
    assert text == bottom_line(results)


def test_says_when_no_strategy_is_distinguishable():
    results = _results({"reweighing": 0.01, "group_over": -0.01}, width=0.03)
    text = results.summary()
    assert "did best for it is reweighing: +0.010 [-0.020, +0.040]" in text
    assert "includes 0 (not distinguishable)" in text
    assert "No strategy is distinguishable from plain training for B" in text


def test_says_when_every_strategy_is_worse():
    text = _results({"jtt": -0.05, "smote": -0.03}).summary()
    assert "No strategy did better for it than plain training" in text
    assert "the closest is smote: -0.030" in text
    assert "worse with jtt, smote." in text


def test_calibration_verdicts():
    text = _results({"random_over": 0.05}, {"random_over": -2.0}).summary()
    assert "intercept -1.95 with random_over against +0.05" in text
    assert "misstate risk" in text
    text = _results({"fairlearn_eg": 0.05}, {"fairlearn_eg": 31.0}).summary()
    assert "fairlearn_eg is not a probability model" in text
    assert "+31" not in text
    text = _results({"reweighing": 0.05}).summary()
    assert "not distinguishable from plain training's" in text


def test_no_small_count_in_the_sentences():
    results = _results({"reweighing": 0.05})
    for suppress_below in (11, 0):
        text = bottom_line(results, suppress_below=suppress_below)
        numbers = {int(x) for x in re.findall(r"(?<![\d.])\d+(?![\d.])", text)}
        assert not numbers & {25, 35, 5}, text


def test_a_masked_worst_group_is_never_ranked():
    results = _results({"reweighing": 0.05})
    metrics = results.metrics
    # B becomes too small to release (events below 11): masked, so only A is ranked
    metrics.loc[metrics["group"] == "B", "n_events"] = 8
    text = results.summary()
    assert "is A, AUROC 0.850" in text
    assert "0.700" not in text


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="metric='auroc'"):
        bottom_line(_results({"jtt": 0.0}), metric="auroc")
