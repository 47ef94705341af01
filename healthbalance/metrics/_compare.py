"""``compare_models``: paired bootstrap differences between models, per group."""

import numpy as np
import pandas as pd

from healthbalance._small_counts import (
    MIN_EVENTS,
    MIN_GROUP_SIZE,
    reliability,
    smallest_nonzero,
)
from healthbalance.metrics._binning import (
    BOUNDED,
    N_JOINT_SCORE_BINS,
    binning_bound,
)
from healthbalance.metrics._count_batch import MetricParams
from healthbalance.metrics._engine import evaluate
from healthbalance.metrics._group_report import (
    _warn_unreliable,
    check_bootstrap,
    failure_reason,
    prepare,
)
from healthbalance.metrics._registry import METRICS
from healthbalance.utils._bootstrap import percentile_interval
from healthbalance.utils._validation import plain

__all__ = ["compare_models"]

COLUMNS = [
    "attribute",
    "group",
    "metric",
    "model",
    "reference",
    "estimate",
    "reference_estimate",
    "difference",
    "ci_low",
    "ci_high",
    "n",
    "n_events",
    "smallest_confusion_count",
    "n_failed",
    "reliable",
    "reason",
]


def compare_models(
    y_true,
    scores,
    *,
    sensitive_features,
    reference,
    metrics=("roc_auc", "average_precision", "brier_score", "calibration_slope"),
    threshold=0.5,
    target_specificity=0.9,
    target_sensitivity=0.9,
    n_bins=10,
    n_score_bins=N_JOINT_SCORE_BINS,
    n_bootstrap=1000,
    confidence_level=0.95,
    intersections="pairwise",
    min_group_size=MIN_GROUP_SIZE,
    min_events=MIN_EVENTS,
    pos_label=None,
    stratify="intersection",
    random_state=None,
    n_jobs=None,
):
    """Compare models against a reference model per group, with paired bootstrap CIs.

    All models are evaluated on the same bootstrap replicates (the same resample
    counts of the same patients, drawn with the design of :func:`group_report`), so
    the interval of a difference reflects the uncertainty of the *difference*, which
    is much narrower than what two independent intervals suggest.

    Dask Series / DataFrames (partitioned alike) are evaluated on the workers, as
    in :func:`group_report`, from *joint* cells: the cells are keyed by the score
    bins of all models at once, so each cell is a set of patients with one count
    that every model reads, and a replicate (the multinomial redraw of each
    stratum's patients over its cells) is shared by the models exactly as the
    resample counts of rows are. A Poisson bootstrap (per-row weights drawn on the
    workers) was not chosen: it is another resampling design (stratum sizes no
    longer fixed) and needs a pass over the data per batch of replicates, where
    joint cells need one. The cost is more cells (up to the product of the
    models' bins where the models disagree). The achieved bounds of the binning
    are in ``frame.attrs["binning_bound"]`` (one record per model and group).

    Parameters
    ----------
    y_true : array-like or Dask Series of shape (n_samples,)
        Binary outcome.
    scores : dict of str to array-like or Dask Series of shape (n_samples,)
        Predicted probabilities of each model, by model name.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership, as in :func:`group_report`.
    reference : str
        Name (key of ``scores``) of the reference model.
    metrics : str, callable, list or dict, default=("roc_auc", \
"average_precision", "brier_score", "calibration_slope")
        Metrics to compare, as in :func:`group_report` (None for all).
    threshold, target_specificity, target_sensitivity, n_bins : see group_report
        Metric options.
    n_score_bins : int, default=4096
        Dask input only: score bins per model, as in :func:`group_report`; fewer
        than there, as the joint cells multiply the models' bins where the
        models disagree (on 1M rows of two models, 4,096 bins made 790,000 cells
        and differences within 2e-6 for the AUROC, 9e-5 for the AP).
    n_bootstrap : int, default=1000
        Number of bootstrap replicates.
    confidence_level : float, default=0.95
        Coverage of the percentile intervals of the differences.
    intersections : {"pairwise", "all"} or bool, default="pairwise"
        With several attributes, also compare on their intersections: every
        two-way intersection, the one of all attributes, or none (``False``); see
        :func:`group_report`.
    min_group_size, min_events : int, default=30, 10
        Groups below them are flagged ``reliable=False``.
    pos_label : int, float, bool or str, default=None
        Label of the event; needed for string labels.
    stratify : {"intersection", "none"}, default="intersection"
        Bootstrap design, as in :func:`group_report`.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads; the result does not depend on it.

    Returns
    -------
    frame : pandas.DataFrame
        One row per group, metric and non-reference model, with columns
        ``attribute``, ``group``, ``metric``, ``model``, ``reference``, ``estimate``,
        ``reference_estimate``, ``difference`` (model minus reference), ``ci_low``,
        ``ci_high`` (of the difference), ``n``, ``n_events``,
        ``smallest_confusion_count`` (for metrics computed from the confusion
        counts, the smallest non-zero TP, FP, FN or TN of either model, which
        masks the row on export; ``<NA>`` otherwise), ``n_failed`` (the
        replicates where the difference could not be computed, because either
        model's metric was undefined), ``reliable`` and ``reason`` (why a group or
        an interval is unreliable or a value undefined, "" if none). As in
        :meth:`GroupReport.to_frame`, a row whose difference failed in more than
        1% of the replicates is ``reliable=False``: its interval comes from the
        other replicates only. ``frame.attrs["binning_bound"]`` holds the bounds
        of the binning errors as records (``pd.DataFrame(frame.attrs[
        "binning_bound"])`` has the columns ``model``, ``attribute``, ``group``
        and those of :attr:`GroupReport.binning_bound`; zero for in-memory
        input), as
        :attr:`GroupReport.binning_bound`. Records, not a DataFrame: pandas
        compares the ``attrs`` of frames it concatenates.

    See Also
    --------
    group_report : Per-group metrics of one model.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import compare_models
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> good = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 400), 0, 1)
    >>> noisy = np.clip(good + rng.normal(0, 0.3, 400), 0, 1)
    >>> frame = compare_models(y, {"good": good, "noisy": noisy}, reference="good",
    ...                        sensitive_features=rng.choice(["F", "M"], 400),
    ...                        metrics="roc_auc", n_bootstrap=100, random_state=0)
    >>> frame[["group", "model", "reference"]].values.tolist()
    [['overall', 'noisy', 'good'], ['F', 'noisy', 'good'], ['M', 'noisy', 'good']]
    >>> bool((frame["ci_high"] < 0).all())  # the noisy model is worse everywhere
    True
    """
    if not isinstance(scores, dict) or len(scores) < 2:
        raise TypeError(
            "scores must be a dict {model name: predicted probabilities} with at least "
            f"two models, got {type(scores).__name__}."
        )
    if reference not in scores:
        raise ValueError(
            f"reference={plain(reference)!r} is not a key of scores; use one of "
            f"{list(scores)}."
        )
    params = MetricParams(threshold, target_specificity, target_sensitivity, n_bins)
    names = [reference] + [name for name in scores if name != reference]
    y, arrays, groups, metrics, cells, codes = prepare(
        y_true,
        {f"scores[{name!r}]": scores[name] for name in names},
        sensitive_features,
        metrics,
        params,
        intersections=intersections,
        pos_label=pos_label,
        caller="compare_models",
        n_score_bins=n_score_bins,
    )
    check_bootstrap(n_bootstrap, confidence_level, stratify)
    evaluation = evaluate(
        y,
        arrays,
        groups,
        metrics,
        params,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        n_jobs=n_jobs,
        stratify=stratify,
        cells=cells,
    )
    differences = evaluation.replicates[:, 1:] - evaluation.replicates[:, :1]
    interval = percentile_interval(differences, confidence_level)
    failed = _failed(differences, metrics)
    records, unreliable = [], []
    for j, (attribute, group) in enumerate(
        zip(groups.attribute, groups.group, strict=True)
    ):
        n, events = int(evaluation.sizes[j]), int(evaluation.n_events[j])
        reliable, reason = reliability(n, events, min_group_size, min_events)
        if not reliable:
            unreliable.append(f"{attribute}={group!r} ({reason})")
        keys = (attribute, group, n, events, reliable, reason)
        rows = _records(keys, j, metrics, names, evaluation, interval, failed)
        unreliable += [f"{attribute}={group!r} ({r[-1]})" for r in rows if r[-1]]
        records += [r[:-1] for r in rows]
    _warn_unreliable(unreliable)
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    counts = ("n", "n_events", "smallest_confusion_count", "n_failed")
    frame = frame.astype({**dict.fromkeys(counts, "Int64"), "reliable": np.bool_})
    bounds = binning_bound(y, groups, cells, codes, params, len(names))
    bound = pd.concat(
        [b.assign(model=name) for b, name in zip(bounds, names, strict=True)],
        ignore_index=True,
    )
    columns = ["model", "attribute", "group", *BOUNDED]
    frame.attrs["binning_bound"] = bound[columns].to_dict("records")
    return frame


