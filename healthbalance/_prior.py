"""Prior correction: one attribute schema, two mechanisms, one unseen-group policy.

Every estimator that changes the training distribution (resampling, weights by class
or group, Group DRO, JTT) records what it changed and maps ``predict_proba`` back to
the training population with this module. A correction multiplies each row's
probabilities by ``exp(prior_shift)`` (one log-multiplier per class) and renormalises;
for two classes this adds ``prior_shift[1] - prior_shift[0]`` to the logit.

Two mechanisms compute the shift:

- ``"odds_ratio"`` (Saerens et al. 2002; Elkan 2001): when only the class prior
  changed (resampling, reweighting by class or group x class),
  ``prior_shift = log(before / after)``, per group when the groups' priors changed
  differently. Used by ``ResampledClassifier`` and ``ReweightedClassifier``.
- ``"intercept"``: group-weighted objectives (Group DRO, JTT) change more than the
  class prior, and no class-prior ratio undoes them. The shift is refitted instead:
  the one-dimensional maximum-likelihood offset ``a`` of ``logit P = a + logit(p)``
  on the training rows (:func:`fit_intercept_shift`, safeguarded Newton), so that the
  mean corrected risk equals the observed prevalence (calibration in the large).
  Used by ``GroupDROLogisticRegression``, ``GroupDROClassifier`` and
  ``JTTClassifier``.

Attribute schema (the same on every estimator with ``prior_correction``):

``prior_correction_`` : {"none", "global", "group"}
    Scope of the correction: none (off, or nothing changed), one for all rows, or
    one per group (then ``predict_proba`` needs the groups).
``prior_method_`` : {"odds_ratio", "intercept"}
    Mechanism used.
``class_prior_before_`` : DataFrame of shape (n_groups, n_classes)
    Observed (sample-weighted) class prior of each group in the training data.
``class_prior_after_`` : DataFrame of shape (n_groups, n_classes)
    Class prior the model learnt: the resampled or weighted prior (``"odds_ratio"``),
    or the model's mean predicted probabilities before correction (``"intercept"``).
``prior_before_``, ``prior_after_`` : ndarray of shape (n_classes,)
    The same over all rows.
``prior_shift_`` : DataFrame of shape (n_groups, n_classes)
    Log-multiplier of each class's probability, per group (equal rows unless
    ``prior_correction_ == "group"``).
``prior_shift_overall_`` : ndarray of shape (n_classes,)
    The shift over all rows, used without groups and for a group unseen in ``fit``.

A group unseen at predict time (by an estimator that takes groups at predict time)
follows ``unseen_group``: ``"overall"`` (default) uses the overall value for its rows
and warns once per call with :class:`UnseenGroupWarning` naming the groups;
``"error"`` raises a ``ValueError`` naming them (:func:`check_unseen_groups`).

The estimators of the first mechanism share their ``predict_proba`` / ``predict``
through :class:`healthbalance.training._prior_correction.PriorCorrectionMixin`; those
of the second call :func:`record_intercept_shift` and :func:`apply_prior_shift`.
"""

import numpy as np
import pandas as pd

from healthbalance._compat import StrOptions
from healthbalance._groups import cell_counts
from healthbalance.utils._warnings import warn

__all__ = [
    "UNSEEN_GROUP_OPTIONS",
    "MissingGroupsWarning",
    "UnseenGroupWarning",
    "apply_prior_shift",
    "check_unseen_groups",
    "class_priors",
    "fit_intercept_shift",
    "odds_ratio_shift",
    "record_intercept_shift",
    "record_prior_correction",
]

UNSEEN_GROUP_OPTIONS = [StrOptions({"overall", "error"})]


class UnseenGroupWarning(UserWarning):
    """Warn that rows at predict time belong to groups not seen in ``fit``."""


class MissingGroupsWarning(UserWarning):
    """Warn that per-group prior correction fell back to the overall prior."""


def check_unseen_groups(codes, labels, unseen_group, *, caller, fallback):
    """Apply the unseen-group policy; return the mask of rows of unseen groups.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Group codes against the fitted groups, ``-1`` for an unseen group.
    labels : ndarray of shape (n_samples,)
        Group labels of the rows, used to name the unseen groups.
    unseen_group : {"overall", "error"}
        ``"overall"``: warn once naming the groups; ``"error"``: raise.
    caller : str
        Estimator name, used in messages.
    fallback : str
        What the rows of unseen groups get, e.g. ``"the overall threshold 0.31"``.

    Returns
    -------
    unseen : ndarray of shape (n_samples,), dtype=bool
        Rows whose group was not seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance._prior import check_unseen_groups
    >>> check_unseen_groups(
    ...     np.array([0, 1]), np.array(["a", "b"]), "error", caller="demo",
    ...     fallback="the overall prior",
    ... ).tolist()
    [False, False]
    """
    unseen = np.asarray(codes) < 0
    if not unseen.any():
        return unseen
    names = sorted(set(np.asarray(labels, dtype=object)[unseen].tolist()))
    if unseen_group == "error":
        raise ValueError(
            f"{caller} got groups {names!r} that were not seen in fit "
            "(unseen_group='error'): refit on data that contains them, or set "
            f"unseen_group='overall' to give them {fallback}."
        )
    warn(
        f"{caller} got groups {names!r} that were not seen in fit: their rows get "
        f"{fallback}. Set unseen_group='error' to refuse them.",
        UnseenGroupWarning,
    )
    return unseen


