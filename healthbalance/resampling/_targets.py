"""Target sizes of the (group x class) cells, shared by every group-aware sampler.

A sampler counts the rows of each cell (with
:meth:`healthbalance._groups.SensitiveGroups.cell_counts`), asks
:func:`cell_targets` how many rows each cell must hold after resampling, then draws
(or synthesises) rows to get there. The functions work on a counts matrix
``counts[g, c]`` (groups in rows, classes in columns), so they can be checked against
a brute-force loop independently of any data.
"""

import numpy as np

from healthbalance._small_counts import count_text
from healthbalance.utils._warnings import warn

__all__ = [
    "EmptyCellWarning",
    "HeavyUndersamplingWarning",
    "cell_targets",
    "warn_if_few_rows_kept",
]


class EmptyCellWarning(UserWarning):
    """Warn that a (group, class) cell has no row, so resampling cannot fill it."""


def cell_targets(counts, target, method, groups, classes):
    """Return the number of rows each (group, class) cell holds after resampling.

    Parameters
    ----------
    counts : ndarray of shape (n_groups, n_classes)
        Rows per cell before resampling, from
        :func:`healthbalance._groups.cell_counts`.
    target : {"joint", "groups", "class_within_group"} or dict
        ``"joint"``: every non-empty cell gets the same size. ``"groups"``: every
        group gets the same size and keeps its class proportions.
        ``"class_within_group"``: within each group every non-empty class gets the
        same size. A dict gives target proportions, either per group
        (``{"Black": 0.2, ...}``, keeping each group's class proportions) or per
        cell (``{("Black", 1): 0.1, ...}``); they are normalised to sum to one.
    method : {"over", "under"}
        ``"over"`` only adds rows (the smallest sizes reaching the target keeping
        every row), ``"under"`` only removes rows (the largest such sizes).
    groups : ndarray of shape (n_groups,)
        Group labels, used in messages and to read a dict target.
    classes : ndarray of shape (n_classes,)
        Class labels, used in messages and to read a dict target.

    Returns
    -------
    targets : ndarray of shape (n_groups, n_classes), dtype=int64
        Rows per cell after resampling. Empty cells stay empty (with an
        :class:`EmptyCellWarning` unless a dict target sets them to zero).

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.resampling._targets import cell_targets
    >>> counts = np.array([[90, 10], [45, 5]])
    >>> cell_targets(counts, "class_within_group", "over", ["a", "b"], [0, 1]).tolist()
    [[90, 90], [45, 45]]
    >>> cell_targets(counts, "groups", "over", ["a", "b"], [0, 1]).tolist()
    [[90, 10], [90, 10]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    classes = np.asarray(classes).tolist()
    if isinstance(target, dict):
        proportions = _dict_proportions(target, counts, groups, classes)
        return _scale_to_proportions(counts, proportions, method, groups, classes)
    _warn_empty_cells(counts, groups, classes)
    pick = np.max if method == "over" else np.min
    present = counts > 0
    if target == "joint":
        size = pick(counts[present]) if present.any() else 0
        return np.where(present, size, 0).astype(np.int64)
    if target == "class_within_group":
        sizes = [pick(row[row > 0]) if (row > 0).any() else 0 for row in counts]
        return np.where(present, np.asarray(sizes)[:, None], 0).astype(np.int64)
    totals = counts.sum(axis=1)
    size = pick(totals[totals > 0]) if (totals > 0).any() else 0
    shares = counts / np.maximum(totals, 1)[:, None]
    return _round_within(shares * size, counts, method)


def _warn_empty_cells(counts, groups, classes):
    for g, c in zip(*np.nonzero(counts == 0), strict=True):
        if counts[g].sum() > 0:
            warn(
                f"cell (group {groups[g]!r}, class {classes[c]!r}) has no rows: it "
                "stays empty after resampling. Merge small groups or drop the class.",
                EmptyCellWarning,
            )


def _round_within(sizes, counts, method):
    rounded = np.rint(sizes).astype(np.int64)
    if method == "over":
        return np.maximum(rounded, counts)
    return np.minimum(rounded, counts)


def _dict_proportions(target, counts, groups, classes):
    group_index = {str(g): i for i, g in enumerate(groups)}
    class_index = {c: j for j, c in enumerate(classes)}
    proportions = np.zeros(counts.shape, dtype=float)
    totals = counts.sum(axis=1)
    for key, value in target.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(
                f"target[{key!r}] is {value!r}: target proportions must be finite and "
                "non-negative."
            )
        if isinstance(key, tuple):
            g, c = _cell_index(key, group_index, class_index)
            proportions[g, c] += value
        else:
            g = _lookup(str(key), group_index, "group")
            proportions[g] += value * counts[g] / max(totals[g], 1)
    unset = np.nonzero((totals > 0) & (proportions.sum(axis=1) == 0))[0]
    missing = [groups[g] for g in unset]
    if missing and all(not isinstance(k, tuple) for k in target):
        raise ValueError(
            f"target has no proportion for groups {missing!r}: give every group of "
            f"the data a proportion (groups: {list(map(str, groups))!r})."
        )
    if proportions.sum() <= 0:
        raise ValueError(
            "target proportions sum to 0: give at least one positive value."
        )
    return proportions / proportions.sum()


def _cell_index(key, group_index, class_index):
    if len(key) != 2:
        raise ValueError(
            f"target key {key!r} must be a group label or a (group, class) pair."
        )
    return _lookup(str(key[0]), group_index, "group"), _lookup(
        key[1], class_index, "class"
    )


def _lookup(key, index, kind):
    if key not in index:
        raise ValueError(
            f"target names {kind} {key!r}, which is not in the data: use one of "
            f"{list(index)!r}."
        )
    return index[key]


def _scale_to_proportions(counts, proportions, method, groups, classes):
    filled = proportions > 0
    for g, c in zip(*np.nonzero(filled & (counts == 0)), strict=True):
        raise ValueError(
            f"target asks for rows in cell (group {groups[g]!r}, class "
            f"{classes[c]!r}), which has no rows: drop it from target."
        )
    if method == "over":
        dropped = np.nonzero(~filled & (counts > 0))
        for g, c in zip(*dropped, strict=True):
            raise ValueError(
                f"target gives cell (group {groups[g]!r}, class {classes[c]!r}) "
                "proportion 0, but method='over' never removes rows: use "
                "method='under' or give it a positive proportion."
            )
        total = np.max(counts[filled] / proportions[filled])
    else:
        total = np.min(counts[filled] / proportions[filled])
    return _round_within(proportions * total, counts, method)


class HeavyUndersamplingWarning(UserWarning):
    """Warn that resampling keeps only a tiny share of the rows."""


# A sampler keeping fewer than this share of the rows warns (undersampling).
MIN_KEPT_SHARE = 0.05


def warn_if_few_rows_kept(counts, targets, groups, classes, caller):
    """Warn when the targets keep fewer than 5% of the rows, naming the cause.

    Undersampling to the smallest cell throws most of the data away when one cell
    is tiny; the warning gives the rows before and after and names that cell. Counts
    below the small-count threshold are written "fewer than 11"
    (:func:`~healthbalance._small_counts.count_text`), and so are the rows
    kept when they would reveal one.

    Parameters
    ----------
    counts, targets : ndarray of shape (n_groups, n_classes)
        Rows per cell before and after resampling.
    groups, classes : array-like
        Group and class labels, used in the message.
    caller : str
        Sampler name, used in the message.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from healthbalance.resampling._targets import warn_if_few_rows_kept
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     counts = np.array([[500, 2], [480, 30]])
    ...     warn_if_few_rows_kept(counts, np.full((2, 2), 2), ["a", "b"], [0, 1], "S")
    >>> print(caught[0].message)
    S keeps fewer than 5% of 1012 rows: the smallest cell (group 'a', class 1) has
    fewer than 11 rows ...
    """
    before, after = int(counts.sum()), int(targets.sum())
    if before == 0 or after >= MIN_KEPT_SHARE * before:
        return
    filled = np.where(counts > 0, counts, np.iinfo(np.int64).max)
    g, c = np.unravel_index(np.argmin(filled), counts.shape)
    group, label = np.asarray(groups, dtype=object)[g], np.asarray(classes)[c].item()
    smallest = count_text(counts[g, c])
    if smallest == str(counts[g, c]) and count_text(after) == str(after):
        kept = f"{after} of {before} rows ({after / before:.2%})"
    else:  # the rows kept are a multiple of the smallest cell: they would reveal it
        kept = f"fewer than {MIN_KEPT_SHARE:.0%} of {count_text(before)} rows"
    warn(
        f"{caller} keeps {kept}: the smallest cell (group {group!r}, class "
        f"{label!r}) has {smallest} rows and sets the size of the others. Consider "
        "target='class_within_group', method='over', merging small groups, or "
        "sample weights (ReweightedClassifier).",
        HeavyUndersamplingWarning,
    )