def _failed(differences, metrics):
    """Failed replicates per model, group and metric (0 for the counts)."""
    failed = np.isnan(differences).sum(axis=0)
    for i, metric in enumerate(metrics.values()):
        if isinstance(metric, str) and not METRICS[metric].interval:
            failed[..., i] = 0
    return failed


def _records(keys, j, metrics, names, evaluation, interval, failed):
    """Rows of group ``j`` (each with its failure reason last)."""
    attribute, group, n, events, reliable, reason = keys
    (low, high), point = interval, evaluation.point
    n_bootstrap = evaluation.replicates.shape[0]
    rows = []
    for i, (metric, builtin) in enumerate(metrics.items()):
        confusion = builtin in METRICS and "confusion" in METRICS[builtin].statistics
        for m, model in enumerate(names[1:]):
            both = evaluation.confusion[[0, m + 1], j]
            smallest = smallest_nonzero(both) if confusion else pd.NA
            difference = point[m + 1, j, i] - point[0, j, i]
            n_failed = int(failed[m, j, i])
            failures = failure_reason(metric, difference, n_failed, n_bootstrap)
            undefined = (evaluation.reasons[m + 1, j, i], evaluation.reasons[0, j, i])
            why = "; ".join(
                dict.fromkeys(r for r in (reason, *undefined, failures) if r)
            )
            rows.append(
                (attribute, group, metric, model, names[0], point[m + 1, j, i],
                 point[0, j, i], difference, low[m, j, i], high[m, j, i], n,
                 events, smallest, n_failed, reliable and not failures, why, failures)
            )  # fmt: skip
    return rows
