"""Every named metric as a function of a batch of resample counts.

A group's rows are sorted by score once
(:class:`~healthbalance.metrics._count_batch.SortedGroup`). A
:class:`~healthbalance.metrics._count_batch.CountBatch` holds, for a batch of
bootstrap replicates, how often each of those rows was drawn (all ones for the
point estimate). Every metric is a function
``metric(batch) -> ndarray of shape (n_replicates,)`` computed with cumulative sums
and dot products over the sorted rows, so that evaluating a replicate never re-sorts
or copies patient rows. With unit counts each metric equals the scikit-learn function
on the group's rows:

- ``roc_auc``: :func:`sklearn.metrics.roc_auc_score` (ties count one half);
- ``average_precision``: :func:`sklearn.metrics.average_precision_score`;
- ``brier_score``: :func:`sklearn.metrics.brier_score_loss`;
- ``log_loss``: :func:`sklearn.metrics.log_loss` (probabilities clipped to
  ``[eps, 1 - eps]``, ``eps`` the float64 machine epsilon);
- ``ece``: expected calibration error over ``n_bins`` (default 10) equal-width bins of
  [0, 1], binned like :func:`sklearn.calibration.calibration_curve` with
  ``strategy="uniform"``: ``sum_b n_b / n * |mean(y)_b - mean(p)_b|``;
- ``calibration_intercept``: intercept ``a`` of the logistic model
  ``logit P(y=1) = a + logit(p)`` (``logit(p)`` an offset, slope fixed at 1);
  0 when calibrated in the large, positive when the model under-predicts risk;
- ``calibration_slope``: coefficient ``b`` of ``logit(p)`` in the logistic regression
  ``logit P(y=1) = a + b logit(p)``; 1 when calibrated, below 1 when predictions are
  too extreme. Probabilities are clipped to ``[1e-15, 1 - 1e-15]`` before the logit.
  Both are maximum-likelihood fits by Newton's method with step halving (the
  likelihood never decreases, so the fit converges however miscalibrated the model
  is); they are NaN only when the maximum does not exist: a single class, or (slope)
  outcomes separated by the score. Point estimates use the rows; bootstrap
  replicates use at most 512 bins of sorted logits per class, each at the mean
  logit of its rows weighted by the replicate's counts (binning error below 5e-4,
  at most 1.7e-4 measured), and start Newton from the point estimate;
- ``sensitivity``, ``specificity``, ``ppv``, ``npv``, ``f1``, ``fnr``, ``fpr``: at
  ``threshold`` (a sample is predicted positive when ``y_score >= threshold``);
- ``net_benefit``: decision-curve net benefit ``TP/n - FP/n * t / (1 - t)`` at
  ``t = threshold``;
- ``sensitivity_at_specificity``: the highest sensitivity among the ROC points whose
  specificity is at least ``target_specificity`` (``specificity_at_sensitivity``
  likewise), as read from :func:`sklearn.metrics.roc_curve` with
  ``drop_intermediate=False``;
- ``n``, ``n_events``, ``prevalence``: sizes and event rate (the counts get no
  interval; the bootstrap never holds the outcomes fixed, so ``prevalence`` has one).
- ``ici``, ``e50``, ``e90``, ``emax``: the smooth calibration errors of Austin and
  Steyerberg (2019), in :mod:`healthbalance.metrics._calibration_error` (equal to
  R's ``loess`` on the rows, up to the stated binning error).

The registry of these functions, their statistics and docs lines is
:mod:`healthbalance.metrics._registry`.
"""

import numpy as np
from scipy.special import expit

__all__ = [
    "average_precision",
    "brier_score",
    "calibration_intercept",
    "calibration_slope",
    "ece",
    "f1",
    "fnr",
    "fpr",
    "log_loss",
    "n",
    "n_events",
    "net_benefit",
    "npv",
    "ppv",
    "prevalence",
    "roc_auc",
    "sensitivity",
    "sensitivity_at_specificity",
    "specificity",
    "specificity_at_sensitivity",
]

_NEWTON_TOL = 1e-10
_NEWTON_MAX_ITER = 100
_MAX_HALVINGS = 40
_MAX_STEP = 4.0  # largest change of the intercept or slope per Newton step


def _divide(numerator, denominator):
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def roc_auc(b):
    return _divide(b.auc_wins, b.n_pos * b.n_neg)


def average_precision(b):
    return _divide(b.precision_sum, b.n_pos)


def brier_score(b):
    return _divide(b.squared_error_sum, b.n)


def log_loss(b):
    return _divide(b.log_loss_sum, b.n)


def ece(b):
    return _divide(np.abs(b.bin_residuals).sum(axis=1), b.n)


def calibration_intercept(b):
    """Intercept ``a`` of ``logit P(y=1) = a + logit(p)`` (maximum likelihood)."""
    return _calibration_fit(b, slope=False)


