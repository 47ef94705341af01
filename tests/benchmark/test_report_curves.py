"""The report's decision curves: plain training against the best strategy."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from healthbalance.benchmark import _report_curves as curves  # noqa: E402
from healthbalance.benchmark import _report_tables as tables  # noqa: E402
from healthbalance.metrics import DecisionCurve  # noqa: E402
from tests.benchmark._helpers import hand_built  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _ranked(results):
    table, _ = tables.main_table(results, "logistic", 11)
    return table["strategy"].tolist()


def test_curves_of_the_probability_strategies_over_the_clinical_range(results):
    curve = results.curves[0, "logistic"]
    assert isinstance(curve, DecisionCurve)
    # fairlearn's randomized classifier scores a decision, not a risk: no curve
    assert curve.models == ["erm", "random_over", "group_over"]
    assert curve.reference == "erm"
    np.testing.assert_allclose(curve.thresholds, np.arange(5, 51) / 100)


def test_the_figure_shows_erm_and_the_best_ranked_probability_strategy(results):
    ranked = _ranked(results)
    best = next(s for s in ranked if s in ("random_over", "group_over"))
    figure = curves.plot_curves(results, "logistic", ranked, 11)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["logistic: erm", f"logistic: {best}"]
    assert figure.axes[0].get_ylim() == figure.axes[1].get_ylim()
    assert figure.legends  # one legend, outside the panels


def test_the_table_is_the_released_paired_difference(results):
    ranked = _ranked(results)
    table, best = curves.curve_table(results, "logistic", ranked, 11)
    frame = results.curves[0, "logistic"].to_frame(suppress_below=11)
    attributes = ["overall", "race_ethnicity"]
    rows = frame[(frame.model == best) & frame.attribute.isin(attributes)]
    assert table.columns.tolist() == ["group", "t = 0.1", "t = 0.2", "t = 0.3"]
    assert table["group"].tolist()[0] == "overall"
    for t in curves.TABLE_THRESHOLDS:
        released = rows[np.isclose(rows.threshold, t)].set_index("group")
        for group, entry in zip(table["group"], table[f"t = {t}"], strict=True):
            value = released.loc[group, "difference"]
            assert (entry == "n/a") == np.isnan(value)
            if entry != "n/a":
                assert entry.startswith(f"{value:+.3f} [")
    assert (table.iloc[:, 1:] != "n/a").any().any()  # something is released


def test_results_without_curves_draw_nothing():
    results = hand_built({"reweighing": 0.01})
    assert curves.plot_curves(results, "logistic", ["erm", "reweighing"], 11) is None
    table, best = curves.curve_table(results, "logistic", ["erm"], 11)
    assert table.empty and best is None


def test_best_strategy_skips_decision_rules_which_keep_plain_scores():
    """Per-group thresholds score like plain training: an empty comparison."""
    curve = type("Curve", (), {"models": ["erm", "group_thresholds", "group_over"]})
    ranked = ["group_thresholds", "erm", "group_over"]
    assert curves.best_strategy(curve, ranked) == "group_over"
    assert curves.best_strategy(curve, ["group_thresholds", "erm"]) is None
