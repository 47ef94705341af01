"""The report's tables and checks on results built by hand."""

import numpy as np
import pandas as pd
import pytest

from healthbalance.benchmark import _report_tables as tables
from healthbalance.benchmark import run_checks
from tests.benchmark._helpers import GROUPS, hand_built

DELTAS = {"reweighing": 0.01, "group_over": 0.05, "jtt": -0.04, "fairlearn_eg": 0.02}


def test_main_table_is_ordered_by_the_worst_group_and_marks_differences():
    results = hand_built(DELTAS, {"fairlearn_eg": 31.0})
    table, worst = tables.main_table(results, "logistic", 11)
    assert worst == "B"
    # every strategy shifts every group alike, so worst-group order = difference order
    expected = sorted(["erm", *DELTAS], key=lambda s: -DELTAS.get(s, 0.0))
    assert table["strategy"].tolist() == expected
    paired = table.set_index("strategy")["AUROC in B, difference to erm"]
    assert paired["erm"] == "reference"
    assert paired["group_over"] == "+0.050 [+0.030, +0.070] ▲ better"
    assert paired["jtt"] == "-0.040 [-0.060, -0.020] ▼ worse"
    assert paired["reweighing"] == "+0.010 [-0.010, +0.030]"  # covers 0: no mark
    calibration = table.set_index("strategy")["overall calibration intercept"]
    assert calibration["fairlearn_eg"] == tables.NOT_PROBABILITY
    assert "worst group" in table.columns
    assert set(table["worst group"]) == {"B"}


def test_cells_are_never_nan():
    results = hand_built(DELTAS)
    frames = [
        tables.main_table(results, "logistic", 11)[0],
        tables.delta_table(results, "logistic", "roc_auc", 11),
        tables.delta_table(results, "logistic", "calibration_intercept", 11),
        tables.group_table(results, 11),
    ]
    for frame in frames:
        text = frame.astype(str).to_numpy().ravel()
        assert not [t for t in text if "nan" in t.lower() or t == ""], frame
    masked = tables.delta_table(results, "logistic", "roc_auc", 11)
    # Tiny and Small have fewer than 11 events: masked, written n/a
    assert set(masked["Tiny"]) == {"n/a"} and set(masked["Small"]) == {"n/a"}
    calibration = tables.delta_table(results, "logistic", "calibration_intercept", 11)
    row = calibration.set_index("strategy").loc["fairlearn_eg"]
    assert set(row) == {tables.NOT_PROBABILITY}


def test_group_table_has_one_row_per_real_group():
    results = hand_built(DELTAS)
    table = tables.group_table(results, 11)
    assert list(zip(table["attribute"], table["group"], strict=True)) == [
        ("overall" if g == "overall" else "race", g) for g, *_ in GROUPS
    ]
    shown = table.set_index("group")
    assert shown.loc["Tiny", "events"] == "suppressed"
    assert "5" not in " ".join(table.astype(str).to_numpy().ravel().tolist()).split()


def test_checks_say_each_finding_once_listing_the_strategies():
    results = hand_built(
        {"random_over": 0.0, "class_weight": 0.0, "fairlearn_eg": 0.0}, width=0.01
    )
    metrics = results.metrics
    overall = metrics[(metrics["attribute"] == "overall")]
    extra = []
    for strategy, value in [
        ("random_over", -2.1),
        ("class_weight", -1.5),
        ("fairlearn_eg", 31.0),
    ]:
        row = overall[overall["metric"] == "calibration_intercept"].iloc[[0]]
        extra.append(row.assign(strategy=strategy, estimate=value))
    results.metrics = pd.concat([metrics, *extra], ignore_index=True)
    sentences = [text for text, _ in run_checks(results, 11)]
    trap = [s for s in sentences if "misstate risk" in s]
    assert len(trap) == 1
    assert "random_over (logistic) -2.10" in trap[0]
    assert "class_weight (logistic) -1.50" in trap[0]
    assert "fairlearn_eg" not in trap[0]  # not a probability model
    small = [s for s in sentences if "Too few test patients" in s]
    assert small == [
        "Too few test patients or events for reliable estimates: Tiny (race) and "
        "Small (race); treat their results as unreliable. The summary's "
        "worst-group AUROC and sensitivity leave out Small and Tiny (race)."
    ]


def test_settings_are_in_words_and_name_excluded_and_leaky_columns():
    from healthbalance.benchmark._html import _settings

    text = _settings(
        {
            "attribute": "race",
            "seeds": [0, 1],
            "models": ["logistic"],
            "strategies": ["erm", "group_over"],
            "excluded": ["true_mortality", "sao2"],
            "leaky_columns": {"copy": 0.99},
        }
    )
    assert "columns left out: true_mortality, sao2" in text
    assert "leaky columns kept: copy" in text
    assert "2 seeds (0, 1)" in text
    assert not any(mark in text for mark in "[]{}'")


def test_representation_sentence_masks_the_share_of_a_small_group():
    from types import SimpleNamespace

    from healthbalance.benchmark._checks import _representation

    table = pd.DataFrame(
        {
            "attribute": ["race"] * 3,
            "group": ["Tiny", "Low", "Big"],
            "n": [6, 40, 2954],
            "share": [6 / 3000, 40 / 3000, 2954 / 3000],
            "reference_share": [0.05, 0.05, 0.90],
        }
    ).assign(ratio=lambda t: t["share"] / t["reference_share"])
    (sentence,) = _representation(SimpleNamespace(representation=table), 11)
    assert "Tiny (race) fewer than 11 patients against 5.0%" in sentence
    assert "Low (race) 1.3% against 5.0%" in sentence
    assert "0.2%" not in sentence  # 0.2% of 3,000 patients would give 6 away


def test_worst_group_is_unknown_when_a_reliable_group_is_masked():
    from healthbalance.benchmark._checks import _seed_mean, _worst

    results = hand_built({"group_over": 0.01})
    metrics = results.metrics
    keys = ["model", "strategy"]

    def worst():
        found = _seed_mean(_worst(results, "roc_auc", results.metrics), keys)
        return found.droplevel("model")

    assert worst()["erm"] == pytest.approx(0.70)  # B, the worst reliable group
    b = (metrics["group"] == "B") & (metrics["strategy"] == "erm")
    results.metrics = metrics.assign(estimate=metrics["estimate"].where(~b))
    # not A's 0.85: the worst reliable group's value is hidden, so is the worst
    assert np.isnan(worst()["erm"])
    assert worst()["group_over"] == pytest.approx(0.71)
