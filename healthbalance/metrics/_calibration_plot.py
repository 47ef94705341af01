"""The figure of :meth:`CalibrationCurves.plot`: one panel per group."""

import numpy as np

from healthbalance._small_counts import suppress_parts
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
    fig = plt.figure(figsize=(2.7 * n_cols + 1.8, 3.1 * n_rows + 0.5))
    outer = fig.add_gridspec(n_rows, n_cols, hspace=0.45, wspace=0.25)
    for k, name in enumerate(names):
        cell = outer[k // n_cols, k % n_cols].subgridspec(
            2, 1, height_ratios=[4, 1], hspace=0.06
        )
        top = fig.add_subplot(cell[0])
        bottom = fig.add_subplot(cell[1], sharex=top)
        _curve(top, overall, rows[rows["group"] == name], name, curves)
        counts = curves._histograms[(attribute, name)]
        if rows.loc[rows["group"] == name, "n"].isna().all():
            counts = np.zeros_like(counts)  # its bars would add up to its n
        _histogram(bottom, counts, suppress_below)
        top.tick_params(labelbottom=False)
        if k % n_cols:
            top.set_ylabel("")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    # outside the panels, so that it never covers a curve
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.91, 0.9))
    fig.suptitle(f"Calibration by {attribute} ({curves.method})")
    fig.subplots_adjust(left=0.08, right=0.9, bottom=0.1, top=0.86)
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

    Bars of 1 to ``suppress_below - 1`` patients are hidden, and so are the
    bars that would give them back by subtraction from the group's ``n``
    (:func:`healthbalance._small_counts.suppress_parts`).

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics._calibration_plot import shown_bars
    >>> shown_bars(np.array([3, 40, 0, 12, 30]), 11).tolist()
    [0, 40, 0, 0, 30]
    """
    if suppress_below is None:
        return counts
    drawn = np.flatnonzero(counts)
    masked = suppress_parts(counts[drawn], np.full(drawn.size, np.nan), suppress_below)
    shown = counts.copy()
    shown[drawn[masked]] = 0
    return shown


def _histogram(ax, counts, suppress_below):
    """Draw the predictions' distribution without the bars of few patients."""
    shown = shown_bars(counts, suppress_below)
    edges = np.linspace(0, 1, counts.size + 1)
    ax.bar(edges[:-1], shown, width=np.diff(edges), align="edge", color="0.5")
    ax.set_yticks([])
    ax.set_xlabel("predicted risk")
