"""Decision curves of the benchmark report: plain training against the best strategy.

Net benefit per group of the training attribute over the clinically relevant range
of thresholds (:data:`~healthbalance.benchmark._run.CLINICAL_THRESHOLDS`, 0.05 to
0.5), for plain training and the strategy with the best worst-group AUROC among
those whose scores are risks, with the paired difference at a few thresholds. Both
read the curves through ``to_frame(suppress_below)``: what it masks is not shown.
"""

import numpy as np
import pandas as pd

from healthbalance.benchmark._bottom_line import PLAIN
from healthbalance.benchmark._checks import has_probabilities
from healthbalance.benchmark._strategies import STRATEGIES
from healthbalance.metrics._plot import import_pyplot, wrap
from healthbalance.metrics._report_summary import interval, number

__all__ = ["TABLE_THRESHOLDS", "best_strategy", "curve_table", "plot_curves"]

TABLE_THRESHOLDS = (0.1, 0.2, 0.3)


def best_strategy(curve, ranked):
    """Return the best-ranked strategy of ``curve`` but plain training, or None.

    Decision rules (per-group thresholds) keep plain training's scores, so their
    curves are plain training's: they are not candidates.
    """
    shown = [
        s
        for s in ranked
        if s != PLAIN and has_probabilities(s) and not _keeps_scores(s)
    ]
    return next((s for s in shown if s in curve.models), None)


def _keeps_scores(strategy):
    spec = STRATEGIES.get(strategy)
    return spec is not None and spec.family == "decision rules"


def plot_curves(results, model, ranked, suppress_below):
    """Two panels: plain training and the best strategy, per group, same axes."""
    curve = _curve(results, model)
    if curve is None:
        return None
    best = best_strategy(curve, ranked)
    shown = [PLAIN] if best is None else [PLAIN, best]
    plt = import_pyplot()
    figure, axes = plt.subplots(
        1,
        len(shown),
        figsize=(3.6 * len(shown) + 1.8, 3.0),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    attribute = results.settings["attribute"]
    for ax, strategy in zip(axes[0], shown, strict=True):
        curve.plot(
            attribute=attribute,
            model=strategy,
            suppress_below=suppress_below or None,
            ax=ax,
        )
        ax.get_legend().remove()
        ax.set_title(f"{model}: {strategy}", fontsize=10)
        ax.label_outer()
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(
        handles,
        [wrap(text, 20) for text in labels],
        title=attribute,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
    )
    return figure


def curve_table(results, model, ranked, suppress_below):
    """Return the best strategy's net benefit minus plain training's, per group.

    At :data:`TABLE_THRESHOLDS`, with paired 95% intervals (``n/a`` when masked),
    and the name of that strategy (None, with an empty table, if there is none).
    """
    curve = _curve(results, model)
    best = None if curve is None else best_strategy(curve, ranked)
    if best is None:
        return pd.DataFrame(), None
    frame = curve.to_frame(suppress_below or None)
    attribute = results.settings["attribute"]
    rows = frame[
        (frame["model"] == best)
        & frame["attribute"].isin(["overall", attribute])
        & np.isclose(frame["threshold"].to_numpy()[:, None], TABLE_THRESHOLDS).any(1)
    ]
    table = {}
    for row in rows.itertuples():
        entry = number(row.difference, 3, True) + interval(
            row.difference_ci_low, row.difference_ci_high, 3, True
        )
        table.setdefault(row.group, {"group": row.group})[
            f"t = {row.threshold:.1f}"
        ] = entry
    return pd.DataFrame(list(table.values())), best


def _curve(results, model):
    curves = getattr(results, "curves", None) or {}
    return curves.get((results.settings["seeds"][0], model))
