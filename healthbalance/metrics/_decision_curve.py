"""``decision_curve``: net benefit per group at many thresholds, with paired CIs.

Net benefit is the registry's ``net_benefit`` (:mod:`healthbalance.metrics._registry`)
evaluated at every threshold at once: each intersection group is sorted once (a
:class:`~healthbalance.metrics._count_batch.SortedGroup` per model), a threshold's
true and false positives are read from the cumulative resample counts of a
:class:`~healthbalance.metrics._count_batch.CountBatch` at the position found by
``searchsorted``, and a reported group adds up the counts of its intersections. The
replicates are those of :func:`group_report` (the same row order, strata and
seeds), so that curves of groups, thresholds and models are paired with each
other and with a report of the same data.
"""

from types import SimpleNamespace

import numpy as np

from healthbalance._small_counts import MIN_EVENTS, MIN_GROUP_SIZE
from healthbalance.metrics._count_batch import (
    CountBatch,
    MetricParams,
    SortedGroup,
    take_rows,
)
from healthbalance.metrics._dask import require_rows
from healthbalance.metrics._decision_frame import DecisionCurve, curve_frame
from healthbalance.metrics._group_report import check_bootstrap, prepare
from healthbalance.metrics._registry import METRICS
from healthbalance.utils._bootstrap import StrataLayout, bootstrap_chunks
from healthbalance.utils._validation import plain

__all__ = ["decision_curve"]

DEFAULT_THRESHOLDS = np.round(np.arange(1, 100) / 100, 2)


