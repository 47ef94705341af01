"""Sample weights from (group x class) cell counts.

Three strategies: reweighing, inverse frequency and effective number of samples.
"""

from numbers import Real

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from healthbalance._compat import Interval, StrOptions, validate_params
from healthbalance._groups import SensitiveGroups, encode_classes

__all__ = ["cell_weight_table", "compute_group_weights"]

STRATEGIES = ("reweighing", "inverse_frequency", "effective_number")
UNITS = ("classes", "groups", "cells")


@validate_params(
    {
        "y": ["array-like"],
        "sensitive_features": ["array-like", dict, None],
        "strategy": [StrOptions(set(STRATEGIES))],
        "over": [StrOptions(set(UNITS))],
        "beta": [Interval(Real, 0, 1, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def compute_group_weights(
    y, sensitive_features=None, *, strategy="reweighing", over="cells", beta=0.999
):
    """Return positive weights with mean 1 that balance groups and classes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attr), \
            default=None
        Group of each row (several attributes form intersections). Without it all
        rows form one group, with a ``NoSensitiveFeaturesWarning``.
    strategy : {"reweighing", "inverse_frequency", "effective_number"}, \
            default="reweighing"
        - ``"reweighing"`` (Kamiran & Calders): weight ``P(g) P(c) / P(g, c)``, which
          makes group and label independent in the weighted data and keeps the
          class prior.
        - ``"inverse_frequency"``: weight proportional to ``1 / n`` where ``n`` counts
          the rows of the row's class, group or cell (see ``over``).
        - ``"effective_number"`` (Cui et al. 2019): weight proportional to
          ``(1 - beta) / (1 - beta ** n)``, a softer inverse frequency.
    over : {"classes", "groups", "cells"}, default="cells"
        Unit counted by ``"inverse_frequency"`` and ``"effective_number"``
        (ignored by ``"reweighing"``).
    beta : float in [0, 1), default=0.999
        Parameter of ``"effective_number"``; 0 gives equal weights, values close to 1
        approach inverse frequency.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        Positive weights with mean 1.

    See Also
    --------
    GroupReweighter : The same weights as an estimator that keeps the cell table.

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for
       classification without discrimination", Knowledge and Information Systems
       33, 2012.
    .. [2] Y. Cui, M. Jia, T.-Y. Lin, Y. Song and S. Belongie, "Class-balanced loss
       based on effective number of samples", CVPR 2019.

    Examples
    --------
    >>> from healthbalance.weighting import compute_group_weights
    >>> y = [0, 0, 0, 1, 0, 1]
    >>> sex = ["F", "F", "F", "F", "M", "M"]
    >>> compute_group_weights(y, sex).round(2).tolist()
    [0.89, 0.89, 0.89, 1.33, 1.33, 0.67]
    """
    y = column_or_1d(y)
    check_classification_targets(y)
    groups = SensitiveGroups.resolve(
        y.reshape(-1, 1), sensitive_features, caller="compute_group_weights"
    )
    classes, class_codes = encode_classes(y)
    counts = groups.cell_counts(class_codes, classes.size)
    table = cell_weight_table(counts, strategy, over, beta)
    return table[groups.codes, class_codes]


def cell_weight_table(counts, strategy, over="cells", beta=0.999):
    """Return the weight of every (group, class) cell, averaging 1 over the rows.

    Parameters
    ----------
    counts : ndarray of shape (n_groups, n_classes)
        Rows per cell.
    strategy, over, beta
        See :func:`compute_group_weights`.

    Returns
    -------
    table : ndarray of shape (n_groups, n_classes)
        Weight of the rows of each cell; ``nan`` for empty cells.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.weighting._group_weights import cell_weight_table
    >>> cell_weight_table(np.array([[3, 1], [1, 1]]), "inverse_frequency").tolist()
    [[0.5, 1.5], [1.5, 1.5]]
    """
    counts = np.asarray(counts, dtype=float)
    if strategy == "reweighing":
        n = counts.sum()
        raw = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
        raw = np.divide(raw, counts, out=np.zeros_like(raw), where=counts > 0)
    else:
        unit_counts = _unit_counts(counts, over)
        if strategy == "inverse_frequency":
            inverse = 1.0 / np.maximum(unit_counts, 1)
        else:
            inverse = (1.0 - beta) / (1.0 - beta ** np.maximum(unit_counts, 1))
        raw = np.where(counts > 0, inverse, 0.0)
    mean = (raw * counts).sum() / counts.sum()
    return np.where(counts > 0, raw / mean, np.nan)


def _unit_counts(counts, over):
    if over == "classes":
        return np.broadcast_to(counts.sum(axis=0, keepdims=True), counts.shape)
    if over == "groups":
        return np.broadcast_to(counts.sum(axis=1, keepdims=True), counts.shape)
    return counts