def calibration_slope(b):
    """Coefficient ``s`` of ``logit P(y=1) = a + s logit(p)`` (maximum likelihood)."""
    return _calibration_fit(b, slope=True)


def _calibration_fit(b, slope):
    """Safeguarded Newton fit of the calibration model, one per replicate.

    Newton steps on the concave log-likelihood, halved until the likelihood does not
    decrease, so the iteration converges from any start wherever the maximum exists.
    Replicates start from the group's point estimate (a few steps away), the point
    estimate from a calibrated model.
    NaN where it does not: a single counted class, or (for the slope) outcomes
    separated by the score.
    """
    x_pos, w_pos, x_neg, w_neg = b.logit_data
    k = w_pos.shape[0]
    theta = np.tile(b.group.calibration_start.get(slope, (0.0, 1.0)), (k, 1))
    exists = (w_pos.sum(axis=1) > 0) & (w_neg.sum(axis=1) > 0)
    center = np.zeros(k)
    if slope:
        exists &= _overlap(x_pos, w_pos, x_neg, w_neg)
        # fit a + s (x - center): logits far from 0 make the intercept and slope
        # nearly collinear, and the Hessian's determinant cancels without it
        total = w_pos.sum(axis=1) + w_neg.sum(axis=1)
        center = _divide(_dot(w_pos, x_pos) + _dot(w_neg, x_neg), total)
        center = np.nan_to_num(center)
        x_pos, x_neg = x_pos - center[:, None], x_neg - center[:, None]
        theta[:, 0] += theta[:, 1] * center
    data = (x_pos, w_pos, x_neg, w_neg)
    active = exists.copy()
    likelihood = _log_likelihood(theta, data)
    for _ in range(_NEWTON_MAX_ITER):
        if not active.any():
            break
        rows = np.flatnonzero(active)
        part = _take_rows_of(data, rows)
        step = _newton_step(theta[rows], part, slope)
        # a trust region: near-flat curvature (every risk near 0 or 1) gives huge
        # steps that no halving brings back; the capped step keeps the direction
        size = np.max(np.abs(step), axis=1, keepdims=True)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(size, 1e-300))
        theta[rows], likelihood[rows] = _halve_until_better(
            theta[rows], step, part, likelihood[rows]
        )
        done = np.max(np.abs(step), axis=1) <= _NEWTON_TOL
        active[rows[done]] = False
    theta[:, 0] -= theta[:, 1] * center  # back to a + s x
    value = theta[:, 1 if slope else 0]
    value = np.where(exists & ~active & np.isfinite(value), value, np.nan)
    if b.is_point and np.isfinite(value[0]):
        b.group.calibration_start[slope] = tuple(theta[0])
    return value


def _take_rows_of(data, rows):
    if rows.size == data[1].shape[0]:  # every replicate: no copy
        return data
    return tuple(a if a.shape[0] == 1 else a[rows] for a in data)


def _dot(a, x):
    """Row-wise dot products; ``x`` has one row (shared) or one per row of ``a``."""
    # einsum, not a BLAS product: BLAS threads fight the bootstrap threads
    if x.shape[0] == 1:
        return np.einsum("ij,j->i", a, x[0])
    return np.einsum("ij,ij->i", a, x)


def _eta(theta, x):
    return theta[:, :1] + theta[:, 1:] * x


def _log_likelihood(theta, data):
    x_pos, w_pos, x_neg, w_neg = data
    pos = np.logaddexp(0.0, -_eta(theta, x_pos))
    neg = np.logaddexp(0.0, _eta(theta, x_neg))
    return -(np.einsum("ij,ij->i", w_pos, pos) + np.einsum("ij,ij->i", w_neg, neg))


def _newton_step(theta, data, slope):
    """Newton direction of (intercept, slope); the slope stays fixed if not fitted."""
    x_pos, w_pos, x_neg, w_neg = data
    mu_pos, mu_neg = expit(_eta(theta, x_pos)), expit(_eta(theta, x_neg))
    r_pos, r_neg = w_pos * (1 - mu_pos), -w_neg * mu_neg
    v_pos, v_neg = w_pos * mu_pos * (1 - mu_pos), w_neg * mu_neg * (1 - mu_neg)
    g_a, h_aa = r_pos.sum(axis=1) + r_neg.sum(axis=1), v_pos.sum(1) + v_neg.sum(1)
    step = np.zeros_like(theta)
    if not slope:
        step[:, 0] = _divide(g_a, h_aa)
        return np.nan_to_num(step)
    g_s = _dot(r_pos, x_pos) + _dot(r_neg, x_neg)
    h_as = _dot(v_pos, x_pos) + _dot(v_neg, x_neg)
    h_ss = _dot(v_pos * x_pos, x_pos) + _dot(v_neg * x_neg, x_neg)
    det = h_aa * h_ss - h_as**2
    step[:, 0] = _divide(h_ss * g_a - h_as * g_s, det)
    step[:, 1] = _divide(h_aa * g_s - h_as * g_a, det)
    return np.nan_to_num(step)


