"""Operating points: the one threshold search behind every decision cut-off.

A row is positive when its score is at least the threshold. The candidates are every
distinct score plus one above them all (no row positive); at each, the counts of
true and false positives are exact integers, so no candidate is ever skipped (unlike
``roc_curve``'s default ``drop_intermediate=True``). With a ``confidence``, the rate
aimed at is replaced by its one-sided exact binomial (Clopper-Pearson) lower bound,
so that the target is expected to hold on new patients, not only on these.
"""

from typing import NamedTuple

import numpy as np
from scipy.stats import beta

__all__ = [
    "OperatingPoint",
    "UnreachableTargetWarning",
    "choose_threshold",
    "events_needed",
    "lower_confidence_bound",
    "operating_point",
    "threshold_counts",
]

# Threshold at which no row is positive (the largest float, finite for printing).
NO_POSITIVES = float(np.finfo(np.float64).max)
# Rates are exact fractions; this only absorbs their rounding.
TOLERANCE = 1e-12


class UnreachableTargetWarning(UserWarning):
    """Warn that a group has too few rows for its target rate to be shown."""


class OperatingPoint(NamedTuple):
    """The threshold chosen for one set of rows, with what it achieves there.

    Attributes
    ----------
    threshold : float
        A row is positive when its score is ``>= threshold``.
    rate : float
        Observed rate the objective aims at: sensitivity (``"sensitivity"``,
        ``"equal_fnr"``) or specificity (``"specificity"``).
    lower_bound : float
        One-sided lower confidence bound of ``rate``; NaN without ``confidence``.
    reached : bool
        Whether ``lower_bound`` (``rate`` without ``confidence``) reaches the target.
    """

    threshold: float
    rate: float
    lower_bound: float
    reached: bool


def threshold_counts(y01, scores):
    """Return every candidate threshold, decreasing, with its positive counts.

    Parameters
    ----------
    y01 : array-like of shape (n_samples,)
        Targets in {0, 1}.
    scores : array-like of shape (n_samples,)
        Scores of the positive class.

    Returns
    -------
    thresholds : ndarray of shape (n_distinct + 1,)
        ``NO_POSITIVES``, then the distinct scores in decreasing order.
    tp, fp : ndarray of shape (n_distinct + 1,)
        True and false positives (rows with score ``>=`` the threshold).

    Examples
    --------
    >>> from healthbalance.training._operating_points import threshold_counts
    >>> t, tp, fp = threshold_counts([0, 1, 1], [0.2, 0.2, 0.9])
    >>> t[1:].tolist(), tp.tolist(), fp.tolist()
    ([0.9, 0.2], [0, 1, 2], [0, 0, 1])
    """
    y01 = np.asarray(y01).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    last = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    tp = np.r_[0, np.cumsum(y01[order])[last]]
    fp = np.r_[0, last + 1] - tp
    return np.r_[NO_POSITIVES, ordered[last]], tp, fp


def lower_confidence_bound(successes, n, confidence):
    """Return the one-sided exact binomial (Clopper-Pearson) lower bound.

    Parameters
    ----------
    successes : int or array-like of int
        Successes among ``n`` trials.
    n : int
        Trials, at least 1.
    confidence : float
        Confidence level in (0, 1): the bound is below the true proportion with
        probability at least ``confidence``.

    Returns
    -------
    bound : ndarray
        The ``1 - confidence`` quantile of Beta(k, n - k + 1); 0 where k = 0.

    Examples
    --------
    >>> from healthbalance.training._operating_points import lower_confidence_bound
    >>> round(float(lower_confidence_bound(20, 20, 0.9)), 4)  # 0.1 ** (1 / 20)
    0.8913
    """
    k = np.asarray(successes, dtype=np.float64)
    bound = beta.ppf(1.0 - confidence, np.maximum(k, 1.0), n - k + 1.0)
    return np.where(k > 0, bound, 0.0)


