"""The bottom line of a :class:`GroupReport` in plain words, and its notebook display.

The sentences name groups, estimates and intervals of reliable groups only; a group
the small-count policy (:mod:`healthbalance.metrics._small_counts`) flags unreliable is
named as too small to rank, without its counts or its estimate.
"""

import html

import numpy as np

from healthbalance.metrics._groups import OVERALL
from healthbalance.metrics._registry import METRICS

__all__ = ["main_metric", "report_html", "report_summary"]

# the metric a summary is about when none is asked for, in order of preference
PREFERRED = ("roc_auc", "average_precision", "brier_score", "sensitivity")
# groups too small to rank named per attribute before "and N more"
MAX_NAMED = 5


def main_metric(metrics):
    """Return the metric a summary reports when none is given.

    Examples
    --------
    >>> from healthbalance.metrics._report_summary import main_metric
    >>> main_metric(["n", "sensitivity", "roc_auc"])
    'roc_auc'
    >>> main_metric(["n", "ppv"])
    'ppv'
    """
    for name in PREFERRED:
        if name in metrics:
            return name
    with_interval = [m for m in metrics if m not in METRICS or METRICS[m].interval]
    return (with_interval or list(metrics))[0]


def _number(value):
    return "n/a" if value is None or np.isnan(value) else f"{float(value):.3f}"


def _interval(low, high):
    if np.isnan(low) or np.isnan(high):
        return ""
    return f" [{float(low):.3f}, {float(high):.3f}]"


def _overall_sentence(report, metric):
    rows = report.to_frame()
    row = rows[(rows["attribute"] == OVERALL) & (rows["metric"] == metric)].iloc[0]
    level = f"{report.confidence_level:.0%}"
    return (
        f"{metric} overall: {_number(row['estimate'])}"
        f"{_interval(row['ci_low'], row['ci_high'])} ({level} intervals)."
    )


def _attribute_sentence(report, metric, attribute):
    rows = report._rows(metric, attribute)
    reliable = rows[rows["reliable"].to_numpy(bool) & rows["estimate"].notna()]
    small = rows.loc[~rows["reliable"].to_numpy(bool), "group"].tolist()
    parts = []
    if len(reliable) == 0:
        parts.append(f"{attribute}: no group is reliable enough to rank.")
    else:
        worst = report.worst_group(metric, attribute=attribute).iloc[0]
        parts.append(
            f"{attribute}: worst reliable group {worst['group']}, {metric} "
            f"{_number(worst['estimate'])}"
            f"{_interval(worst['ci_low'], worst['ci_high'])}"
            + _gap(report, metric, attribute, worst["group"], len(reliable))
        )
    if small:
        shown = ", ".join(map(str, small[:MAX_NAMED]))
        more = f" and {len(small) - MAX_NAMED} more" if len(small) > MAX_NAMED else ""
        parts.append(f"Too small to rank: {shown}{more}.")
    return " ".join(parts)


def _gap(report, metric, attribute, worst, n_reliable):
    if n_reliable < 2:
        return "."
    gaps = report.disparity(metric, attribute=attribute)
    row = gaps[gaps["group"] == worst].iloc[0]
    low, high = row["difference_ci_low"], row["difference_ci_high"]
    real = (
        "its interval excludes 0"
        if low > 0 or high < 0
        else "its interval includes 0 (not distinguishable)"
    )
    return (
        f"; the largest gap, to the best group {row['reference']}, is "
        f"{float(row['difference']):+.3f}{_interval(low, high)}: {real}."
    )


def report_summary(report, metric=None):
    """Return the bottom line of ``report`` for ``metric`` as plain sentences.

    Parameters
    ----------
    report : GroupReport
        The report to summarise.
    metric : str or None, default=None
        The metric; ``roc_auc`` when reported (see :func:`main_metric`).

    Returns
    -------
    summary : str
        One line for overall, then one per attribute: its worst reliable group with
        the interval, the largest gap to the best reliable group with its paired
        interval and whether it excludes 0, and the groups too small to rank.
    """
    metric = main_metric(report.metrics) if metric is None else metric
    report._metric_index(metric)
    attributes = [
        a for a in dict.fromkeys(report.to_frame()["attribute"]) if a != OVERALL
    ]
    lines = [_overall_sentence(report, metric)]
    lines += [_attribute_sentence(report, metric, a) for a in attributes]
    return "\n".join(lines)


def report_html(report):
    """Return the notebook display of ``report``: its summary, then its table."""
    frame = report.to_frame()
    entries = [
        _entry(e, lo, hi, r)
        for e, lo, hi, r in zip(
            frame["estimate"],
            frame["ci_low"],
            frame["ci_high"],
            frame["reliable"],
            strict=True,
        )
    ]
    table = frame.assign(value=entries).pivot_table(
        index=["attribute", "group"],
        columns="metric",
        values="value",
        aggfunc="first",
        sort=False,
    )[report.metrics]
    title = (
        f"<p><b>GroupReport</b>: {len(report._keys)} groups, {report.n_bootstrap} "
        f"bootstrap replicates, {report.confidence_level:.0%} percentile "
        "intervals; * marks unreliable groups (see to_frame()['reason']).</p>"
    )
    summary = "".join(
        f"<li>{html.escape(line)}</li>" for line in report.summary().splitlines()
    )
    return f"{title}<ul>{summary}</ul>{table.to_html(escape=True)}"


def _entry(estimate, low, high, reliable):
    mark = "" if reliable else "*"
    if np.isnan(estimate):
        return "n/a" + mark
    if np.isnan(low):
        return f"{estimate:.3g}{mark}"
    return f"{estimate:.3f} [{low:.3f}, {high:.3f}]{mark}"
