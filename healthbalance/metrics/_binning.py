"""Score bins chosen from the data, and the errors they can cause.

A source that cannot hand over rows (Dask partitions, :mod:`healthbalance.metrics.
_dask`) bins every model's scores. A first pass counts the scores per outcome on a
fine grid (:data:`LOGIT_GRID`, 2e-4 wide on the logit scale; the scores' own range
when they are not probabilities); :func:`bin_edges` cuts ``n_score_bins`` bins
from it, half of equal counts of all rows and half of equal counts of the events,
and adds the report's threshold and the ``n_bins`` equal-width calibration edges
``k / n_bins``. A score equal to an edge has a bin of its own (:func:`bin_codes`),
so the threshold metrics, ECE and the calibration bins are exact; within any
other bin events and non-events tie, and :func:`binning_bounds` bounds what that
can cost the AUROC and the average precision.
"""

import numpy as np
import pandas as pd
from scipy.special import expit

from healthbalance.metrics._count_batch import ROW_STATISTICS

__all__ = [
    "BOUNDED",
    "LOGIT_GRID",
    "N_JOINT_SCORE_BINS",
    "N_SCORE_BINS",
    "bin_codes",
    "bin_edges",
    "binning_bound",
    "binning_bounds",
    "histogram",
    "stand_ins",
]

# Default number of data-driven score bins per model: AUROC and average precision
# within 1e-4 of the rows on 1M make_icu_cohort-like scores (benchmarks/bench_dask.py).
N_SCORE_BINS = 16384
# Default per model when the cells are keyed by the bins of several models (paired
# comparisons): the joint cells grow towards the product of the bins. On 1M rows
# of two models: 790,000 cells and differences of AUROC within 2e-6, of AP within
# 9e-5 (16,384 bins would make about as many cells as rows).
N_JOINT_SCORE_BINS = 4096
# Logits of the first pass: the quantiles are read 2e-4 apart.
LOGIT_GRID = np.linspace(-12.0, 12.0, 120_001)
# The metrics whose binning error is bounded (GroupReport.binning_bound).
BOUNDED = (
    "roc_auc",
    "average_precision",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
)


def histogram(s, grid=None):
    """Count ``s`` between the points of ``grid`` (None: logits on LOGIT_GRID)."""
    x = s if grid is not None else ROW_STATISTICS["logit"](s)
    grid = LOGIT_GRID if grid is None else grid
    index = np.minimum(np.searchsorted(grid, x), grid.size - 1)
    return np.bincount(index, minlength=grid.size)


