"""Stage 1 of a federated evaluation: each site's rows become releasable cells.

A site reduces its rows to the weighted cells of the Dask path
(:func:`~healthbalance.metrics._dask._cells`: finest intersection of the sensitive
attributes x outcome x score bin, with the count and the sums of score, logit,
squared error and log loss) on bin edges agreed by every site in advance
(:func:`make_bin_edges`). Before release, the small-count policy
(:mod:`healthbalance._small_counts`) decides what leaves: a group whose patients,
events, non-events, true/false positives or true/false negatives at the
threshold include a count from 1 to ``min_count - 1`` is withheld (with
complementary withholding, so that the site's released total does not give it
back), and the cells of the other groups are merged with their neighbours on the
same side of the threshold until every released count is 0 or at least
``min_count``. No released cell straddles the threshold: a straddling cell's
score sum would pin how many of its patients lie above it. A merged cell keeps
the range of bins it covers; the combined report
spreads its patients over that range (around its mean logit, with the spread
that gives its mean score: :func:`~healthbalance.metrics._coarsened.spread`) and
widens the stated AUROC / AP bound accordingly.
"""

import numbers

import numpy as np
import pandas as pd
from scipy.special import expit

from healthbalance._sensitive import resolve_sensitive_features
from healthbalance._small_counts import SUPPRESS_BELOW, suppress
from healthbalance.metrics._count_batch import ROW_STATISTICS
from healthbalance.metrics._dask import _cells
from healthbalance.metrics._validation import check_scores, check_target
from healthbalance.utils._validation import plain

__all__ = [
    "CELL_COLUMNS",
    "SUMS",
    "check_bin_edges",
    "check_min_count",
    "export_cells",
    "make_bin_edges",
    "release",
]

SUMS = tuple(ROW_STATISTICS)  # score, logit, squared_error, log_loss
CELL_COLUMNS = ("outcome", "bin_low", "bin_high", "n", *SUMS)


def make_bin_edges(*, threshold=0.5, n_bins=10, n_score_bins=4096, logit_range=8.0):
    """Return score bin edges for every site of a federated evaluation to share.

    ``n_score_bins - 1`` edges equally spaced on the logit scale over
    ``[-logit_range, logit_range]``, plus the ``threshold`` and the calibration
    edges ``k / n_bins`` (so that the threshold metrics, ECE and the calibration
    curves of the combined report are exact), plus 0 and 1. Unlike the Dask path,
    the edges cannot come from the data (no site sees the others' scores): the
    combined report states the AUROC / AP error they allow
    (:attr:`GroupReport.binning_bound`).

    Parameters
    ----------
    threshold : float, default=0.5
        Threshold of the report's threshold metrics; in (0, 1).
    n_bins : int, default=10
        Number of calibration bins of the report.
    n_score_bins : int, default=4096
        Number of bins on the logit scale; more tighten the bound and make more
        cells.
    logit_range : float, default=8.0
        Half-width of the logit range the bins cover (probabilities from about
        0.0003 to 0.9997); scores beyond it share the two outer bins.

    Returns
    -------
    bin_edges : ndarray
        Sorted edges in [0, 1].

    Examples
    --------
    >>> from healthbalance.metrics import make_bin_edges
    >>> edges = make_bin_edges(n_score_bins=8, n_bins=2)
    >>> bool(0.5 in edges and edges[0] == 0 and edges[-1] == 1), edges.size
    (True, 9)
    """
    if not isinstance(n_score_bins, numbers.Integral) or n_score_bins < 2:
        raise ValueError(
            f"n_score_bins must be an integer of at least 2, got "
            f"{plain(n_score_bins)!r}; e.g. 4096."
        )
    if not isinstance(logit_range, numbers.Real) or not 0 < logit_range <= 30:
        raise ValueError(
            f"logit_range must be a number in (0, 30], got {plain(logit_range)!r}; "
            "e.g. 8."
        )
    _check_threshold(threshold, n_bins)
    points = expit(np.linspace(-logit_range, logit_range, n_score_bins - 1))
    fixed = np.r_[threshold, np.linspace(0.0, 1.0, n_bins + 1)]
    gap = np.abs(points[:, None] - fixed[None, :]).min(axis=1)
    return np.unique(np.r_[points[gap > 1e-9], fixed])


