"""``group_report``: every metric per group and intersection, with bootstrap CIs."""

import numbers

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from healthbalance._sensitive import resolve_sensitive_features
from healthbalance._small_counts import (
    MIN_EVENTS,
    MIN_GROUP_SIZE,
    reliability,
    smallest_nonzero,
)
from healthbalance.metrics._binning import N_SCORE_BINS, binning_bound
from healthbalance.metrics._count_batch import MetricParams
from healthbalance.metrics._dask import is_dask, prepare_cells
from healthbalance.metrics._engine import STRATIFY, evaluate
from healthbalance.metrics._groups import build_groups
from healthbalance.metrics._registry import METRICS
from healthbalance.metrics._report import COLUMNS, GroupReport
from healthbalance.metrics._validation import (
    check_confidence_level,
    check_metrics,
    check_scores,
    check_target,
)
from healthbalance.utils._bootstrap import percentile_interval
from healthbalance.utils._validation import plain
from healthbalance.utils._warnings import warn

__all__ = ["SmallGroupWarning", "group_report"]

# A metric undefined in more than this share of the replicates is flagged: its
# interval is built from the remaining replicates, a subset that is not random.
MAX_FAILED_SHARE = 0.01
PROPORTION_INTERVALS = ("percentile", "wilson")


class SmallGroupWarning(UserWarning):
    """Warn that some groups are too small or have too few events to be reliable."""


