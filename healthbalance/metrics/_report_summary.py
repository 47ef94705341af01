"""The bottom line of a :class:`GroupReport` in plain words, and its notebook display.

The sentences name groups, estimates and intervals of reliable groups only; a group
the small-count policy (:mod:`healthbalance._small_counts`) flags unreliable is
named as too small to rank, without its counts or its estimate.
"""

import html

import numpy as np

from healthbalance.metrics._groups import OVERALL
from healthbalance.metrics._registry import METRICS

__all__ = [
    "excludes_zero",
    "interval",
    "main_metric",
    "number",
    "report_html",
    "report_summary",
    "too_small_to_rank",
]

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


def number(value, digits=3, sign=False):
    """Return ``value`` as plain text, ``"n/a"`` when it is undefined.

    Examples
    --------
    >>> from healthbalance.metrics._report_summary import number
    >>> number(0.81234), number(float("nan")), number(0.02, 2, sign=True)
    ('0.812', 'n/a', '+0.02')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{float(value):{'+' if sign else ''}.{digits}f}"


def interval(low, high, digits=3, sign=False):
    """Return `` [low, high]``, or nothing when the interval is undefined.

    Examples
    --------
    >>> from healthbalance.metrics._report_summary import interval
    >>> interval(0.1, 0.25), interval(float("nan"), 0.2)
    (' [0.100, 0.250]', '')
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f" [{number(low, digits, sign)}, {number(high, digits, sign)}]"


def excludes_zero(low, high):
    """Whether the interval ``[low, high]`` is defined and excludes 0.

    Examples
    --------
    >>> from healthbalance.metrics._report_summary import excludes_zero
    >>> excludes_zero(0.01, 0.2), excludes_zero(-0.1, 0.2)
    (True, False)
    """
    return bool(low > 0 or high < 0)


def too_small_to_rank(groups):
    """Return the sentence naming the groups too small to rank, or ``""``.

    At most ``MAX_NAMED`` groups are named, then "and N more". Never a count.

    Examples
    --------
    >>> from healthbalance.metrics._report_summary import too_small_to_rank
    >>> too_small_to_rank(["Asian", "Black"])
    'Too small to rank: Asian, Black.'
    """
    groups = [str(g) for g in groups]
    if not groups:
        return ""
    shown = ", ".join(groups[:MAX_NAMED])
    more = f" and {len(groups) - MAX_NAMED} more" if len(groups) > MAX_NAMED else ""
    return f"Too small to rank: {shown}{more}."


def _overall_sentence(report, metric):
    rows = report.to_frame()
    row = rows[(rows["attribute"] == OVERALL) & (rows["metric"] == metric)].iloc[0]
    level = f"{report.confidence_level:.0%}"
    return (
        f"{metric} overall: {number(row['estimate'])}"
        f"{interval(row['ci_low'], row['ci_high'])} ({level} intervals)."
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
            f"{number(worst['estimate'])}"
            f"{interval(worst['ci_low'], worst['ci_high'])}"
            + _gap(report, metric, attribute, worst["group"], len(reliable))
        )
    if small:
        parts.append(too_small_to_rank(small))
    return " ".join(parts)


def _gap(report, metric, attribute, worst, n_reliable):
    if n_reliable < 2:
        return "."
    gaps = report.disparity(metric, attribute=attribute)
    row = gaps[gaps["group"] == worst].iloc[0]
    low, high = row["difference_ci_low"], row["difference_ci_high"]
    real = (
        "its interval excludes 0"
        if excludes_zero(low, high)
        else "its interval includes 0 (not distinguishable)"
    )
    return (
        f"; the largest gap, to the best group {row['reference']}, is "
        f"{float(row['difference']):+.3f}{interval(low, high)}: {real}."
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
