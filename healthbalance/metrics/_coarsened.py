"""What merged and withheld cells cost a combined report: bounds and reasons.

A federated site releases merged cells (a range of score bins) and withholds small
groups (:mod:`healthbalance.metrics._federated`). The combined report states the
cost: wider AUROC / AP bounds where cells overlap (:func:`range_bounds`), and
reasons on the rows whose group lacks a site's withheld patients.
"""

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from healthbalance._sensitive import INTERSECTION_SEP
from healthbalance.metrics._binning import BOUNDED, stand_ins
from healthbalance.metrics._federated import SUMS

__all__ = ["SPREAD", "range_bounds", "spread", "withheld_reasons"]

# Pieces a merged cell is spread over to order its patients against the other
# cells, at normal quantiles around its mean logit with the spread that gives its
# mean score. On three simulated sites of 2,500 stays the overall AUROC error was
# +0.017 with the cell at its mean score, -0.024 spread evenly over its range,
# -0.008 so (8 pieces: -0.013; 32: -0.005).
SPREAD = 16


def spread(cells, edges):
    """Split each merged cell into pieces spread over its range of bins.

    A piece holds a share of the cell's patients and the same share of its sums
    (so per-patient means, Brier score, log loss and counts are unchanged); its
    ordering score is a normal quantile around the cell's mean logit, with the
    spread whose mean score is the cell's, clipped to the range's edges (so on
    the cell's side of the threshold: no released cell straddles it). Cells of
    one bin keep the bin's stand-in.

    Returns
    -------
    cells : pandas.DataFrame
        The pieces (the cells' columns, ``n`` and the sums split).
    score : ndarray
        Ordering score of each piece.
    """
    low, high = cells["bin_low"].to_numpy(), cells["bin_high"].to_numpy()
    n = cells["n"].to_numpy()
    pieces = np.where(low == high, 1, np.minimum(n, SPREAD))
    index = np.repeat(np.arange(len(cells)), pieces)
    k = np.arange(index.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    p, total = pieces[index], n[index]
    weight = total // p + (k < total % p)
    out = cells.iloc[index].reset_index(drop=True)
    for stat in SUMS:
        out[stat] = out[stat].to_numpy() * (weight / total)
    out["n"] = weight
    last = edges.size - 1
    lower = np.where(
        low % 2 == 1,
        edges[np.minimum(low // 2, last)],
        edges[np.clip(low // 2 - 1, 0, last)],
    )
    upper = edges[np.minimum(high // 2, last)]
    a, b = (logit(np.clip(e, 1e-9, 1 - 1e-9)) for e in (lower, upper))
    z = norm.ppf((k + 0.5) / p)
    mu = (cells["logit"] / cells["n"]).to_numpy()
    sigma = _sigma(mu, (cells["score"] / cells["n"]).to_numpy(), pieces)
    position = expit(np.clip(mu[index] + sigma[index] * z, a[index], b[index]))
    # inside the range, edges excluded where the range's end bins exclude them
    first = np.where(low % 2 == 1, lower, np.nextafter(lower, np.inf))
    end = np.where(high % 2 == 1, upper, np.nextafter(upper, -np.inf))
    position = np.clip(position, first[index], end[index])
    single = low[index] == high[index]
    return out, np.where(single, stand_ins(low[index], edges), position)


def _sigma(mu, mean_score, pieces, steps=40):
    """Spread on the logit scale whose pieces' mean score is the cell's.

    The mean logit and the mean score of a cell differ by the spread of its
    logits (Jensen): bisection on the spread of ``pieces`` normal quantiles
    around the mean logit.
    """
    k = np.arange(SPREAD)
    z = norm.ppf((k + 0.5) / np.maximum(pieces, 1)[:, None])
    used = k < pieces[:, None]
    gap = np.abs(mean_score - expit(mu))
    low, high = np.zeros(mu.size), np.full(mu.size, 8.0)
    for _ in range(steps):
        mid = (low + high) / 2
        values = np.where(used, expit(mu[:, None] + mid[:, None] * z), 0.0)
        value = values.sum(axis=1) / np.maximum(pieces, 1)
        # the mean score moves away from expit(mu) as the spread grows
        grow = np.abs(value - expit(mu)) < gap
        low, high = np.where(grow, mid, low), np.where(grow, high, mid)
    return np.where(pieces > 1, (low + high) / 2, 0.0)


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