def decision_curve(
    y_true,
    y_score,
    *,
    sensitive_features,
    thresholds=None,
    reference=None,
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
    """Decision curves (net benefit against threshold) per group, with bootstrap CIs.

    The net benefit of treating the patients whose score is at least a threshold
    ``t`` is ``TP/n - FP/n * t / (1 - t)`` (Vickers & Elkin, 2006), the registry's
    ``net_benefit`` of :func:`group_report`; treating all gives ``treat_all``,
    treating none 0. Curves are drawn for all patients (``overall``), the groups of
    each attribute and their intersections, exactly as in :func:`group_report`,
    with percentile intervals from the same paired bootstrap: one set of
    replicates serves every group, threshold and model.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary outcome.
    y_score : array-like of shape (n_samples,) or dict
        Predicted risk, or a dict ``{model name: risk}`` of several models.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership, as in :func:`group_report`.
    thresholds : array-like of float or None, default=None
        Threshold probabilities in (0, 1); 0.01 to 0.99 in steps of 0.01 if None.
    reference : str or None, default=None
        With a dict of models, the key of the reference model: the frame then
        holds each model's paired difference in net benefit to it, with intervals
        (the reference's rows first; the replicates are those of
        :func:`compare_models` with the same reference and seed).
    n_bootstrap : int, default=1000
        Number of bootstrap replicates; 0 for point estimates only.
    confidence_level : float, default=0.95
        Coverage of the percentile intervals.
    intersections : {"pairwise", "all"} or bool, default="pairwise"
        Intersections of several attributes, as in :func:`group_report`.
    min_group_size : int, default=30
        Groups with fewer patients are flagged ``reliable=False``.
    min_events : int, default=10
        Groups with fewer events (or non-events) are flagged too.
    pos_label : int, float, bool or str, default=None
        Label of the event; needed for string labels.
    stratify : {"intersection", "none"}, default="intersection"
        Bootstrap design, as in :func:`group_report`.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads evaluating the replicates; the result does not depend on it.

    Returns
    -------
    curve : DecisionCurve
        Use :meth:`DecisionCurve.to_frame` for the tidy table and
        :meth:`DecisionCurve.plot` for the figure.

    Warns
    -----
    SmallGroupWarning
        Naming the groups that are flagged unreliable.

    See Also
    --------
    group_report : Net benefit and every other metric at one threshold.

    References
    ----------
    .. [1] Vickers, A. J. and Elkin, E. B. (2006). "Decision curve analysis: a novel
       method for evaluating prediction models". Medical Decision Making, 26(6).

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import decision_curve
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.uniform(0, 0.6, 400)
    >>> y = rng.uniform(size=400) < risk
    >>> sex = rng.choice(["F", "M"], 400)
    >>> curve = decision_curve(y, risk, sensitive_features=sex,
    ...                        thresholds=[0.1, 0.2], n_bootstrap=50, random_state=0)
    >>> frame = curve.to_frame()
    >>> frame[["group", "threshold"]].values.tolist()
    [['overall', 0.1], ['overall', 0.2], ['F', 0.1], ['F', 0.2], ['M', 0.1], \
['M', 0.2]]
    >>> bool((frame["net_benefit"] > frame["treat_all"]).all())
    True
    """
    thresholds = _check_thresholds(thresholds)
    scores = _check_models(y_score, reference)
    reference = None if reference is None else str(reference)
    y, arrays, groups, _, cells, _ = prepare(
        y_true,
        scores,
        sensitive_features,
        ["net_benefit"],
        MetricParams(),
        intersections=intersections,
        pos_label=pos_label,
        caller="decision_curve",
    )
    instead = " or use group_report's net_benefit at one threshold"
    require_rows(cells, "decision_curve", instead)
    check_bootstrap(n_bootstrap, confidence_level, stratify)
    counts = _ThresholdCounts(y, arrays, groups, thresholds, stratify)
    point = counts.net_benefit(None)[0]
    replicates = np.empty((0, *point.shape))
    if n_bootstrap:
        replicates = bootstrap_chunks(
            counts.net_benefit,
            y.size,
            n_bootstrap,
            random_state=random_state,
            n_jobs=n_jobs,
        )
    frame = curve_frame(
        groups,
        counts,
        point,
        replicates,
        names=list(scores) if isinstance(y_score, dict) else None,
        reference=reference,
        confidence_level=confidence_level,
        minimums=(min_group_size, min_events),
    )
    return DecisionCurve(frame, replicates, thresholds, confidence_level, reference)


def _check_thresholds(thresholds):
    if thresholds is None:
        return DEFAULT_THRESHOLDS
    try:
        values = np.asarray(thresholds, dtype=float).ravel()
    except (TypeError, ValueError):
        values = np.array([])
    if values.size == 0 or not np.all((values > 0) & (values < 1)):
        raise ValueError(
            f"thresholds must be probabilities in (0, 1), got {plain(thresholds)!r}; "
            "e.g. np.arange(0.01, 0.5, 0.01), or None for 0.01 to 0.99."
        )
    return np.unique(values)


def _check_models(y_score, reference):
    if not isinstance(y_score, dict):
        if reference is not None:
            raise ValueError(
                f"reference={plain(reference)!r} needs y_score to be a dict of "
                "models; pass {name: scores} or reference=None."
            )
        return {"y_score": y_score}
    if not y_score:
        raise ValueError("y_score is an empty dict; pass {name: scores, ...}.")
    if reference is not None and reference not in y_score:
        raise ValueError(
            f"reference={plain(reference)!r} is not a key of y_score; use one of "
            f"{list(y_score)}."
        )
    names = list(y_score)
    if reference is not None:  # first, as in compare_models: it orders the rows
        names = [reference, *[name for name in names if name != reference]]
    return {str(name): y_score[name] for name in names}


class _Batch:
    """Confusion counts of groups at every threshold, read like a registry batch."""

    def __init__(self, tp, fp, n_pos, n_neg, thresholds):
        self.confusion = (tp, fp, n_pos - tp, n_neg - fp)
        self.n = n_pos + n_neg
        # the registry reads the threshold from the group's params: here an array
        self.group = SimpleNamespace(params=MetricParams(thresholds))


def _net_benefit(tp, fp, n_pos, n_neg, thresholds):
    """Return the registry's ``net_benefit`` at every threshold (broadcast)."""
    return METRICS["net_benefit"].function(_Batch(tp, fp, n_pos, n_neg, thresholds))


class _ThresholdCounts:
    """Rows in the order of :func:`group_report`'s engine, sorted once per part.

    Rows are ordered by intersection, then by the first model's score, then by
    outcome, and the strata are blocks of that order: the resample counts of a
    replicate are therefore those of :func:`group_report` with the same seed.
    """

    def __init__(self, y, scores, groups, thresholds, stratify):
        order = np.lexsort((y, scores[0], groups.codes))
        self.layout = StrataLayout(groups.strata(stratify)[order])
        self.thresholds = thresholds
        codes = groups.codes[order]
        bounds = np.flatnonzero(np.diff(codes)) + 1
        positions = np.split(np.arange(codes.size), bounds)
        part_codes = codes[np.r_[0, bounds]] if codes.size else bounds
        y = y[order]
        self.parts = [
            [SortedGroup(p, y, s[order], MetricParams()) for p in positions]
            for s in scores
        ]
        # the intersections that make up each reported group
        self.members = [
            np.searchsorted(part_codes, np.unique(groups.codes[rows]))
            for rows in groups.rows
        ]
        self.first = [
            [
                (
                    np.searchsorted(p.p_pos, thresholds, side="left"),
                    np.searchsorted(p.p_neg, thresholds, side="left"),
                )
                for p in parts
            ]
            for parts in self.parts
        ]
        self.point = self._counts(None)

    def _counts(self, counts):
        """``(tp, fp, n_pos, n_neg)`` of shape (k, n_models, n_groups, n_thresholds)."""
        k = 1 if counts is None else counts.shape[0]
        n_parts, n_t = len(self.parts[0]), self.thresholds.size
        part = np.zeros((4, k, len(self.parts), n_parts, n_t))
        for m, parts in enumerate(self.parts):
            for c, (group, (kp, kn)) in enumerate(
                zip(parts, self.first[m], strict=True)
            ):
                batch = CountBatch(group, counts)
                part[2, :, m, c] = batch.n_pos[:, None]
                part[3, :, m, c] = batch.n_neg[:, None]
                part[0, :, m, c] = part[2, :, m, c] - take_rows(batch.cum_pos, kp)
                part[1, :, m, c] = part[3, :, m, c] - take_rows(batch.cum_neg, kn)
        return np.stack([part[:, :, :, c].sum(axis=3) for c in self.members], axis=3)

    def net_benefit(self, rng, k=None):
        """Net benefit of shape (k, n_models, n_groups, n_thresholds).

        ``rng=None`` gives the point estimate (one replicate of unit counts).
        """
        counts = None if rng is None else self.layout.draw_counts(rng, k)
        tp, fp, n_pos, n_neg = self._counts(counts)
        return _net_benefit(tp, fp, n_pos, n_neg, self.thresholds)

    def treat_all(self):
        """Net benefit of treating every patient, (n_groups, n_thresholds)."""
        _, _, n_pos, n_neg = self.point[:, 0, 0]
        return _net_benefit(n_pos, n_neg, n_pos, n_neg, self.thresholds)
