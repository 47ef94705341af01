"""Odds correction of predicted probabilities for a shifted class prior.

Training with sample weights changes the class prior the model sees. When the weights
were chosen for robustness (Group DRO, JTT) and not to change the prior, the predicted
odds are multiplied back by the ratio of the observed to the weighted prior odds
(Elkan 2001; Saerens et al. 2002).
"""

import numpy as np
from scipy.special import logit

__all__ = [
    "apply_prior_ratio",
    "class_prior_ratio",
    "prior_log_odds_shift",
]


def prior_log_odds_shift(y_binary, sample_weight):
    """Return the log-odds that map the weighted class prior back to the observed one.

    Parameters
    ----------
    y_binary : array-like of shape (n_samples,)
        Targets encoded as 0/1.
    sample_weight : array-like of shape (n_samples,)
        Training weights, non-negative with a positive sum.

    Returns
    -------
    shift : float
        ``logit(observed prior) - logit(weighted prior)``; add it to a log-odds.

    Examples
    --------
    >>> from healthbalance.utils._prior import prior_log_odds_shift
    >>> round(prior_log_odds_shift([0, 0, 0, 1], [1, 1, 1, 3]), 4)
    -1.0986
    """
    y_binary = np.asarray(y_binary, dtype=float)
    sample_weight = np.asarray(sample_weight, dtype=float)
    observed = y_binary.mean()
    weighted = np.dot(sample_weight, y_binary) / sample_weight.sum()
    if observed in (0.0, 1.0) or weighted in (0.0, 1.0):
        return 0.0
    return float(logit(observed) - logit(weighted))


def class_prior_ratio(y_codes, sample_weight, n_classes):
    """Return the observed class prior divided by the weighted class prior.

    Parameters
    ----------
    y_codes : array-like of shape (n_samples,)
        Targets encoded as ``0 .. n_classes - 1``.
    sample_weight : array-like of shape (n_samples,)
        Training weights, non-negative with a positive sum.
    n_classes : int
        Number of classes.

    Returns
    -------
    ratio : ndarray of shape (n_classes,)
        Multiply predicted probabilities by it and renormalise to undo the prior
        shift; 1 for a class without weight.

    Examples
    --------
    >>> from healthbalance.utils._prior import class_prior_ratio
    >>> class_prior_ratio([0, 0, 0, 1], [1, 1, 1, 3], 2).round(3)
    array([1.5, 0.5])
    """
    y_codes = np.asarray(y_codes)
    sample_weight = np.asarray(sample_weight, dtype=float)
    observed = np.bincount(y_codes, minlength=n_classes) / y_codes.size
    weighted = np.bincount(y_codes, weights=sample_weight, minlength=n_classes)
    weighted = weighted / weighted.sum()
    ratio = np.ones(n_classes)
    positive = weighted > 0
    ratio[positive] = observed[positive] / weighted[positive]
    return ratio


def apply_prior_ratio(proba, ratio):
    """Multiply the class probabilities by ``ratio`` and renormalise the rows.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities.
    ratio : ndarray of shape (n_classes,)
        From :func:`class_prior_ratio`.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Corrected probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.utils._prior import apply_prior_ratio
    >>> apply_prior_ratio(np.array([[0.5, 0.5]]), np.array([1.5, 0.5]))
    array([[0.75, 0.25]])
    """
    corrected = proba * ratio
    total = corrected.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return corrected / total