def bin_edges(hists, m, pos_value, grid, n_score_bins, params):
    """Return the bin edges of model ``m``: equal counts of all rows and of events.

    Half the edges cut all rows into equal counts, half the events (where the
    rank metrics change fastest; AP's binning error halves at equal bins), and
    the threshold and the calibration edges are added.

    Parameters
    ----------
    hists : dict of label to list of ndarray
        Per label of the outcome, each model's :func:`histogram`.
    m : int
        The model.
    pos_value : label
        The label of the event.
    grid : ndarray or None
        The grid of the histograms (None: :data:`LOGIT_GRID`).
    n_score_bins : int
        Number of data-driven bins.
    params : MetricParams
        Threshold and calibration bins.

    Returns
    -------
    edges : ndarray
        Sorted, unique.
    """
    rows = sum(h[m] for h in hists.values())
    events = [h[m] for label, h in hists.items() if pos_value == label]
    halves = [rows, *events]
    on = LOGIT_GRID if grid is None else grid
    points = np.concatenate(
        [_quantiles(h, on, n_score_bins // len(halves)) for h in halves]
    )
    if grid is None:
        points = expit(points)
    fixed = np.r_[params.threshold, np.linspace(0.0, 1.0, params.n_bins + 1)]
    # no edge a hair from a fixed one: a midpoint between them must fall inside
    gap = np.abs(points[:, None] - fixed[None, :]).min(axis=1)
    return np.unique(np.r_[points[gap > 1e-9], fixed])


def _quantiles(hist, grid, n_bins):
    """Points of ``grid`` cutting the histogram into ``n_bins`` equal counts."""
    cumulative = np.cumsum(hist)
    targets = cumulative[-1] * np.arange(1, n_bins) / n_bins
    index = np.unique(np.searchsorted(cumulative, targets))
    return grid[np.minimum(index, grid.size - 1)]


def bin_codes(scores, edges):
    """Bin code of each score: ``2 i + 1`` for ``edges[i]``, ``2 i`` below it.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics._binning import bin_codes
    >>> bin_codes(np.array([0.0, 0.2, 0.5, 0.7, 1.0]), np.array([0.0, 0.5, 1.0]))
    array([1, 2, 3, 4, 5])
    """
    index = np.searchsorted(edges, scores, side="left")
    exact = edges[np.minimum(index, edges.size - 1)] == scores
    return 2 * index + exact


def stand_ins(codes, edges):
    """Return a score inside each code's bin (its edge, or its interval's midpoint).

    The midpoint is strictly inside unless two edges are adjacent floats, which
    :func:`bin_edges` never makes (its quantiles are 2e-4 apart on the logit
    scale and at least 1e-9 from the fixed edges).
    """
    index = codes // 2
    inner = np.minimum(index, edges.size - 1)
    lower = np.where(index > 0, edges[np.maximum(index - 1, 0)], edges[0] - 1)
    upper = np.where(index < edges.size, edges[inner], edges[-1] + 1)
    return np.where(codes % 2 == 1, edges[inner], (lower + upper) / 2)


def binning_bounds(y, weights, codes, rows, params):
    """Bounds on the errors of the rank metrics that binning can cause, per group.

    In a bin, events and non-events tie. ``roc_auc``: half the share of (event,
    non-event) pairs in the same bin (such a pair counts one half whatever the
    order of its scores). ``average_precision``: each event of a bin gets the
    precision at the bin's end, while its precision in score order lies between
    the precision with it first and every non-event of the bin above it, and the
    precision with it last and no non-event above it; the bound is the mean over
    events of the larger gap. ``sensitivity_at_specificity``: the operating
    points are read at bin boundaries, so the best threshold may lie inside the
    bin below the one chosen, whose events bound the loss of sensitivity
    (``specificity_at_sensitivity``: inside the chosen bin, whose non-events bound
    the loss of specificity). Scores equal to an edge have a bin of their own and
    are true ties (no error).

    Parameters
    ----------
    y, weights, codes : ndarray of shape (n_cells,)
        Outcome, patients and one model's bin code of each cell.
    rows : list of ndarray
        Cells of each group.
    params : MetricParams
        The operating points' targets.

    Returns
    -------
    bounds : dict of str to ndarray of shape (n_groups,)
        NaN for a group without events or non-events.
    """
    out = {name: np.full(len(rows), np.nan) for name in BOUNDED}
    for j, cells in enumerate(rows):
        w, events, c = weights[cells], y[cells], codes[cells]
        bins, index = np.unique(c, return_inverse=True)
        # per bin, from the highest scores down
        tp = np.bincount(index, w * events)[::-1]
        fp = np.bincount(index, w * (1 - events))[::-1]
        tied = (bins % 2 == 0)[::-1]  # an edge's own bin holds true ties
        n_pos, n_neg = tp.sum(), fp.sum()
        if not (n_pos and n_neg):
            continue
        out["roc_auc"][j] = 0.5 * float((tp * fp)[tied].sum()) / (n_pos * n_neg)
        tp_above, fp_above = np.cumsum(tp) - tp, np.cumsum(fp) - fp
        end = (tp_above + tp) / np.maximum(tp_above + tp + fp_above + fp, 1)
        low = (tp_above + 1) / (tp_above + 1 + fp_above + fp)
        high = (tp_above + tp) / np.maximum(tp_above + tp + fp_above, 1)
        gap = np.where(tied & (tp > 0), np.maximum(high - end, end - low), 0.0)
        out["average_precision"][j] = float(tp @ gap) / n_pos
        # threshold at the lower boundary of bin i: bins 0..i predicted positive
        sensitivity = np.cumsum(tp) / n_pos
        specificity = 1 - np.cumsum(fp) / n_neg
        # the widest feasible set of bins; the best threshold is inside the next
        i = np.flatnonzero(specificity >= params.target_specificity)
        below = i[-1] + 1 if i.size else 0
        loss = tp[below] / n_pos if below < tp.size and tied[below] else 0.0
        out["sensitivity_at_specificity"][j] = loss
        # the narrowest feasible set; the best threshold is inside its last bin
        last = np.flatnonzero(sensitivity >= params.target_sensitivity)[0]
        loss = fp[last] / n_neg if tied[last] else 0.0
        out["specificity_at_sensitivity"][j] = loss
    return out


def binning_bound(y, groups, cells, codes, params, n_models=1):
    """Return the bounds of the binning errors: per model, a frame of the groups.

    Columns ``attribute``, ``group`` and one per metric of :data:`BOUNDED`; zero
    for rows (``cells`` None: no binning), :func:`binning_bounds` for cells.
    """
    keys = {"attribute": groups.attribute, "group": groups.group}
    if cells is None:
        zeros = dict.fromkeys(BOUNDED, np.zeros(len(groups.rows)))
        return [pd.DataFrame({**keys, **zeros})] * n_models
    return [
        pd.DataFrame({**keys, **binning_bounds(y, cells[0], c, groups.rows, params)})
        for c in codes
    ]
