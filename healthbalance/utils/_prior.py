"""Prior shift of predicted probabilities (Saerens et al. 2002; Elkan 2001).

A classifier trained where the class prior is ``prior_after`` (after resampling or
reweighting) estimates ``p'(c | x)``. Bayes' rule gives the probability under the
original prior ``prior_before``::

    p(c | x) = p'(c | x) * w_c / sum_k p'(k | x) * w_k,   w_c = before_c / after_c

For two classes this is the odds correction ``odds = odds' * (pi / (1 - pi)) /
(pi' / (1 - pi'))``.
"""

import numpy as np

__all__ = ["class_priors", "correct_priors"]


def correct_priors(proba, prior_before, prior_after):
    """Map probabilities learnt under ``prior_after`` back to ``prior_before``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities under the training prior.
    prior_before : ndarray of shape (n_classes,) or (n_samples, n_classes)
        Class prior to map to (per row when groups have their own prior).
    prior_after : ndarray of shape (n_classes,) or (n_samples, n_classes)
        Class prior the model was trained under.

    Returns
    -------
    corrected : ndarray of shape (n_samples, n_classes)
        Probabilities under ``prior_before``; rows sum to 1.

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the outputs of a
       classifier to new a priori probabilities: a simple procedure", Neural
       Computation 14, 2002.
    .. [2] C. Elkan, "The foundations of cost-sensitive learning", IJCAI 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.utils._prior import correct_priors
    >>> correct_priors(np.array([[0.5, 0.5]]), [0.9, 0.1], [0.5, 0.5]).round(2)
    array([[0.9, 0.1]])
    """
    proba = np.asarray(proba, dtype=float)
    before = np.asarray(prior_before, dtype=float)
    after = np.asarray(prior_after, dtype=float)
    ratio = np.divide(
        before, after, out=np.zeros(np.broadcast(before, after).shape), where=after > 0
    )
    scaled = proba * ratio
    total = scaled.sum(axis=1, keepdims=True)
    # A row whose every class has weight 0 keeps its probabilities.
    return np.divide(scaled, total, out=proba.copy(), where=total > 0)


def class_priors(cell_codes, n_groups, n_classes, sample_weight=None):
    """Return the (weighted) class prior of every group.

    Parameters
    ----------
    cell_codes : ndarray of shape (n_samples,)
        Cell of each row, ``group * n_classes + class``.
    n_groups, n_classes : int
        Number of groups and classes.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Row weights (1 when None).

    Returns
    -------
    priors : ndarray of shape (n_groups, n_classes)
        Rows sum to 1 (a group without rows gets zeros).

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.utils._prior import class_priors
    >>> class_priors(np.array([0, 1, 1, 3]), 2, 2).tolist()
    [[0.3333333333333333, 0.6666666666666666], [0.0, 1.0]]
    """
    mass = np.bincount(
        cell_codes, weights=sample_weight, minlength=n_groups * n_classes
    )
    mass = mass.reshape(n_groups, n_classes).astype(float)
    total = mass.sum(axis=1, keepdims=True)
    return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
