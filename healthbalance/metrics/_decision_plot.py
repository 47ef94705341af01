"""Decision-curve figure; matplotlib is an optional dependency."""

import numpy as np

from healthbalance.metrics._plot import import_pyplot, wrap

__all__ = ["decision_plot"]


def decision_plot(frame, *, ax=None):
    """Draw net benefit against threshold per group, with bands and treat-all.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of :meth:`DecisionCurve.to_frame` of one model and attribute.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    top = 0.0
    for i, (group, rows) in enumerate(frame.groupby("group", sort=False)):
        if rows["net_benefit"].isna().all():  # masked: not drawn, colours kept
            continue
        color = f"C{i % 10}"
        t = rows["threshold"].to_numpy()
        label = wrap(group) + ("" if rows["reliable"].all() else " (unreliable)")
        ax.plot(t, rows["net_benefit"], color=color, label=label)
        ax.fill_between(t, rows["ci_low"], rows["ci_high"], color=color, alpha=0.2)
        ax.plot(t, rows["treat_all"], color=color, linestyle=":", linewidth=1)
        top = max(top, np.nanmax(np.r_[rows["treat_all"], rows["net_benefit"], 0]))
    ax.axhline(0.0, color="black", linewidth=1, label="treat none")
    ax.plot([], [], color="grey", linestyle=":", label="treat all (dotted)")
    top = top or 1.0
    ax.set_ylim(-0.25 * top, 1.1 * top)
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return ax