def group_report(
    y_true,
    y_score,
    *,
    sensitive_features,
    metrics=None,
    threshold=0.5,
    target_specificity=0.9,
    target_sensitivity=0.9,
    n_bins=10,
    n_score_bins=N_SCORE_BINS,
    n_bootstrap=1000,
    confidence_level=0.95,
    intersections="pairwise",
    min_group_size=MIN_GROUP_SIZE,
    min_events=MIN_EVENTS,
    pos_label=None,
    stratify="intersection",
    proportion_interval="wilson",
    random_state=None,
    n_jobs=None,
):
    """Evaluate a model's predictions per group, with bootstrap CIs.

    Every metric is reported for all patients (``overall``), for the groups of each
    sensitive attribute and, with several attributes, for their intersections.
    Intervals are percentile intervals of a bootstrap that redraws patients, never
    holding the outcomes fixed: within the finest intersection of the attributes
    (``stratify="intersection"``: every intersection keeps its size, its number of
    events varies) or across all patients (``stratify="none"``). One set of
    replicates is shared by all groups and metrics, so differences between groups
    are paired (:meth:`GroupReport.disparity`). Point estimates equal the
    scikit-learn functions on each group's rows.

    Dask Series / DataFrames (partitioned alike) are evaluated on the workers:
    every partition is reduced to weighted cells (finest intersection x outcome x
    score bin, with the sums that keep Brier score, log loss and ECE exact), and
    only those reach the caller; the bootstrap redraws the patients of each
    stratum over its cells, the same design as for rows. Counts and the metrics
    at ``threshold`` are exact; the rank metrics are within
    :attr:`GroupReport.binning_bound` (see the user guide's "Scaling out").
    Callable metrics need the rows and are refused: compute them on a sample.

    Parameters
    ----------
    y_true : array-like or Dask Series of shape (n_samples,)
        Binary outcome.
    y_score : array-like or Dask Series of shape (n_samples,)
        Predicted probability of the positive class (any real score is accepted
        when only ranking and threshold metrics are requested).
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership: a 1-D array or Series for one attribute, a DataFrame for
        several (Dask too, with Dask ``y_true``). Missing values form their own
        group ``"(missing)"``. ``None`` treats all rows as one group (with a
        warning).
    metrics : str, callable, list or dict, default=None
        Metric names (see the Notes), callables ``f(y_true, y_score) -> float`` named
        by their ``__name__``, or a dict ``{name: name_or_callable}``. All built-in
        metrics if None. A callable returning an error (ValueError) gives NaN.
    threshold : float, default=0.5
        Probability at or above which a patient is predicted positive, for the
        threshold metrics and ``net_benefit``; in (0, 1).
    target_specificity : float, default=0.9
        Operating point of ``sensitivity_at_specificity``.
    target_sensitivity : float, default=0.9
        Operating point of ``specificity_at_sensitivity``.
    n_bins : int, default=10
        Number of equal-width bins of ``ece`` and of the calibration curves.
    n_score_bins : int, default=16384
        Dask input only: number of score bins per model, cut on the logit scale
        from a first pass over the data (half of equal counts of all rows, half
        of the events), to which the threshold and the ``n_bins`` calibration
        edges are added. More bins tighten :attr:`GroupReport.binning_bound`
        and make more cells.
    n_bootstrap : int, default=1000
        Number of bootstrap replicates; 0 for point estimates only.
    confidence_level : float, default=0.95
        Coverage of the percentile intervals.
    intersections : {"pairwise", "all"} or bool, default="pairwise"
        With several attributes, also report intersections: ``"pairwise"`` every
        two-way intersection (attribute name ``"race_ethnicity & sex"``; with two
        attributes, their full intersection), ``"all"`` (or ``True``) the one
        intersection of every attribute, ``False`` none. Four attributes of about
        five values give over a hundred four-way groups, most too small to read:
        ask for ``"all"`` explicitly when that is what you want.
    min_group_size : int, default=30
        Groups with fewer patients are flagged ``reliable=False``.
    min_events : int, default=10
        Groups with fewer events (or fewer non-events) are flagged too.
    pos_label : int, float, bool or str, default=None
        Label of the event; needed for string labels.
    stratify : {"intersection", "none"}, default="intersection"
        Bootstrap design: redraw patients within the finest intersection of the
        attributes (group sizes fixed, outcomes free), or plain resampling of all
        patients (group sizes free too). See the user guide for what each interval
        means and for their measured coverage.
    proportion_interval : {"wilson", "percentile"}, default="wilson"
        Interval of the proportions (``prevalence``, ``sensitivity``,
        ``specificity``, ``ppv``, ``npv``, ``fnr``, ``fpr``): the bootstrap
        percentile interval like every other metric, or the Wilson (score)
        interval of the group's counts (:func:`scipy.stats.binomtest`). Wilson
        covers far better when a proportion rests on few counts or lies near 0 or
        1 (the percentile interval collapses to a point when every counted patient
        agrees); see the user guide's coverage page. The other metrics and the
        paired :meth:`GroupReport.disparity` intervals stay bootstrap intervals.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads evaluating the replicates; the result does not depend on it.

    Returns
    -------
    report : GroupReport
        Use :meth:`GroupReport.to_frame` for the tidy long table.

    Warns
    -----
    SmallGroupWarning
        Naming the groups that are flagged unreliable.

    See Also
    --------
    compare_models : Paired comparison of several models per group.
    calibration_by_group : Smooth calibration curves per group.
    representation_report : Group shares against a reference population.

    Notes
    -----
    Built-in metrics: ``n``, ``n_events``, ``prevalence``, ``roc_auc``,
    ``average_precision``, ``brier_score``, ``log_loss``, ``ece``,
    ``calibration_intercept``, ``calibration_slope``, ``sensitivity``,
    ``specificity``, ``ppv``, ``npv``, ``f1``, ``fnr``, ``fpr``, ``net_benefit``,
    ``sensitivity_at_specificity`` and ``specificity_at_sensitivity``; their exact
    definitions are in :mod:`healthbalance.metrics._metric_functions` (the registry
    in :mod:`healthbalance.metrics._registry`). The smooth calibration errors
    ``ici``, ``e50``, ``e90`` and ``emax`` (Austin and Steyerberg 2019; a loess per
    group and replicate, :mod:`healthbalance.metrics._calibration_error`) are
    computed only when named in ``metrics``. The counts ``n`` and ``n_events``
    get no interval; ``prevalence`` does. A metric undefined
    in more than 1% of the replicates (column ``n_failed``) is flagged
    ``reliable=False``: its interval comes from the other replicates only.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import group_report
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 300)
    >>> p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 300), 0, 1)
    >>> race = rng.choice(["A", "B", "C"], 300)
    >>> report = group_report(y, p, sensitive_features=race,
    ...                       metrics=["roc_auc", "sensitivity"], n_bootstrap=100,
    ...                       random_state=0)
    >>> frame = report.to_frame()
    >>> frame.columns.tolist()
    ['attribute', 'group', 'metric', 'estimate', 'ci_low', 'ci_high', 'n', \
'n_events', 'smallest_confusion_count', 'n_failed', 'reliable', 'reason']
    >>> bool((frame["ci_low"] <= frame["estimate"]).all())
    True
    """
    params = MetricParams(threshold, target_specificity, target_sensitivity, n_bins)
    data = prepare(
        y_true,
        {"y_score": y_score},
        sensitive_features,
        metrics,
        params,
        intersections=intersections,
        pos_label=pos_label,
        caller="group_report",
        n_score_bins=n_score_bins,
    )
    check_bootstrap(n_bootstrap, confidence_level, stratify)
    if proportion_interval not in PROPORTION_INTERVALS:
        raise ValueError(
            f"proportion_interval must be one of {list(PROPORTION_INTERVALS)}, got "
            f"{plain(proportion_interval)!r}; 'wilson' for proportions of few counts."
        )
    y, scores, groups, metrics, cells, codes = data
    evaluation = evaluate(
        y,
        scores,
        groups,
        metrics,
        params,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        n_jobs=n_jobs,
        stratify=stratify,
        cells=cells,
    )
    frame = long_frame(
        groups,
        metrics,
        evaluation,
        0,
        confidence_level,
        (min_group_size, min_events),
        wilson=proportion_interval == "wilson",
    )
    weighted = None if cells is None else (cells[0], cells[1][0]["score"])
    calibration = calibration_bins(y, scores[0], groups, n_bins, weighted)
    replicates = evaluation.replicates[:, 0]
    bound = binning_bound(y, groups, cells, codes, params)[0]
    return GroupReport(frame, replicates, calibration, confidence_level, bound)


