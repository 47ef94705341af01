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

The registry
------------
:data:`METRICS` maps each name to a :class:`MetricSpec`: its function, direction,
the outcome classes it needs, whether it has an interval, why it can be undefined,
its docs line and the per-group **statistics** it is computed from. Adding a metric
is one entry (see the contributor notes, ``docs/contributing.rst``); the docs' metric
table is generated from the registry when the docs are built.

The statistics are the contract between a data source and the metrics. A source
hands over, per group and per replicate (one replicate of unit counts for the point
estimate), the statistics named by the metrics it serves; in memory they come from a
:class:`~healthbalance.metrics._count_batch.CountBatch` (rows sorted once, resample
counts), and a source that cannot see rows (Dask partitions, hospital sites) must
produce the same quantities from binned counts and sums that add up over its parts:

- ``"sizes"``: counted events ``n_pos``, non-events ``n_neg`` and all ``n``;
  additive.
- ``"confusion"``: ``(tp, fp, fn, tn)`` at ``threshold`` (predicted positive when
  ``score >= threshold``); additive.
- ``"sums"``: ``squared_error_sum`` (sum of ``(y - p)^2``) and ``log_loss_sum``
  (sum of the clipped log loss); additive.
- ``"calibration_bins"``: ``bin_residuals``, the sum of ``y - p`` in each of
  ``n_bins`` equal-width bins of [0, 1] (``calibration_curve`` binning); additive.
- ``"logits"``: ``logit_data = (x_pos, w_pos, x_neg, w_neg)``, logits of the events
  and the non-events with their counted weights: the rows, or bins of sorted logits
  each at its rows' mean logit (the calibration fits read nothing else). Additive
  once the parts share the bins.
- ``"sorted_scores"``: the counted events and non-events in score order (``cpos``,
  ``cneg``, their cumulative sums and tie tables), from which the rank statistics
  ``auc_wins`` and ``precision_sum`` and the ROC operating points are read. A source
  without rows hands over counts per class on a shared grid of score values (exact
  when the grid holds every distinct score); parts merge by adding those counts.

