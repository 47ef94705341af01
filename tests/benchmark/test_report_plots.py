"""The report's figures: shared axes, plain-training references, legends outside."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from healthbalance.benchmark import _report_plots as plots  # noqa: E402
from tests.benchmark._helpers import hand_built  # noqa: E402

DELTAS = {"reweighing": 0.01, "group_over": 0.05, "jtt": -0.04}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _visible(figure):
    return [ax for ax in figure.axes if ax.get_visible()]


def test_forest_panels_share_axes_and_mark_plain_training():
    results = hand_built(DELTAS)
    xlim = plots.forest_limits(results, 11)
    figure = plots.plot_forest(results, "logistic", 11, xlim)
    axes = _visible(figure)
    # Tiny and Small are masked (fewer than 11 events): only A and B are drawn
    assert [ax.get_title() for ax in axes] == ["A", "B"]
    assert all(ax.get_xlim() == pytest.approx(xlim) for ax in axes)
    erm = results.metrics.query("strategy == 'erm' and metric == 'roc_auc'")
    for ax, group in zip(axes, ["A", "B"], strict=True):
        (estimate,) = erm.loc[erm["group"] == group, "estimate"]
        reference = [line.get_xdata()[0] for line in ax.get_lines()]
        assert estimate in reference
    # strategies grouped by family: erm, then group rebalancing, then robust
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == ["erm", "group_over", "reweighing", "jtt"]


def test_strategy_panel_has_the_reference_and_the_legend_outside():
    figure = plots.plot_strategies(hand_built(DELTAS), 11)
    (ax,) = figure.axes
    assert any(line.get_label().startswith("plain training") for line in ax.lines)
    assert ax.get_legend() is None and len(figure.legends) == 1
    figure.canvas.draw()
    legend = figure.legends[0].get_window_extent()
    assert legend.y0 >= ax.get_window_extent().y1  # above the data, not over it


def test_reliability_panels_share_axes_skip_non_probability_models(results):
    ranked = ["fairlearn_eg", "group_over", "erm", "random_over"]
    figure = plots.plot_reliability(results, "logistic", ranked, 11)
    axes = figure.axes
    titles = [ax.get_title() for ax in axes]
    assert titles == ["logistic: erm", "logistic: group_over", "logistic: random_over"]
    assert {ax.get_xlim() for ax in axes} == {(0.0, 1.0)}
    assert {ax.get_ylim() for ax in axes} == {(0.0, 1.0)}
    assert all(ax.get_legend() is None for ax in axes)
    figure.canvas.draw()
    legend = figure.legends[0].get_window_extent()
    assert legend.x0 >= max(ax.get_window_extent().x1 for ax in axes)
