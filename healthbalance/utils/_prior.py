"""Odds correction of predicted probabilities for a shifted class prior.

Training with sample weights changes the class prior the model sees. When the weights
were chosen for robustness (Group DRO, JTT) and not to change the prior, the predicted
odds are multiplied back by the ratio of the observed to the weighted prior odds
(Elkan 2001; Saerens et al. 2002).
"""

import numpy as np
from scipy.special import expit, logit

__all__ = ["prior_log_odds_shift", "shift_binary_proba"]


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


def shift_binary_proba(proba, shift):
    """Add ``shift`` to the log-odds of the second column of a binary ``proba``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, 2)
        Predicted probabilities of the two classes.
    shift : float
        Log-odds shift, from :func:`prior_log_odds_shift`.

    Returns
    -------
    proba : ndarray of shape (n_samples, 2)
        Corrected probabilities, rows summing to one.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.utils._prior import shift_binary_proba
    >>> shift_binary_proba(np.array([[0.5, 0.5]]), np.log(3.0)).round(2)
    array([[0.25, 0.75]])
    """
    if shift == 0.0:
        return proba
    with np.errstate(divide="ignore"):
        positive = expit(logit(np.clip(proba[:, 1], 0.0, 1.0)) + shift)
    return np.column_stack([1.0 - positive, positive])