A metric is ``mergeable`` when the union of groups (the overall and attribute rows)
can be computed from its parts'
:class:`~healthbalance.metrics._merged_batch.MergedBatch`; it must be declared
explicitly, otherwise those rows use a batch of the whole group.
"""

from dataclasses import dataclass
from dataclasses import fields as fields_of

import numpy as np
from scipy.special import expit

__all__ = ["METRICS", "STATISTICS", "MetricSpec"]

_NEWTON_TOL = 1e-10
_NEWTON_MAX_ITER = 100
_MAX_HALVINGS = 40


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
    if slope:
        exists &= _overlap(x_pos, w_pos, x_neg, w_neg)
    data = (x_pos, w_pos, x_neg, w_neg)
    active = exists.copy()
    likelihood = _log_likelihood(theta, data)
    for _ in range(_NEWTON_MAX_ITER):
        if not active.any():
            break
        rows = np.flatnonzero(active)
        part = _take_rows_of(data, rows)
        step = _newton_step(theta[rows], part, slope)
        theta[rows], likelihood[rows] = _halve_until_better(
            theta[rows], step, part, likelihood[rows]
        )
        done = np.max(np.abs(step), axis=1) <= _NEWTON_TOL
        active[rows[done]] = False
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


def _proportion(successes, trials):
    """``proportion(b) -> (successes, trials)``, by index in ``(tp, fp, fn, tn)``."""

    def proportion(b):
        counts = b.confusion
        return counts[successes], sum(counts[k] for k in trials)

    return proportion


def _both_classes(values, b):
    return np.where((b.n_pos > 0) & (b.n_neg > 0), values, np.nan)


def n(b):
    return b.n


def n_events(b):
    return b.n_pos


def prevalence(b):
    return _divide(b.n_pos, b.n)


# The vocabulary of per-group statistics (see the module docstring).
STATISTICS = (
    "sizes",
    "confusion",
    "sums",
    "calibration_bins",
    "logits",
    "sorted_scores",
)

# Why a metric is undefined when the group lacks the outcome classes it needs.
_MISSING_CLASS = {
    "events": "{name} undefined: no events in the group",
    "non_events": "{name} undefined: no non-events in the group",
}


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is computed and read: one registry entry.

    Attributes
    ----------
    function : callable
        ``function(batch) -> ndarray of shape (n_replicates,)``.
    statistics : tuple of str
        The per-group statistics the function reads, words of :data:`STATISTICS`.
    description : str
        One line for the docs' metric table.
    needs : {"any", "both", "events", "non_events"}, default="both"
        The outcome classes a group needs for the metric to be defined.
    probability : bool, default=False
        Whether the metric reads the scores as probabilities in [0, 1].
    best : {"max", "min"} or float, default="max"
        Direction of better values, or the ideal value (calibration).
    interval : bool, default=True
        Whether a bootstrap interval is reported (not for the counts n, n_events).
    mergeable : bool, default=False
        Whether the metric of a union of groups can be computed from the groups'
        batches (:class:`~healthbalance.metrics._merged_batch.MergedBatch`). If
        not, the overall and attribute rows use a batch of the whole group.
    undefined : str, default=""
        Why the metric can be NaN although the group has the classes it needs, with
        the fields ``{name}`` and those of ``MetricParams`` (``{threshold}``, ...).
        Empty for "undefined for this group".
    proportion : callable or None, default=None
        For a proportion, ``proportion(batch) -> (successes, trials)``, the counts
        of its Wilson interval (``group_report(proportion_interval="wilson")``).

    Examples
    --------
    >>> from healthbalance.metrics._metric_functions import METRICS
    >>> METRICS["ppv"].statistics
    ('confusion',)
    """

    function: object
    statistics: tuple
    description: str
    needs: str = "both"
    probability: bool = False
    best: object = "max"
    interval: bool = True
    mergeable: bool = False
    undefined: str = ""
    proportion: object = None

    def __post_init__(self):
        unknown = sorted(set(self.statistics) - set(STATISTICS))
        if unknown or not self.statistics:
            raise ValueError(
                f"statistics={self.statistics!r} must be a non-empty tuple of words "
                f"from {STATISTICS}; unknown: {unknown}."
            )

    def why_undefined(self, name, n_events, n_non_events, params):
        """Return why the metric ``name`` is NaN for a group.

        Parameters
        ----------
        name : str
            The reported name of the metric.
        n_events, n_non_events : int
            The group's numbers of events and non-events.
        params : MetricParams
            Threshold and operating points of the report.

        Returns
        -------
        reason : str

        Examples
        --------
        >>> from healthbalance.metrics._count_batch import MetricParams
        >>> from healthbalance.metrics._metric_functions import METRICS
        >>> METRICS["ppv"].why_undefined("ppv", 3, 5, MetricParams(threshold=0.9))
        'ppv undefined: no predicted positives at threshold 0.9'
        """
        if n_events == 0 and self.needs in ("both", "events"):
            return _MISSING_CLASS["events"].format(name=name)
        if n_non_events == 0 and self.needs in ("both", "non_events"):
            return _MISSING_CLASS["non_events"].format(name=name)
        if not self.undefined:
            return f"{name} undefined for this group"
        fields = {f.name: getattr(params, f.name) for f in fields_of(params)}
        return f"{name} undefined: " + self.undefined.format(name=name, **fields)


_AT_T = "at ``threshold``"

