"""What merged and withheld cells cost a combined report: bounds and reasons.

A federated site releases merged cells (a range of score bins) and withholds small
groups (:mod:`healthbalance.metrics._federated`). The combined report states the
cost: wider AUROC / AP bounds where cells overlap (:func:`range_bounds`), and
reasons on the rows whose threshold counts are approximate or whose group lacks a
site's withheld patients.
"""

import numpy as np
import pandas as pd

from healthbalance._sensitive import INTERSECTION_SEP
from healthbalance.metrics._dask import BOUNDED
from healthbalance.metrics._registry import METRICS

__all__ = ["range_bounds", "straddle_reasons", "withheld_reasons"]


def range_bounds(y, weights, low, high, rows):
    """AUROC / AP error bounds when cells cover ranges of bins, per group.

    Two cells whose ranges overlap may be in either order: an (event, non-event)
    pair of overlapping cells can be counted wrong by 1 (one half in the same
    single bin, 0 in an edge's own bin). An event's precision lies between the
    precision with only the surely-higher events and every possibly-higher
    non-event above it, and with every possibly-higher event and only the
    surely-higher non-events above it; the estimate's lies there too, so the AP
    bound is the mean over events of that range.
    """
    out = {name: np.full(len(rows), np.nan) for name in BOUNDED}
    for j, r in enumerate(rows):
        w, e, lo, hi = weights[r], y[r] == 1, low[r], high[r]
        n_pos, n_neg = w[e].sum(), w[~e].sum()
        if not (n_pos and n_neg):
            continue
        neg_overlap = _overlap(lo[e], hi[e], lo[~e], hi[~e], w[~e])
        same = _same_single(lo, hi, e, w)
        out["roc_auc"][j] = float(w[e] @ neg_overlap - same) / (n_pos * n_neg)
        pos_above = _weight_at_or_above(lo[e], hi[e], w[e], lo[e])
        neg_above = _weight_at_or_above(lo[~e], hi[~e], w[~e], lo[e])
        pos_sure = _weight_above(lo[e], w[e], hi[e])
        neg_sure = _weight_above(lo[~e], w[~e], hi[e])
        low_p = (pos_sure + 1) / (pos_sure + 1 + neg_above)
        high_p = pos_above / np.maximum(pos_above + neg_sure, 1)
        out["average_precision"][j] = float(w[e] @ (high_p - low_p)) / n_pos
    return out


def _overlap(lo, hi, other_lo, other_hi, other_w):
    """Weight of the other cells whose range overlaps each cell's."""
    total = other_w.sum()
    order_hi = np.argsort(other_hi)
    below = np.r_[0, np.cumsum(other_w[order_hi])]
    order_lo = np.argsort(other_lo)
    above = np.r_[np.cumsum(other_w[order_lo][::-1])[::-1], 0]
    n_below = below[np.searchsorted(other_hi[order_hi], lo, side="left")]
    n_above = above[np.searchsorted(other_lo[order_lo], hi, side="right")]
    return total - n_below - n_above


def _weight_at_or_above(other_lo, other_hi, other_w, lo):
    """Weight of the cells that may hold a score at or above ``lo`` (hi >= lo)."""
    order = np.argsort(other_hi)
    cumulative = np.r_[0, np.cumsum(other_w[order])]
    return other_w.sum() - cumulative[np.searchsorted(other_hi[order], lo, "left")]


def _weight_above(other_lo, other_w, hi):
    """Weight of the cells surely above ``hi`` (lo > hi)."""
    order = np.argsort(other_lo)
    cumulative = np.r_[0, np.cumsum(other_w[order])]
    return other_w.sum() - cumulative[np.searchsorted(other_lo[order], hi, "right")]


def _same_single(lo, hi, events, w):
    """Pairs of single-bin cells in the same bin: their error is 1/2 (0 at an edge)."""
    single = lo == hi
    frame = pd.DataFrame({"bin": lo[single], "e": events[single], "w": w[single]})
    table = frame.pivot_table(index="bin", columns="e", values="w", aggfunc="sum")
    table = table.reindex(columns=[False, True]).fillna(0)
    pairs = table[False].to_numpy() * table[True].to_numpy()
    saved = np.where(table.index.to_numpy() % 2 == 1, 1.0, 0.5)
    return float(pairs @ saved)


def straddle_reasons(frame, groups, straddle):
    """Return the reason column, noting inexact counts at the threshold.

    A merged cell straddling the threshold is counted on the side of its mean
    score: the group's true/false positives/negatives are then off by at most
    that cell's patients.
    """
    reasons = frame["reason"].tolist()
    note = "threshold counts approximate: a merged cell straddles the threshold"
    hit = {
        (a, g)
        for a, g, rows in zip(groups.attribute, groups.group, groups.rows, strict=True)
        if straddle[rows].any()
    }
    confusion = {n for n, m in METRICS.items() if "confusion" in m.statistics}
    for i, (a, g, m) in enumerate(
        zip(frame["attribute"], frame["group"], frame["metric"], strict=True)
    ):
        if (a, g) in hit and m in confusion:
            reasons[i] = f"{reasons[i]}; {note}" if reasons[i] else note
    return reasons


def withheld_reasons(frame, sites, attributes):
    """Return the reason column, noting sites whose withheld groups a row lacks."""
    reasons = frame["reason"].tolist()
    memo = {}
    for i, (attribute, group) in enumerate(
        zip(frame["attribute"], frame["group"], strict=True)
    ):
        key = (attribute, group)
        if key not in memo:
            memo[key] = _excluded_sites(attribute, group, sites, attributes)
        if memo[key]:
            note = f"excludes groups withheld at {', '.join(memo[key])}"
            reasons[i] = f"{reasons[i]}; {note}" if reasons[i] else note
    return reasons


def _excluded_sites(attribute, group, sites, attributes):
    """Sites with a withheld group inside the reported group ``attribute=group``."""
    names = str(attribute).split(INTERSECTION_SEP)
    labels = str(group).split(INTERSECTION_SEP)
    wanted = dict(zip(names, labels, strict=False)) if len(names) == len(labels) else {}
    found = []
    for site, info in sites.items():
        for withheld in info["withheld"]:
            values = {"site": site, **dict(zip(attributes, withheld, strict=True))}
            if attribute == "overall" or all(
                values.get(a) == v for a, v in wanted.items()
            ):
                found.append(str(site))
                break
    return found
