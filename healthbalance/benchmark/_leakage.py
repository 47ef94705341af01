"""Leakage guard: a single column that predicts the outcome almost perfectly.

A column that is the outcome under another name (a copy, a discharge status, a
generator's oracle) makes every strategy look excellent and the comparison
meaningless. Before anything is fitted, each feature is scored on its own by its
AUROC against the outcome, folded so that direction does not matter
(``|AUROC - 0.5| + 0.5``); a column at or above ``LEAKY_AUROC`` stops the run.

Numeric columns are ranked as they are, with missing values placed below and above
every value (the higher of the two AUROCs is kept, so a missingness that gives the
outcome away is caught too). Categorical columns are replaced by their out-of-fold
event rate (scikit-learn's cross-fitted ``TargetEncoder``), so that an identifier
with one patient per value does not look predictive.
"""

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from healthbalance._compat import target_encoder

LEAKY_AUROC = 0.95


class LeakageError(ValueError):
    """A feature predicts the outcome almost perfectly on its own."""


def column_aurocs(X, y):
    """Return each column's folded AUROC against the outcome, ``|AUROC-0.5|+0.5``.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_samples, n_features)
        Features, numeric or categorical, with missing values allowed.
    y : array-like of shape (n_samples,)
        Binary outcome (0/1), both classes present.

    Returns
    -------
    aurocs : pandas.Series
        Indexed by the columns of ``X``, in their order; 0.5 for a constant column.

    Examples
    --------
    >>> import pandas as pd
    >>> from healthbalance.benchmark._leakage import column_aurocs
    >>> X = pd.DataFrame({"copy": [0, 0, 1, 1], "noise": [1, 0, 1, 0]})
    >>> column_aurocs(X, [0, 0, 1, 1]).round(2).to_dict()
    {'copy': 1.0, 'noise': 0.5}
    """
    y = np.asarray(y).astype(bool)
    numeric = [c for c in X.columns if _is_numeric(X[c])]
    other = [c for c in X.columns if c not in numeric]
    values = {}
    if numeric:
        values.update(zip(numeric, _numeric_aurocs(X[numeric], y), strict=True))
    if other:
        encoded = _encoded(X[other], y)
        values.update(zip(other, _folded(_rank_aurocs(encoded, y)), strict=True))
    return pd.Series([values[c] for c in X.columns], index=X.columns, dtype=float)


def leaky_columns(X, y, threshold=LEAKY_AUROC):
    """Return ``{column: folded AUROC}`` of the columns at or above ``threshold``."""
    aurocs = column_aurocs(X, y)
    return {str(c): float(a) for c, a in aurocs[aurocs >= threshold].items()}


def check_leakage(X, y, *, allow_leaky=False):
    """Raise :class:`LeakageError` naming the leaky columns, unless allowed.

    Returns ``{column: folded AUROC}`` of the leaky columns (empty when none), for
    the checks to name them when ``allow_leaky=True``.
    """
    leaky = leaky_columns(X, y)
    if leaky and not allow_leaky:
        found = ", ".join(f"{c!r} (AUROC {a:.3f})" for c, a in leaky.items())
        one = len(leaky) == 1
        raise LeakageError(
            f"{found} alone predict{'s' if one else ''} the outcome almost perfectly "
            f"(folded AUROC >= {LEAKY_AUROC}): probably the outcome or something "
            f"recorded after it. Drop {'it' if one else 'them'} with "
            f"exclude={list(leaky)} (command line: --exclude {' '.join(leaky)}), "
            "or pass allow_leaky=True (--allow-leaky) if it is a real predictor."
        )
    return leaky


def _is_numeric(column):
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _numeric_aurocs(frame, y):
    values = frame.to_numpy(dtype=float)
    low = _rank_aurocs(np.where(np.isnan(values), -np.inf, values), y)
    high = _rank_aurocs(np.where(np.isnan(values), np.inf, values), y)
    return np.maximum(_folded(low), _folded(high))


def _encoded(frame, y):
    """Out-of-fold event rate of each category (missing is a category)."""
    text = frame.astype(object).where(frame.notna(), "(missing)").astype(str)
    return target_encoder(random_state=0).fit_transform(text, y.astype(int))


def _rank_aurocs(values, y):
    """Mann-Whitney AUROC of every column at once (ties count one half)."""
    ranks = rankdata(values, axis=0)
    n_pos = y.sum()
    n_neg = y.size - n_pos
    return (ranks[y].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _folded(auroc):
    return np.abs(np.asarray(auroc) - 0.5) + 0.5