METRICS = {
    "n": MetricSpec(
        n, ("sizes",), "Number of patients.", "any", interval=False, mergeable=True
    ),
    "n_events": MetricSpec(
        n_events,
        ("sizes",),
        "Number of events (outcome 1).",
        "any",
        interval=False,
        mergeable=True,
    ),
    "prevalence": MetricSpec(
        prevalence,
        ("sizes",),
        "Share of patients with the event.",
        "any",
        mergeable=True,
        proportion=lambda b: (b.n_pos, b.n),
    ),
    "roc_auc": MetricSpec(
        roc_auc,
        ("sorted_scores", "sizes"),
        "Area under the ROC curve (ties count one half).",
        mergeable=True,
    ),
    "average_precision": MetricSpec(
        average_precision,
        ("sorted_scores", "sizes"),
        "Average precision (step-wise area under the precision-recall curve).",
        "events",
        mergeable=True,
    ),
    "brier_score": MetricSpec(
        brier_score,
        ("sums", "sizes"),
        "Mean squared error of the predicted risks.",
        "any",
        True,
        "min",
        mergeable=True,
    ),
    "log_loss": MetricSpec(
        log_loss,
        ("sums", "sizes"),
        "Mean negative log-likelihood of the predicted risks.",
        "any",
        True,
        "min",
        mergeable=True,
    ),
    "ece": MetricSpec(
        ece,
        ("calibration_bins", "sizes"),
        "Expected calibration error over ``n_bins`` equal-width bins.",
        "any",
        True,
        "min",
        mergeable=True,
    ),
    "calibration_intercept": MetricSpec(
        calibration_intercept,
        ("logits",),
        "Calibration in the large: intercept with ``logit(p)`` as offset (ideal 0).",
        probability=True,
        best=0.0,
    ),
    "calibration_slope": MetricSpec(
        calibration_slope,
        ("logits",),
        "Slope of the outcome's log-odds on ``logit(p)`` (ideal 1).",
        probability=True,
        best=1.0,
        undefined="the score separates events from non-events, so the "
        "maximum-likelihood slope is infinite",
    ),
    "sensitivity": MetricSpec(
        sensitivity,
        ("confusion", "sizes"),
        f"True positive rate {_AT_T}.",
        "events",
        mergeable=True,
        proportion=_proportion(0, (0, 2)),
    ),
    "specificity": MetricSpec(
        specificity,
        ("confusion", "sizes"),
        f"True negative rate {_AT_T}.",
        "non_events",
        mergeable=True,
        proportion=_proportion(3, (1, 3)),
    ),
    "ppv": MetricSpec(
        ppv,
        ("confusion",),
        f"Positive predictive value (precision) {_AT_T}.",
        "any",
        mergeable=True,
        undefined="no predicted positives at threshold {threshold}",
        proportion=_proportion(0, (0, 1)),
    ),
    "npv": MetricSpec(
        npv,
        ("confusion",),
        f"Negative predictive value {_AT_T}.",
        "any",
        mergeable=True,
        undefined="no predicted negatives at threshold {threshold}",
        proportion=_proportion(3, (2, 3)),
    ),
    "f1": MetricSpec(f1, ("confusion",), f"F1 score {_AT_T}.", "any", mergeable=True),
    "fnr": MetricSpec(
        fnr,
        ("confusion", "sizes"),
        f"False negative rate {_AT_T}.",
        "events",
        best="min",
        mergeable=True,
        proportion=_proportion(2, (0, 2)),
    ),
    "fpr": MetricSpec(
        fpr,
        ("confusion", "sizes"),
        f"False positive rate {_AT_T}.",
        "non_events",
        best="min",
        mergeable=True,
        proportion=_proportion(1, (1, 3)),
    ),
    "net_benefit": MetricSpec(
        net_benefit,
        ("confusion", "sizes"),
        f"Decision-curve net benefit {_AT_T}.",
        "any",
        True,
        mergeable=True,
    ),
    "sensitivity_at_specificity": MetricSpec(
        sensitivity_at_specificity,
        ("sorted_scores", "sizes"),
        "Highest sensitivity with specificity at least ``target_specificity``.",
    ),
    "specificity_at_sensitivity": MetricSpec(
        specificity_at_sensitivity,
        ("sorted_scores", "sizes"),
        "Highest specificity with sensitivity at least ``target_sensitivity``.",
    ),
}
