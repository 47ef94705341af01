"""Plots of group reports; matplotlib is an optional dependency."""

import textwrap

import numpy as np

__all__ = ["calibration_plot", "forest_plot", "import_pyplot", "wrap"]


def wrap(text, width=18):
    """Wrap a group name over lines of at most ``width`` characters, for labels.

    Examples
    --------
    >>> from healthbalance.metrics._plot import wrap
    >>> print(wrap("American Indian or Alaska Native", 18))
    American Indian or
    Alaska Native
    """
    return "\n".join(textwrap.wrap(str(text), width, break_on_hyphens=False)) or str(
        text
    )


def import_pyplot():
    """Import matplotlib.pyplot, or explain how to install it.

    Returns
    -------
    pyplot : module

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "Plotting (group reports, the benchmark report) requires matplotlib, "
            "which is not installed: "
            "pip install 'healthbalance[plot]' (or pip install matplotlib)."
        ) from e
    return plt


def _axes(ax, height):
    plt = import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, max(2.0, 0.35 * height + 1)))
    return ax


def forest_plot(frame, metric, *, ax=None):
    """Draw per-group estimates as points with horizontal interval bars.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of :meth:`GroupReport.to_frame` for one metric.
    metric : str
        The metric name (axis label).
    ax : matplotlib Axes or None, default=None
        Where to draw.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, len(frame))
    y = np.arange(len(frame))[::-1]
    est = frame["estimate"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    err = np.vstack([est - low, high - est])
    reliable = frame["reliable"].to_numpy(dtype=bool)
    for mask, style in ((reliable, "o"), (~reliable, "x")):
        ax.errorbar(
            est[mask],
            y[mask],
            xerr=np.nan_to_num(err[:, mask]),
            fmt=style,
            color="C0" if style == "o" else "C3",
            capsize=3,
        )
    labels = [
        wrap(g if a == "overall" else f"{a}: {g}", 30)
        for a, g in zip(frame["attribute"], frame["group"], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_xlabel(metric)
    ax.set_title(f"{metric} by group (x: unreliable)")
    return ax


def calibration_plot(data, *, ax=None):
    """Draw one reliability curve per group.

    Parameters
    ----------
    data : pandas.DataFrame
        Binned calibration data with columns ``group``, ``mean_predicted``,
        ``observed`` and ``n``.
    ax : matplotlib Axes or None, default=None
        Where to draw.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, 10)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    for group, rows in data.groupby("group", sort=False):
        ax.plot(rows["mean_predicted"], rows["observed"], marker="o", label=wrap(group))
    ax.set_xlabel("mean predicted risk")
    ax.set_ylabel("observed event rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    # outside the axes, so that it never covers a curve
    ax.legend(
        title=str(data["attribute"].iloc[0]) if len(data) else None,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
    )
    return ax