def _check_threshold(threshold, n_bins):
    if not isinstance(threshold, numbers.Real) or not 0 < threshold < 1:
        raise ValueError(
            f"threshold must be a probability in (0, 1), got {plain(threshold)!r}; "
            "e.g. 0.5."
        )
    if not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(
            f"n_bins must be a positive integer, got {plain(n_bins)!r}; e.g. 10."
        )


def check_bin_edges(bin_edges, threshold, n_bins, *, where="bin_edges"):
    """Return ``bin_edges`` checked: increasing, with the threshold and k / n_bins."""
    _check_threshold(threshold, n_bins)
    try:
        edges = np.asarray(bin_edges, dtype=np.float64)
    except (TypeError, ValueError):
        edges = np.array([np.nan])
    if edges.ndim != 1 or edges.size < 2 or not np.isfinite(edges).all():
        raise ValueError(
            f"{where} must be a list of at least 2 finite numbers: use "
            "make_bin_edges() and give every site the same edges."
        )
    if (np.diff(edges) <= 0).any() or edges[0] < 0 or edges[-1] > 1:
        raise ValueError(
            f"{where} must be strictly increasing probabilities in [0, 1]: use "
            "make_bin_edges()."
        )
    fixed = np.r_[threshold, np.linspace(0.0, 1.0, n_bins + 1)]
    missing = [float(f) for f in fixed if not np.isclose(edges, f, 0, 1e-12).any()]
    if missing:
        raise ValueError(
            f"{where} lack the threshold {threshold} or calibration edges "
            f"{missing[:3]}: make them with make_bin_edges(threshold={threshold}, "
            f"n_bins={n_bins})."
        )
    return edges


def check_min_count(min_count):
    """Return ``min_count`` (0 is the trusted mode) or raise."""
    if (
        isinstance(min_count, bool)
        or not isinstance(min_count, numbers.Integral)
        or min_count < 0
    ):
        raise ValueError(
            f"min_count must be a non-negative integer, got {plain(min_count)!r}; "
            f"{SUPPRESS_BELOW} for the usual small-count rule, 0 for a trusted "
            "coordinator."
        )
    return int(min_count)


def export_cells(y_true, y_score, sensitive_features, edges, pos_label):
    """One site's rows as cells: the Dask path's reduction on a pandas frame.

    Returns
    -------
    cells : pandas.DataFrame
        Attribute columns (labels as strings), then :data:`CELL_COLUMNS`.
    attributes : list of str
    """
    y = check_target(y_true, pos_label=pos_label)
    score = check_scores(y_score, y.size, probabilities=["brier_score"])
    frame = resolve_sensitive_features(
        y, sensitive_features, caller="export_statistics"
    )
    attributes = [str(c) for c in frame.columns]
    frame = frame.astype(str).set_axis(attributes, axis=1)
    table = _cells(
        pd.Series(y), pd.Series(score), frame, n_models=1, pos_value=1, edges=[edges]
    )
    out = pd.DataFrame(
        {a: table[f"k:a{k}"].astype(str) for k, a in enumerate(attributes)}
    )
    out["outcome"] = table["k:y"].to_numpy(np.int64)
    out["bin_low"] = out["bin_high"] = table["k:b0"].to_numpy(np.int64)
    out["n"] = table["s:n"].to_numpy(np.int64)
    for stat in SUMS:
        out[stat] = table[f"s:{stat}0"].to_numpy(np.float64)
    return out.sort_values([*attributes, "outcome", "bin_low"], ignore_index=True), (
        attributes
    )