def events_needed(target, confidence):
    """Return the fewest rows whose bound can reach ``target`` (none missed).

    Parameters
    ----------
    target : float
        Target rate in [0, 1].
    confidence : float
        Confidence level in (0, 1).

    Returns
    -------
    n : int or None
        Smallest n with ``(1 - confidence) ** (1 / n) >= target``, the bound when all
        n rows are on the right side of the threshold; None when ``target`` is 1.

    Examples
    --------
    >>> from healthbalance.training._operating_points import events_needed
    >>> events_needed(0.8, 0.9)
    11
    """
    if target >= 1.0:
        return None
    if target <= 0.0:
        return 1
    return max(1, int(np.ceil(np.log1p(-confidence) / np.log(target) - 1e-9)))


def operating_point(y01, scores, objective, target, confidence=None):
    """Choose the threshold of one set of rows and say what it achieves.

    Parameters
    ----------
    y01 : array-like of shape (n_samples,)
        Targets in {0, 1}, both present.
    scores : array-like of shape (n_samples,)
        Held-out scores of the positive class.
    objective : {"sensitivity", "specificity", "equal_fnr"}
        ``"sensitivity"``: the highest threshold whose sensitivity (or its lower
        bound) reaches ``target``, i.e. the best specificity; ``"specificity"``:
        the lowest threshold whose specificity (or its lower bound) reaches it,
        i.e. the best sensitivity; ``"equal_fnr"``: the sensitivity closest to
        ``target``, or with ``confidence`` the same choice as ``"sensitivity"``
        (every lower bound reaching ``target`` as closely as the data allow).
    target : float
        Target rate in [0, 1].
    confidence : float or None, default=None
        Confidence level of a one-sided Clopper-Pearson lower bound of the rate
        that must reach ``target``. When no threshold gets there, the threshold
        with the largest bound is returned (every event flagged for sensitivity,
        every non-event unflagged for specificity), with ``reached=False``.

    Returns
    -------
    point : OperatingPoint
        Threshold, observed rate, lower bound and whether the target is reached.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.training._operating_points import operating_point
    >>> y = np.r_[np.zeros(50, int), np.ones(50, int)]
    >>> s = np.linspace(0, 1, 100)
    >>> point = operating_point(y, s, "sensitivity", 0.8, confidence=0.9)
    >>> round(point.rate, 2), bool(point.reached)
    (0.9, True)
    """
    thresholds, tp, fp = threshold_counts(y01, scores)
    if objective == "specificity":
        hits, n = fp[-1] - fp, fp[-1]
    else:
        hits, n = tp, tp[-1]
    if confidence is None:
        bounds = hits / n
    else:
        bounds = lower_confidence_bound(hits, n, confidence)
    ok = bounds >= target - TOLERANCE
    if not ok.any():
        ok = hits == hits.max()
    if objective == "equal_fnr" and confidence is None:
        index = int(np.argmin(np.abs(hits / n - target)))
    else:
        index = int(np.flatnonzero(ok)[-1 if objective == "specificity" else 0])
    return OperatingPoint(
        threshold=float(thresholds[index]),
        rate=float(hits[index] / n),
        lower_bound=np.nan if confidence is None else float(bounds[index]),
        reached=bool(bounds[index] >= target - TOLERANCE),
    )


def choose_threshold(y01, scores, objective, target, confidence=None):
    """Return the threshold of one set of rows; a row is positive when its score >= it.

    The threshold of :func:`operating_point`, which documents the parameters.

    Parameters
    ----------
    y01 : array-like of shape (n_samples,)
        Targets in {0, 1}, both present.
    scores : array-like of shape (n_samples,)
        Held-out scores of the positive class.
    objective : {"sensitivity", "specificity", "equal_fnr"}
        What ``target`` is about (see :func:`operating_point`).
    target : float
        Target rate in [0, 1].
    confidence : float or None, default=None
        Confidence level of the lower bound that must reach ``target``.

    Returns
    -------
    threshold : float

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.training._operating_points import choose_threshold
    >>> y = np.array([0, 0, 1, 1, 1, 1])
    >>> s = np.array([0.1, 0.6, 0.2, 0.7, 0.8, 0.9])
    >>> float(choose_threshold(y, s, "sensitivity", 0.75))
    0.7
    """
    return operating_point(y01, scores, objective, target, confidence).threshold