def class_priors(group_codes, class_codes, n_groups, n_classes, sample_weight=None):
    """Return the (weighted) class prior of every group.

    Parameters
    ----------
    group_codes : ndarray of shape (n_samples,)
        Integer group of each row.
    class_codes : ndarray of shape (n_samples,)
        Integer class of each row.
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
    >>> from healthbalance._prior import class_priors
    >>> class_priors(np.array([0, 0, 0, 1]), np.array([0, 1, 1, 1]), 2, 2).round(2)
    array([[0.33, 0.67],
           [0.  , 1.  ]])
    """
    weights = np.ones(len(class_codes)) if sample_weight is None else sample_weight
    mass = cell_counts(group_codes, class_codes, n_groups, n_classes, weights)
    total = mass.sum(axis=1, keepdims=True)
    return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)


def odds_ratio_shift(prior_before, prior_after):
    """Return ``log(before / after)``: the shift mapping one class prior to another.

    Parameters
    ----------
    prior_before, prior_after : ndarray of shape (..., n_classes)
        Class prior to map to, and the prior the model was trained under.

    Returns
    -------
    shift : ndarray of shape (..., n_classes)
        Log-multipliers; ``-inf`` for a class absent before or after (its
        probability becomes 0).

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the outputs of a
       classifier to new a priori probabilities: a simple procedure", Neural
       Computation 14, 2002.
    .. [2] C. Elkan, "The foundations of cost-sensitive learning", IJCAI 2001.

    Examples
    --------
    >>> from healthbalance._prior import odds_ratio_shift
    >>> odds_ratio_shift([0.9, 0.1], [0.5, 0.5]).round(3)
    array([ 0.588, -1.609])
    """
    before = np.asarray(prior_before, dtype=float)
    after = np.asarray(prior_after, dtype=float)
    valid = (before > 0) & (after > 0)
    ratio = np.divide(before, after, out=np.ones_like(before), where=valid)
    return np.where(valid, np.log(ratio), -np.inf)