def release(cells, attributes, edges, threshold, min_count):
    """Apply the small-count policy to one site's cells.

    Returns
    -------
    cells : pandas.DataFrame
        The released cells (merged bins for ``min_count > 0``).
    withheld : list of tuple
        Labels of the withheld groups.
    totals : tuple
        The site's ``(n, n_events)`` as released (``None`` where masked).
    """
    n, events = int(cells["n"].sum()), int(cells["n"] @ cells["outcome"])
    if min_count == 0:
        return cells, [], (n, events)
    by_group = cells.groupby(attributes, sort=True)
    keys = [k if isinstance(k, tuple) else (k,) for k, _ in by_group]
    cut = 2 * np.searchsorted(edges, threshold) + 1  # the threshold's own bin
    sizes = [int(g["n"].sum()) for _, g in by_group]
    group_events = [int(g["n"] @ g["outcome"]) for _, g in by_group]
    frame = pd.DataFrame(
        {
            "attribute": ["overall"] + ["group"] * len(keys),
            "group": ["overall"] + [str(i) for i in range(len(keys))],
            "n": [n, *sizes],
            "n_events": [events, *group_events],
        }
    )
    masked = suppress(frame, min_count)
    withheld = masked["n_events"].isna().to_numpy(copy=True)[1:]  # n or (non-)events
    withheld |= [_small_side(g, cut, min_count) for _, g in by_group]
    kept = [g for (_, g), w in zip(by_group, withheld, strict=True) if not w]
    merged = [_merge_bins(g, cut, min_count) for g in kept]
    out = pd.concat(merged, ignore_index=True) if merged else cells.iloc[:0]
    totals = _site_totals(masked.loc[0, ["n", "n_events"]], out, min_count)
    return out, [k for k, w in zip(keys, withheld, strict=True) if w], totals


def _site_totals(released, cells, min_count):
    """Return the site's ``(n, n_events)``, masked when they reveal a small count.

    The withheld groups' patients, events and non-events are the site's totals
    minus the released cells': those are released only if each is 0 or at least
    ``min_count`` (the names of the withheld groups say each holds a patient).
    """
    n, events = (None if pd.isna(v) else int(v) for v in released)
    rest_n = None if n is None else n - int(cells["n"].sum())
    rest_e = None if events is None else events - int(cells["n"] @ cells["outcome"])
    derived = [rest_n, rest_e]
    if rest_n is not None and rest_e is not None:
        derived.append(rest_n - rest_e)
    if any(d is not None and 0 < d < min_count for d in derived):
        return None, None
    return n, events


def _small_side(group, cut, min_count):
    """Whether a group's TP, FP, FN or TN at the threshold is from 1 to min_count - 1.

    Such a group is withheld: a cell merged across the threshold would not hide
    the count (its score sum bounds how many of its patients lie above it).
    """
    above = (group["bin_low"] >= cut).to_numpy()
    counts = [
        int(group["n"][(group["outcome"] == y).to_numpy() & (above == side)].sum())
        for y in (0, 1)
        for side in (False, True)
    ]
    return any(0 < c < min_count for c in counts)


def _merge_bins(group, cut, min_count):
    """Merge adjacent cells of each outcome until each holds ``min_count`` patients.

    The two sides of the threshold are merged apart (each holds 0 or at least
    ``min_count`` patients, :func:`_small_side`), so that the released true/false
    positives/negatives are exact and no cell straddles the threshold. A short
    tail joins the cell before it on its side.
    """
    pieces = []
    for _, part in group.groupby("outcome", sort=True):
        counts = part["n"].to_numpy()
        above = (part["bin_low"] >= cut).to_numpy()
        label = np.zeros(counts.size, np.int64)
        for side in (False, True):
            rows = np.flatnonzero(above == side)
            label[rows] = _runs(counts[rows], min_count) + (label.max() + 1)
        pieces.append(_sum_runs(part, label))
    return pd.concat(pieces, ignore_index=True)


def _runs(counts, min_count):
    """Label consecutive counts into runs of at least ``min_count`` (tail joins)."""
    label = np.zeros(counts.size, np.int64)
    running, current = 0, 0
    for i, c in enumerate(counts):
        label[i] = current
        running += c
        if running >= min_count:
            running, current = 0, current + 1
    if running and current:  # a tail below min_count joins the run before it
        label[label == current] = current - 1
    return label


def _sum_runs(part, label):
    keys = part.drop(columns=list(CELL_COLUMNS)).iloc[0]
    runs = part.groupby(label, sort=True)
    out = runs[["n", *SUMS]].sum().reset_index(drop=True)
    out.insert(0, "bin_high", runs["bin_high"].max().to_numpy())
    out.insert(0, "bin_low", runs["bin_low"].min().to_numpy())
    out.insert(0, "outcome", part["outcome"].iloc[0])
    for name in reversed(keys.index):
        out.insert(0, name, keys[name])
    return out
