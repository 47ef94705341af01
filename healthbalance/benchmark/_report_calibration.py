"""Smooth calibration of the benchmark report: plain training against the best.

Loess calibration curves per group of the training attribute, with their pointwise
bands, for plain training and the strategy of the decision-curve figure (chosen by
the run with :func:`~healthbalance.benchmark._report_curves.best_strategy`), side by
side on the same axes, and a sentence naming each one's worst calibrated group by
ICI. The figure reads the curves through ``to_frame(suppress_below)`` and the
sentence the released metrics: what the small-count rule masks is neither drawn nor
named.
"""

import numpy as np

from healthbalance.benchmark._bottom_line import PLAIN, worst_row
from healthbalance.benchmark._report_tables import estimate_entry, first_seed
from healthbalance.metrics._groups import OVERALL
from healthbalance.metrics._plot import import_pyplot, wrap

__all__ = ["plot_calibration", "shown_strategies", "worst_calibrated"]


def shown_strategies(results, model):
    """Return the strategies with curves: plain training, then the best, or ``[]``.

    The run chose them (``BenchmarkResults.calibration``) with :func:`best_strategy`.
    """
    curves = _curves(results, model)
    return [PLAIN, *[s for s in curves if s != PLAIN]] if PLAIN in curves else []


def plot_calibration(results, model, suppress_below):
    """Two panels, plain training and the best strategy: one curve per group."""
    shown = shown_strategies(results, model)
    if not shown:
        return None
    attribute = results.settings["attribute"]
    frames = {
        s: _released(_curves(results, model)[s], suppress_below, attribute)
        for s in shown
    }
    plt = import_pyplot()
    figure, axes = plt.subplots(
        1,
        len(shown),
        figsize=(3.0 * len(shown) + 1.8, 3.0),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    groups = dict.fromkeys(
        g for f in frames.values() for g in f.loc[f["attribute"] != OVERALL, "group"]
    )
    colors = {g: f"C{i % 10}" for i, g in enumerate(groups)}
    for ax, strategy in zip(axes[0], shown, strict=True):
        _panel(ax, frames[strategy], colors)
        ax.set_title(f"{model}: {strategy}", fontsize=10)
        ax.label_outer()
    high = max([0.05, *(_top(f) for f in frames.values())])  # bands may exceed it
    axes[0][0].set_xlim(0, high)
    axes[0][0].set_ylim(0, high)
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:  # a group drawn in another panel only
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            if text not in labels:
                handles, labels = [*handles, handle], [*labels, text]
    figure.legend(
        handles,
        [wrap(text, 20) for text in labels],
        title=attribute,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
    )
    return figure


def worst_calibrated(results, model, suppress_below):
    """Return one sentence naming each shown strategy's worst group by ICI, or None.

    The worst reliable released group of the training attribute (highest ICI),
    with its ICI and 95% interval.
    """
    shown = shown_strategies(results, model)
    if not shown:
        return None
    metrics, _ = first_seed(results, suppress_below)
    attribute = results.settings["attribute"]
    rows = metrics[
        (metrics["model"] == model)
        & (metrics["metric"] == "ici")
        & (metrics["attribute"] == attribute)
    ]
    parts = []
    for strategy in shown:
        row = worst_row(rows[rows["strategy"] == strategy], "ici")
        parts.append(
            f"no reliable group to name under {strategy}"
            if row is None
            else f"{row['group']} under {strategy}, ICI {estimate_entry(row)}"
        )
    return (
        f"{model}, worst calibrated group of {attribute} by ICI (mean absolute gap "
        "between the loess curve and the predicted risk, 95% interval): "
        + "; ".join(parts)
        + "."
    )


def _curves(results, model):
    calibration = getattr(results, "calibration", None) or {}
    return calibration.get((results.settings["seeds"][0], model), {})


def _released(curves, suppress_below, attribute):
    """Return the curves of ``attribute`` and overall that may be shown."""
    frame = curves.to_frame(suppress_below or None)
    frame = frame[frame["attribute"].isin([OVERALL, attribute])]
    return frame[frame["observed"].notna()]


def _top(frame):
    """Upper end of the shared square axes: the highest prediction drawn."""
    values = frame[["predicted", "observed"]].to_numpy(float).ravel()
    values = values[np.isfinite(values)]
    return min(1.0, 1.05 * values.max()) if values.size else 1.0


def _panel(ax, frame, colors):
    ax.plot([0, 1], [0, 1], color="black", ls="--", lw=0.8, label="ideal")
    overall = frame[frame["attribute"] == OVERALL]
    ax.plot(overall["predicted"], overall["observed"], color="0.55", label=OVERALL)
    for group, rows in frame[frame["attribute"] != OVERALL].groupby(
        "group", sort=False
    ):
        x = rows["predicted"].to_numpy(float)
        color = colors[group]
        reliable = bool(rows["reliable"].all())
        if reliable:  # an unreliable group's band would fill the panel
            ax.fill_between(
                x,
                rows["ci_low"].to_numpy(float),
                rows["ci_high"].to_numpy(float),
                color=color,
                alpha=0.12,
                lw=0,
            )
        ax.plot(
            x,
            rows["observed"].to_numpy(float),
            color=color,
            ls="-" if reliable else ":",
            label=str(group) + ("" if reliable else " (unreliable)"),
        )
    ax.set(xlabel="predicted risk", ylabel="observed risk (loess)")
    ax.grid(alpha=0.3)