def apply_prior_shift(proba, shift):
    """Multiply probabilities by ``exp(shift)`` and renormalise each row.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Probabilities of the model.
    shift : ndarray of shape (n_classes,) or (n_samples, n_classes)
        Log-multipliers (from :func:`odds_ratio_shift` or
        :func:`fit_intercept_shift`).

    Returns
    -------
    corrected : ndarray of shape (n_samples, n_classes)
        Rows sum to 1; a row whose every class gets weight 0 is left unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance._prior import apply_prior_shift, odds_ratio_shift
    >>> shift = odds_ratio_shift([0.9, 0.1], [0.5, 0.5])
    >>> apply_prior_shift(np.array([[0.5, 0.5]]), shift).round(2)
    array([[0.9, 0.1]])
    """
    proba = np.asarray(proba, dtype=float)
    shift = np.asarray(shift, dtype=float)
    finite = np.isfinite(shift)
    # Shift by the largest finite value first, so that exp never overflows.
    top = np.max(np.where(finite, shift, -np.inf), axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    scale = np.exp(np.where(finite, shift - top, -np.inf))
    scaled = proba * scale
    total = scaled.sum(axis=1, keepdims=True)
    return np.divide(scaled, total, out=proba.copy(), where=total > 0)


def fit_intercept_shift(proba, class_codes, *, tol=1e-12, max_iter=200):
    """Refit the intercept: the shift whose corrected mean risk is the prevalence.

    Maximum likelihood of the offset model ``log P(c) = s_c + log p(c) - log Z``
    (``s_0 = 0``) on the rows; its score equations say that the mean corrected
    probability of every class equals the observed share of that class. For two
    classes this is the one-dimensional MLE of ``logit P = a + logit(p)``, solved by
    Newton steps kept inside a bisection bracket (so it converges whatever the
    start); with more classes each ``s_c`` is updated in turn the same way.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Uncorrected probabilities on the training rows.
    class_codes : ndarray of shape (n_samples,)
        Observed class of each row, in ``[0, n_classes)``.
    tol : float, default=1e-12
        Stop when every class's mean corrected probability is within ``tol`` of
        its observed share.
    max_iter : int, default=200
        Maximum number of sweeps over the classes.

    Returns
    -------
    shift : ndarray of shape (n_classes,)
        Log-multipliers; 0 for the first class, ``-inf`` for a class never
        observed.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance._prior import apply_prior_shift, fit_intercept_shift
    >>> proba = np.array([[0.8, 0.2], [0.4, 0.6], [0.5, 0.5], [0.7, 0.3]])
    >>> shift = fit_intercept_shift(proba, np.array([0, 0, 1, 0]))
    >>> float(apply_prior_shift(proba, shift)[:, 1].mean().round(6))
    0.25
    """
    proba = np.asarray(proba, dtype=float)
    n_classes = proba.shape[1]
    observed = np.bincount(class_codes, minlength=n_classes) / len(class_codes)
    shift = np.where(observed > 0, 0.0, -np.inf)
    for _ in range(max_iter):
        for c in np.flatnonzero(observed > 0)[1:]:
            shift[c] = _solve_class(proba, shift, c, observed[c])
        mean = apply_prior_shift(proba, shift).mean(axis=0)
        if np.max(np.abs(mean - observed)) <= tol:
            break
    return shift


def _solve_class(proba, shift, c, target):
    """Shift of class ``c`` (the others fixed) whose mean probability is target."""
    others = np.delete(np.arange(proba.shape[1]), c)
    rest = (proba[:, others] * np.exp(_finite_or(shift[others], -np.inf))).sum(axis=1)
    p = proba[:, c]

    def excess(a):
        odds = p * np.exp(a)
        q = np.divide(odds, odds + rest, out=np.zeros_like(odds), where=odds + rest > 0)
        return q.mean() - target, (q * (1 - q)).mean()

    lo, hi = _bracket(excess, _finite_or(shift[c], 0.0))
    a = 0.5 * (lo + hi)
    for _ in range(200):
        value, slope = excess(a)
        if abs(value) <= 1e-15 or hi - lo <= 1e-14 * max(1.0, abs(a)):
            break
        lo, hi = (a, hi) if value < 0 else (lo, a)
        step = a - value / slope if slope > 0 else np.nan
        a = step if lo < step < hi else 0.5 * (lo + hi)
    return a


def _finite_or(values, default):
    return np.where(np.isfinite(values), values, default)


def _bracket(excess, start):
    """Return an interval around ``start`` where the increasing ``excess`` is 0."""
    lo, hi, width = start - 1.0, start + 1.0, 1.0
    while excess(lo)[0] > 0 and width < 1e3:
        width *= 2
        lo = start - width
    while excess(hi)[0] < 0 and width < 1e3:
        width *= 2
        hi = start + width
    return lo, hi


def record_prior_correction(estimator, groups, before, after, shift, *, scope, method):
    """Store the attribute schema of the module docstring on ``estimator``.

    Parameters
    ----------
    estimator : estimator
        Fitted estimator with ``classes_``.
    groups : ndarray of shape (n_groups,)
        Group labels.
    before, after : tuple of (ndarray of shape (n_groups, n_classes), ndarray)
        Per-group and overall class priors before and after.
    shift : tuple of (ndarray of shape (n_groups, n_classes), ndarray)
        Per-group and overall log-multipliers.
    scope : {"none", "global", "group"}
        Value of ``prior_correction_``.
    method : {"odds_ratio", "intercept"}
        Value of ``prior_method_``.
    """

    def table(values):
        return pd.DataFrame(values, index=groups, columns=estimator.classes_)

    estimator.prior_correction_ = scope
    estimator.prior_method_ = method
    estimator.class_prior_before_ = table(before[0])
    estimator.class_prior_after_ = table(after[0])
    estimator.prior_before_, estimator.prior_after_ = before[1], after[1]
    estimator.prior_shift_ = table(shift[0])
    estimator.prior_shift_overall_ = shift[1]


def record_intercept_shift(estimator, proba, class_codes, groups, *, enabled=None):
    """Refit the intercept on the training rows and store the attribute schema.

    Parameters
    ----------
    estimator : estimator
        Fitted estimator with ``classes_`` and ``prior_correction``.
    proba : ndarray of shape (n_samples, n_classes)
        Uncorrected probabilities of the training rows.
    class_codes : ndarray of shape (n_samples,)
        Observed class of each training row.
    groups : SensitiveGroups
        Groups of the training rows (for the per-group priors).
    enabled : bool or None, default=None
        Whether to correct; ``estimator.prior_correction`` when None.

    Returns
    -------
    shift : ndarray of shape (n_classes,)
        The overall shift (zeros with ``prior_correction=False``).
    """
    n_groups, n_classes = groups.n_groups, estimator.classes_.size
    ones = np.zeros(len(class_codes), dtype=np.intp)
    before = class_priors(groups.codes, class_codes, n_groups, n_classes)
    mass = np.stack(
        [np.bincount(groups.codes, proba[:, c], n_groups) for c in range(n_classes)],
        axis=1,
    )
    after = mass / np.maximum(mass.sum(axis=1, keepdims=True), 1e-300)
    enabled = estimator.prior_correction if enabled is None else enabled
    shift = fit_intercept_shift(proba, class_codes) if enabled else np.zeros(n_classes)
    record_prior_correction(
        estimator,
        groups.groups,
        (before, class_priors(ones, class_codes, 1, n_classes)[0]),
        (after, proba.mean(axis=0)),
        (np.tile(shift, (n_groups, 1)), shift),
        scope="global" if enabled else "none",
        method="intercept",
    )
    return shift
