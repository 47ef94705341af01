"""The figures of the benchmark report, drawn for reading.

Strategies are listed by family on the y axis (no 15-colour legend), every panel of a
figure shares its axes, plain training is drawn as a reference line, legends sit
outside the data and long group names are wrapped. The figures read the released
frames (:func:`~healthbalance.benchmark._checks.released`), so a masked group is
never drawn.
"""

import numpy as np

from healthbalance.benchmark._bottom_line import PLAIN, worst_row
from healthbalance.benchmark._checks import has_probabilities
from healthbalance.benchmark._report_tables import family, family_order, first_seed
from healthbalance.metrics._plot import import_pyplot, wrap

PANELS_PER_ROW = 5
ROW_INCHES = 0.26


def _strategy_axis(ax, strategies):
    """Label the y axis with the strategies, a separator between families."""
    y = np.arange(len(strategies))
    ax.set_yticks(y, strategies)
    families = [family(s) for s in strategies]
    for i in range(1, len(strategies)):
        if families[i] != families[i - 1]:
            ax.axhline(i - 0.5, color="#bbb", linewidth=0.6)
    ax.set_ylim(len(strategies) - 0.5, -0.5)
    return y


def _limits(values):
    values = np.asarray([v for v in values if np.isfinite(v)])
    if values.size == 0:
        return 0.0, 1.0
    low, high = values.min(), values.max()
    pad = max(0.02, 0.05 * (high - low))
    return max(0.0, low - pad), min(1.0, high + pad)


def _errors(rows):
    est = rows["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - rows["ci_low"], rows["ci_high"] - est]).astype(float)
    return est, np.clip(np.nan_to_num(err), 0, None)


def plot_strategies(results, suppress_below):
    """Worst-group and overall AUROC per strategy, one panel per base model."""
    metrics, _ = first_seed(results, suppress_below)
    attribute = results.settings["attribute"]
    models = results.settings["models"]
    strategies = family_order(metrics["strategy"].unique())
    auroc = metrics[metrics["metric"] == "roc_auc"]
    plt = import_pyplot()
    figure, axes = plt.subplots(
        1,
        len(models),
        figsize=(4.6 * len(models) + 1.5, ROW_INCHES * len(strategies) + 1.4),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    shown = []
    for ax, model in zip(axes[0], models, strict=True):
        own = auroc[auroc["model"] == model]
        y = _strategy_axis(ax, strategies)
        worst = [
            worst_row(
                own[(own["strategy"] == s) & (own["attribute"] == attribute)], "roc_auc"
            )
            for s in strategies
        ]
        overall = own[own["attribute"] == "overall"].set_index("strategy")
        overall = overall.reindex(strategies)
        w = np.array([np.nan if r is None else r["estimate"] for r in worst], float)
        lo = np.array([np.nan if r is None else r["ci_low"] for r in worst], float)
        hi = np.array([np.nan if r is None else r["ci_high"] for r in worst], float)
        err = np.clip(np.nan_to_num(np.vstack([w - lo, hi - w])), 0, None)
        ax.errorbar(
            w,
            y,
            xerr=err,
            fmt="o",
            color="C0",
            ms=4,
            capsize=2,
            label="worst reliable group, 95% interval",
        )
        ax.plot(
            overall["estimate"], y, "s", mfc="none", color="C1", ms=5, label="overall"
        )
        if PLAIN in strategies:
            ax.axvline(
                w[strategies.index(PLAIN)],
                color="C0",
                ls="--",
                lw=0.8,
                label="plain training (erm), worst group",
            )
        ax.set(title=model, xlabel="AUROC (test set)")
        ax.grid(axis="x", alpha=0.3)
        shown += [*w, *overall["estimate"].to_numpy(float), *lo, *hi]
    axes[0][0].set_xlim(*_limits(shown))
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="lower center",
        ncol=3,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )
    return figure


def plot_forest(results, model, suppress_below, xlim):
    """Per-group AUROC of every strategy, one panel per released group."""
    metrics, _ = first_seed(results, suppress_below)
    rows = metrics[
        (metrics["model"] == model)
        & (metrics["metric"] == "roc_auc")
        & (metrics["attribute"] == results.settings["attribute"])
        & metrics["estimate"].notna()
    ]
    if rows.empty:
        return None
    groups = list(dict.fromkeys(rows["group"]))
    strategies = family_order(metrics["strategy"].unique())
    n_cols = min(len(groups), PANELS_PER_ROW)
    n_rows = -(-len(groups) // n_cols)
    plt = import_pyplot()
    figure, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(
            max(2.5 * n_cols + 1.5, 7.0),
            n_rows * (ROW_INCHES * len(strategies) + 1.0),
        ),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[len(groups) :]:
        ax.set_visible(False)
    for ax, group in zip(axes.flat, groups, strict=False):
        own = rows[rows["group"] == group].set_index("strategy").reindex(strategies)
        y = _strategy_axis(ax, strategies)
        est, err = _errors(own)
        reliable = own["reliable"].fillna(False).astype(bool).to_numpy()
        color = "C0" if reliable.any() else "C7"
        ax.errorbar(est, y, xerr=err, fmt="o", ms=3, color=color, capsize=2)
        if PLAIN in strategies and np.isfinite(est[strategies.index(PLAIN)]):
            ax.axvline(est[strategies.index(PLAIN)], color="C3", ls="--", lw=0.8)
        suffix = "" if reliable.any() else "\n(unreliable)"
        ax.set_title(wrap(group, 16) + suffix, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes[0][0].set_xlim(*xlim)
    figure.supxlabel(
        "AUROC with 95% interval; dashed: plain training (erm)", fontsize=9
    )
    figure.suptitle(f"{model}: AUROC by {results.settings['attribute']}", fontsize=10)
    return figure


def forest_limits(results, suppress_below):
    """Return the AUROC axis range shared by the forest plots of every model."""
    metrics, _ = first_seed(results, suppress_below)
    rows = metrics[
        (metrics["metric"] == "roc_auc")
        & (metrics["attribute"] == results.settings["attribute"])
    ]
    return _limits([*rows["ci_low"], *rows["ci_high"]])


def plot_reliability(results, model, ranked, suppress_below):
    """Reliability curves of plain training and the best three probability models."""
    plt = import_pyplot()
    seed = results.settings["seeds"][0]
    shown = [PLAIN, *[s for s in ranked if s != PLAIN and has_probabilities(s)][:3]]
    shown = [s for s in shown if (seed, model, s) in results.reports]
    if not shown:
        return None
    figure, axes = plt.subplots(
        1,
        len(shown),
        figsize=(3.2 * len(shown) + 1.8, 3.4),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, strategy in zip(axes[0], shown, strict=True):
        results.reports[seed, model, strategy].plot_calibration(
            attribute=results.settings["attribute"],
            suppress_below=suppress_below or None,
            ax=ax,
        )
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_title(f"{model}: {strategy}", fontsize=10)
        ax.label_outer()
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(
        handles,
        [wrap(text, 20) for text in labels],
        title=results.settings["attribute"],
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
    )
    return figure