def prepare(
    y_true,
    scores,
    sensitive_features,
    metrics,
    params,
    *,
    intersections,
    pos_label,
    caller,
    n_score_bins=N_SCORE_BINS,
):
    """Validate inputs shared by the evaluation functions.

    Dask inputs are reduced to weighted cells on the workers
    (:func:`~healthbalance.metrics._dask.reduce_to_cells`).

    Returns
    -------
    y, scores, groups, metrics, cells, codes
        0/1 outcome, list of score arrays, :class:`ReportedGroups`, checked
        metrics; for Dask input the cells' ``(weights, means)`` for
        :func:`~healthbalance.metrics._engine.evaluate` and each model's bin codes
        (both ``None`` for rows).
    """
    if any(is_dask(x) for x in (y_true, sensitive_features, *scores.values())):
        metrics = check_metrics(metrics)
        _check_params(params, metrics)
        return prepare_cells(
            y_true,
            scores,
            sensitive_features,
            metrics,
            params,
            probability=_probability(metrics),
            intersections=intersections,
            pos_label=pos_label,
            caller=caller,
            n_score_bins=n_score_bins,
        )
    y = check_target(y_true, pos_label=pos_label)
    metrics = check_metrics(metrics)
    _check_params(params, metrics)
    probability = _probability(metrics)
    arrays = [
        check_scores(s, y.size, name=name, probabilities=probability)
        for name, s in scores.items()
    ]
    frame = resolve_sensitive_features(y, sensitive_features, caller=caller)
    groups = build_groups(frame, intersections=intersections)
    return y, arrays, groups, metrics, None, None


def _probability(metrics):
    """Names of the requested metrics that read scores as probabilities."""
    return [n for n, m in metrics.items() if m in METRICS and METRICS[m].probability]


def _check_params(params, metrics):
    t = params.threshold
    if not isinstance(t, numbers.Real) or not 0 < t < 1:
        raise ValueError(
            f"threshold must be a probability in (0, 1), got {plain(t)!r}; e.g. 0.5."
        )
    for name in ("target_specificity", "target_sensitivity"):
        value = getattr(params, name)
        if not isinstance(value, numbers.Real) or not 0 < value <= 1:
            raise ValueError(
                f"{name} must be in (0, 1], got {plain(value)!r}; e.g. 0.9."
            )
    if not isinstance(params.n_bins, numbers.Integral) or params.n_bins < 1:
        raise ValueError(
            f"n_bins must be a positive integer, got {plain(params.n_bins)!r}."
        )


def check_bootstrap(n_bootstrap, confidence_level, stratify):
    """Raise unless the bootstrap options are valid."""
    if not isinstance(stratify, str) or stratify not in STRATIFY:
        raise ValueError(
            f"stratify must be one of {list(STRATIFY)}, got {stratify!r}; "
            "'intersection' keeps every group's size, 'none' resamples all rows."
        )
    if not isinstance(n_bootstrap, numbers.Integral) or n_bootstrap < 0:
        raise ValueError(
            f"n_bootstrap must be a non-negative integer, got {plain(n_bootstrap)!r}; "
            "e.g. 1000 (0 for point estimates only)."
        )
    check_confidence_level(confidence_level)