def _halve_until_better(theta, step, data, before):
    """Take the Newton step, halved (up to 40 times) until the fit is no worse.

    Returns the new parameters and their log-likelihood.
    """
    slack = 1e-12 * np.maximum(np.abs(before), 1.0)
    factor = np.ones(theta.shape[0])
    new = theta + step
    after = _log_likelihood(new, data)
    worse = ~(after >= before - slack)
    for _ in range(_MAX_HALVINGS):
        if not worse.any():
            break
        factor[worse] /= 2
        rows = np.flatnonzero(worse)
        new[rows] = theta[rows] + step[rows] * factor[rows, None]
        after[rows] = _log_likelihood(new[rows], _take_rows_of(data, rows))
        worse[rows] = ~(after[rows] >= before[rows] - slack[rows])
    return np.where(worse[:, None], theta, new), np.where(worse, before, after)


def _overlap(x_pos, w_pos, x_neg, w_neg):
    """Whether counted events and non-events overlap (else the slope is infinite).

    The maximum likelihood slope exists iff some non-event scores strictly above
    some event and some event strictly above some non-event.
    """
    if not (x_pos.shape[1] and x_neg.shape[1]):
        return np.zeros(w_pos.shape[0], dtype=bool)
    lowest_pos = _first_counted(x_pos, w_pos)
    highest_pos = _first_counted(x_pos[:, ::-1], w_pos[:, ::-1])
    lowest_neg = _first_counted(x_neg, w_neg)
    highest_neg = _first_counted(x_neg[:, ::-1], w_neg[:, ::-1])
    return (highest_neg > lowest_pos) & (highest_pos > lowest_neg)


def _first_counted(x, w):
    first = np.argmax(w > 0, axis=1)
    return x[0, first] if x.shape[0] == 1 else x[np.arange(x.shape[0]), first]


def sensitivity(b):
    tp, _, _, _ = b.confusion
    return _divide(tp, b.n_pos)


def specificity(b):
    _, _, _, tn = b.confusion
    return _divide(tn, b.n_neg)


def ppv(b):
    tp, fp, _, _ = b.confusion
    return _divide(tp, tp + fp)


def npv(b):
    _, _, fn, tn = b.confusion
    return _divide(tn, tn + fn)


def f1(b):
    tp, fp, fn, _ = b.confusion
    return _divide(2 * tp, 2 * tp + fp + fn)


def fnr(b):
    _, _, fn, _ = b.confusion
    return _divide(fn, b.n_pos)


def fpr(b):
    _, fp, _, _ = b.confusion
    return _divide(fp, b.n_neg)


def net_benefit(b):
    tp, fp, _, _ = b.confusion
    t = b.group.params.threshold
    return _divide(tp - fp * (t / (1 - t)), b.n)


def sensitivity_at_specificity(b):
    g = b.group
    if not (g.p_pos.size and g.p_neg.size):
        return np.full(b.cpos.shape[0], np.nan)
    at_or_above = b.neg_from_first_tie()
    too_low = (1 - _divide(at_or_above, b.n_neg[:, None])) < g.params.target_specificity
    n_too_low = too_low.sum(axis=1)
    # positives above the highest negative that still gives too low a specificity
    cut = g.pos_right_of_neg[np.maximum(n_too_low - 1, 0)]
    below = np.where(n_too_low > 0, _take(b.cum_pos, cut), 0.0)
    return _both_classes(_divide(b.n_pos - below, b.n_pos), b)


def specificity_at_sensitivity(b):
    g = b.group
    if not (g.p_pos.size and g.p_neg.size):
        return np.full(b.cpos.shape[0], np.nan)
    lo, _ = g.neg_below_pos
    at_or_above = b.pos_from_first_tie()
    feasible = _divide(at_or_above, b.n_pos[:, None]) >= g.params.target_sensitivity
    # the highest threshold (a positive's score) that keeps sensitivity on target
    last = np.maximum(feasible.sum(axis=1) - 1, 0)
    return _both_classes(_divide(_take(b.cum_neg, lo[last]), b.n_neg), b)


def _take(cumulative, columns):
    return cumulative[np.arange(cumulative.shape[0]), columns]


def _both_classes(values, b):
    return np.where((b.n_pos > 0) & (b.n_neg > 0), values, np.nan)


def n(b):
    return b.n


def n_events(b):
    return b.n_pos


def prevalence(b):
    return _divide(b.n_pos, b.n)
