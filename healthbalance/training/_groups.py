"""Group resolution and checks shared by the training estimators."""

import numpy as np

from healthbalance._sensitive import (
    encode_groups,
    group_labels,
    resolve_sensitive_features,
)
from healthbalance.resampling._targets import cell_counts

__all__ = ["check_groups_have_both_classes", "fit_group_labels"]


def fit_group_labels(estimator, X, sensitive_features):
    """Return one group label per row of ``X`` for ``estimator``.

    Parameters
    ----------
    estimator : estimator
        Its ``sensitive_columns`` parameter and name are used.
    X : array-like of shape (n_samples, n_features)
        The data, before validation (a DataFrame when ``sensitive_columns`` is set).
    sensitive_features : array-like or None
        Groups passed to the method.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype=object
        Intersection labels; ``"all"`` for every row without groups.
    """
    frame = resolve_sensitive_features(
        X,
        sensitive_features,
        estimator.sensitive_columns,
        caller=type(estimator).__name__,
    )
    return group_labels(frame)


def check_groups_have_both_classes(labels, y, caller):
    """Raise a ValueError naming the first group whose rows hold a single class.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Group label of each row.
    y : ndarray of shape (n_samples,)
        Targets.
    caller : str
        Estimator name, used in the message.

    Returns
    -------
    codes : ndarray of shape (n_samples,)
        Integer group codes.
    groups : ndarray of shape (n_groups,)
        Sorted group labels.
    """
    codes, groups = encode_groups(labels)
    classes, y_codes = np.unique(y, return_inverse=True)
    counts = cell_counts(codes, y_codes, groups.size, classes.size)
    n_classes = (counts > 0).sum(axis=1)
    for group, count, size in zip(groups, n_classes, counts.sum(axis=1), strict=True):
        if count < 2:
            raise ValueError(
                f"{caller}: group {group!r} has only one class in y ({size} rows); "
                "every group needs rows of both classes. Merge it with another "
                "group or drop it."
            )
    return codes, groups