def long_frame(groups, metrics, evaluation, m, confidence_level, minimums, wilson):
    """Build the tidy long frame of model ``m`` of an evaluation.

    ``minimums`` is ``(min_group_size, min_events)``; with ``wilson``, the
    proportions get Wilson intervals (their failed replicates then flag nothing).
    """
    min_size, min_events = minimums
    low, high = percentile_interval(evaluation.replicates[:, m], confidence_level)
    if wilson:
        low, high = _with_wilson(low, high, evaluation.proportions[m], confidence_level)
        scored = ~np.isnan(evaluation.proportions[m, ..., 1])
    failed = np.isnan(evaluation.replicates[:, m]).sum(axis=0)
    n_bootstrap = evaluation.replicates.shape[0]
    records, unreliable = [], []
    for j, (attribute, group) in enumerate(
        zip(groups.attribute, groups.group, strict=True)
    ):
        n, events = int(evaluation.sizes[j]), int(evaluation.n_events[j])
        smallest = smallest_nonzero(evaluation.confusion[m, j])
        reliable, reason = reliability(n, events, min_size, min_events)
        if not reliable:
            unreliable.append(f"{attribute}={group!r} ({reason})")
        for i, name in enumerate(metrics):
            metric = metrics[name]
            interval = not (metric in METRICS and not METRICS[metric].interval)
            confusion = metric in METRICS and "confusion" in METRICS[metric].statistics
            n_failed = int(failed[j, i]) if interval else 0
            failures = failure_reason(
                name, evaluation.point[m, j, i], n_failed, n_bootstrap
            )
            if wilson and scored[j, i]:
                failures = ""
            if failures:
                unreliable.append(f"{attribute}={group!r} ({failures})")
            why = "; ".join(
                r for r in (reason, evaluation.reasons[m, j, i], failures) if r
            )
            records.append(
                (
                    attribute,
                    group,
                    name,
                    evaluation.point[m, j, i],
                    low[j, i] if interval else np.nan,
                    high[j, i] if interval else np.nan,
                    n,
                    events,
                    smallest if confusion else pd.NA,
                    n_failed,
                    reliable and not failures,
                    why,
                )
            )
    _warn_unreliable(unreliable)
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    counts = ("n", "n_events", "smallest_confusion_count", "n_failed")
    return frame.astype({**dict.fromkeys(counts, "Int64"), "reliable": bool})


def _with_wilson(low, high, proportions, confidence_level):
    """Replace the intervals of the proportions by Wilson intervals (scipy)."""
    low, high = low.copy(), high.copy()
    for j, i in zip(*np.nonzero(~np.isnan(proportions[..., 1])), strict=True):
        successes, trials = proportions[j, i].round().astype(int)
        low[j, i] = high[j, i] = np.nan  # undefined without trials
        if trials > 0:
            ci = binomtest(successes, trials).proportion_ci(
                confidence_level, method="wilson"
            )
            low[j, i], high[j, i] = ci.low, ci.high
    return low, high


def failure_reason(name, point, n_failed, n_bootstrap):
    """Why a defined metric's interval is unreliable: too many failed replicates.

    The reason gives the share allowed, not the number of failed replicates: that
    number hints at the group's events, and is masked with them (column
    ``n_failed``) when they are few.
    """
    if np.isnan(point) or n_failed <= MAX_FAILED_SHARE * n_bootstrap:
        return ""
    return (
        f"{name} undefined in more than {MAX_FAILED_SHARE:.0%} of the bootstrap "
        "replicates (n_failed); its interval uses the others only"
    )


def _warn_unreliable(unreliable):
    """Warn once, naming each flagged group once (entries: "attr='g' (reason)")."""
    unreliable = list(dict.fromkeys(unreliable))
    if unreliable:
        groups = {entry.split(" (", 1)[0] for entry in unreliable}
        shown = "; ".join(unreliable[:5]) + ("; ..." if len(unreliable) > 5 else "")
        count = f"{len(groups)} group{'s are' if len(groups) > 1 else ' is'}"
        warn(
            f"{count} flagged reliable=False: {shown}. Their estimates are reported "
            "but uncertain; see the reason column of to_frame().",
            SmallGroupWarning,
        )


def calibration_bins(y, score, groups, n_bins, cells=None):
    """Binned observed and predicted risk per group (no row-level data).

    ``cells`` is ``(weights, mean_score)`` when the rows are weighted cells whose
    ``score`` is a bin's stand-in (it still falls in the right calibration bin).
    """
    inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    bins = np.searchsorted(inner, np.clip(score, 0, 1), side="left")
    weights, mean_score = (None, score) if cells is None else cells
    frames = []
    for attribute, group, rows in zip(
        groups.attribute, groups.group, groups.rows, strict=True
    ):
        w = None if weights is None else weights[rows]
        count = np.bincount(bins[rows], w, minlength=n_bins)
        w = 1 if w is None else w
        with np.errstate(divide="ignore", invalid="ignore"):
            predicted = np.bincount(bins[rows], w * mean_score[rows], n_bins) / count
            observed = np.bincount(bins[rows], w * y[rows], n_bins) / count
        count = count.astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "attribute": attribute,
                    "group": group,
                    "bin": np.arange(n_bins),
                    "n": count,
                    "mean_predicted": predicted,
                    "observed": observed,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
