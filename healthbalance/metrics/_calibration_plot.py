"""The figure of :meth:`CalibrationCurves.plot`: one panel per group."""

import numpy as np

from healthbalance.metrics._groups import OVERALL
from healthbalance.metrics._plot import import_pyplot, wrap

__all__ = ["plot_curves", "shown_bars"]

_COLUMNS = 4


def plot_curves(curves, attribute, suppress_below):
    """Draw the curves of ``attribute``'s groups (see :meth:`CalibrationCurves.plot`).

    Returns
    -------
    fig : matplotlib Figure
    """
    plt = import_pyplot()
    frame = curves.to_frame(suppress_below=suppress_below)
    attributes = [a for a in dict.fromkeys(frame["attribute"]) if a != OVERALL]
    if attribute is None:
        attribute = attributes[0] if attributes else OVERALL
    if attribute not in set(frame["attribute"]):
        raise ValueError(
            f"attribute {attribute!r} is not in these curves; they have "
            f"{sorted(set(frame['attribute']))}."
        )
    overall = frame[frame["attribute"] == OVERALL]
    rows = frame[frame["attribute"] == attribute]
    names = list(dict.fromkeys(rows["group"]))
    n_cols = min(_COLUMNS, len(names))
    n_rows = -(-len(names) // n_cols)
    fig, axes = plt.subplots(
        2 * n_rows,
        n_cols,
        figsize=(2.6 * n_cols + 1.6, 3.2 * n_rows),
        gridspec_kw={"height_ratios": [4, 1] * n_rows},
        squeeze=False,
        sharex=True,
    )
    for k, name in enumerate(names):
        top, bottom = (
            axes[2 * (k // n_cols), k % n_cols],
            axes[2 * (k // n_cols) + 1, k % n_cols],
        )
        group = rows[rows["group"] == name]
        _curve(top, overall, group, name, curves)
        _histogram(bottom, curves._histograms[(attribute, name)], suppress_below)
    for k in range(len(names), n_rows * n_cols):
        for ax in axes[2 * (k // n_cols) : 2 * (k // n_cols) + 2, k % n_cols]:
            ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # outside the panels, so that it never covers a curve
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.95))
    fig.suptitle(f"Calibration by {attribute} ({curves.method})")
    fig.tight_layout()
    return fig


def _curve(ax, overall, group, name, curves):
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", lw=0.8, label="ideal")
    if len(overall) and overall is not group:
        ax.plot(overall["predicted"], overall["observed"], color="0.6", label="overall")
    x = group["predicted"].to_numpy(float)
    ax.fill_between(
        x,
        group["ci_low"].to_numpy(float),
        group["ci_high"].to_numpy(float),
        color="C0",
        alpha=0.25,
        lw=0,
        label=f"{curves.confidence_level:.0%} band",
    )
    marker = "o" if curves.method == "bins" else None
    ax.plot(
        x, group["observed"].to_numpy(float), color="C0", marker=marker, label="group"
    )
    reliable = bool(group["reliable"].all()) if len(group) else True
    ax.set_title(wrap(name, 24) + ("" if reliable else "\n(unreliable)"), fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed risk")


def shown_bars(counts, suppress_below):
    """Return the histogram counts that may be drawn (the others set to 0).

    Bars of 1 to ``suppress_below - 1`` patients are hidden and, while the hidden
    bars add up to such a count (the group's ``n`` minus the drawn bars would give
    it back), so is the smallest drawn bar.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics._calibration_plot import shown_bars
    >>> shown_bars(np.array([3, 40, 0, 12, 30]), 11).tolist()
    [0, 40, 0, 0, 30]
    """
    shown = np.where(counts >= suppress_below, counts, 0)
    while 0 < counts.sum() - shown.sum() < suppress_below and shown.any():
        drawn = np.flatnonzero(shown)
        shown[drawn[np.argmin(shown[drawn])]] = 0
    return shown


def _histogram(ax, counts, suppress_below):
    """Draw the predictions' distribution without the bars of few patients."""
    shown = shown_bars(counts, suppress_below)
    edges = np.linspace(0, 1, counts.size + 1)
    ax.bar(edges[:-1], shown, width=np.diff(edges), align="edge", color="0.5")
    ax.set_yticks([])
    ax.set_xlabel("predicted risk")
