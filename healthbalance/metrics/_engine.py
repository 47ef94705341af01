"""Point estimates and paired bootstrap replicates of metrics per group.

One set of resample counts per replicate is drawn for all groups, metrics and models,
so that differences between groups and between models are paired. The design
(``stratify``) redraws rows within the finest intersection of the attributes or
across all rows; outcomes are never held fixed (see ``STRATIFY``).
"""

import numpy as np

from healthbalance.metrics._count_batch import CountBatch, SortedGroup
from healthbalance.metrics._merged_batch import MAX_PARTS, MergedBatch, MergedGroup
from healthbalance.metrics._registry import METRICS
from healthbalance.utils._bootstrap import StrataLayout, bootstrap_chunks

__all__ = ["STRATIFY", "Evaluation", "evaluate"]

# "intersection": group sizes fixed, outcomes free; "none": plain row resampling.
STRATIFY = ("intersection", "none")


class Evaluation:
    """Metric values of several models on the reported groups.

    Attributes
    ----------
    point : ndarray of shape (n_models, n_groups, n_metrics)
        Point estimates.
    replicates : ndarray of shape (n_bootstrap, n_models, n_groups, n_metrics)
        Bootstrap replicates (NaN where undefined).
    reasons : ndarray of shape (n_models, n_groups, n_metrics), dtype=object
        Why a point estimate is NaN ("" when defined).
    n_events : ndarray of shape (n_groups,)
        Number of events of each group.
    proportions : ndarray of shape (n_models, n_groups, n_metrics, 2)
        Successes and trials of the point estimate of each proportion (the
        registry's ``proportion``; NaN for the other metrics).
    confusion : ndarray of shape (n_models, n_groups, 4)
        ``(tp, fp, fn, tn)`` of the point estimate at the threshold, which fix
        every metric whose registry ``statistics`` contain ``"confusion"``.
    sizes : ndarray of shape (n_groups,)
        Number of patients of each group.
    """

    def __init__(
        self, point, replicates, reasons, n_events, proportions, confusion, sizes
    ):
        self.n_events = n_events
        self.sizes = sizes
        self.proportions = proportions
        self.confusion = confusion
        self.point = point
        self.replicates = replicates
        self.reasons = reasons


class _Setup:
    """Data of one evaluation arranged in stratum order, sorted once per group.

    Rows may be weighted cells (``weights``, with the per-row ``means`` of each
    model, see :class:`~healthbalance.metrics._count_batch.SortedGroup`): the point
    estimate counts each cell ``weight`` times and the bootstrap redraws the
    patients of each stratum over its cells.
    """

    def __init__(self, y, scores, groups, metrics, params, stratify, cells=None):
        # ties broken by outcome: tied rows in the same place are interchangeable
        self.order = np.lexsort((y, scores[0], groups.codes))
        weights, means = (None, [None] * len(scores)) if cells is None else cells
        self.weights = None if weights is None else weights[self.order]
        self.means = [
            None if m is None else {k: v[self.order] for k, v in m.items()}
            for m in means
        ]
        self.layout = StrataLayout(groups.strata(stratify)[self.order], self.weights)
        inverse = np.empty_like(self.order)
        inverse[self.order] = np.arange(self.order.size)
        self.y = y[self.order]
        self.scores = [s[self.order] for s in scores]
        self.positions = [np.sort(inverse[rows]) for rows in groups.rows]
        self.params = params
        self.sorted = [
            [self._group(p, m) for p in self.positions] for m in range(len(scores))
        ]
        self.metrics = metrics
        self._plan_parts(groups.codes[self.order], params)

    def _plan_parts(self, intersections, params):
        """Split every group into its intersection groups (sorted once)."""
        bounds = np.flatnonzero(np.diff(intersections)) + 1
        part_positions = np.split(np.arange(intersections.size), bounds)
        part_codes = intersections[np.r_[0, bounds]] if intersections.size else bounds
        self.intersections = [
            [self._group(p, m) for p in part_positions] for m in range(len(self.scores))
        ]
        self.parts = [
            np.searchsorted(part_codes, np.unique(intersections[p]))
            for p in self.positions
        ]
        self.merged = [
            [
                MergedGroup([parts_m[c] for c in parts], whole)
                if 1 < parts.size <= MAX_PARTS
                else None
                for parts, whole in zip(self.parts, sorted_m, strict=True)
            ]
            for parts_m, sorted_m in zip(self.intersections, self.sorted, strict=True)
        ]

    def _group(self, positions, m):
        return SortedGroup(
            positions, self.y, self.scores[m], self.params, self.weights, self.means[m]
        )

    def values(self, counts):
        """Metric values of shape (n_replicates, n_models, n_groups, n_metrics)."""
        k = 1 if counts is None else counts.shape[0]
        shape = (k, len(self.sorted), len(self.positions), len(self.metrics))
        out = np.empty(shape)
        for m in range(len(self.sorted)):
            part_batches = {}
            for j in range(len(self.positions)):
                batch = self._batch(m, j, counts, part_batches)
                for i, metric in enumerate(self.metrics.values()):
                    out[:, m, j, i] = self._metric(metric, batch, m, j, counts)
        return out

    def _batch(self, m, j, counts, part_batches):
        """Return group j's batch: its intersection's, merged from them, or its own."""
        parts = self.parts[j]
        if parts.size > 1 and self.merged[m][j] is None:
            return CountBatch(self.sorted[m][j], counts)
        for c in parts:
            if c not in part_batches:
                part_batches[c] = CountBatch(self.intersections[m][c], counts)
        if parts.size == 1:
            return part_batches[parts[0]]
        parts = [part_batches[c] for c in parts]
        return MergedBatch(self.merged[m][j], parts, counts)

    def _metric(self, metric, batch, m, j, counts):
        if isinstance(metric, str):
            spec = METRICS[metric]
            if isinstance(batch, MergedBatch) and not spec.mergeable:
                batch = batch.whole
            return spec.function(batch)
        rows = self.positions[j]
        if self.weights is not None:
            raise ValueError(
                f"metric {metric!r} is a callable, which needs the rows; binned "
                "data (Dask input) has none: compute it on a sample of the rows."
            )
        if counts is None:
            return [_call(metric, self.y[rows], self.scores[m][rows])]
        values = []
        for replicate in counts[:, rows].astype(np.int64):
            drawn = np.repeat(rows, replicate)
            values.append(_call(metric, self.y[drawn], self.scores[m][drawn]))
        return values


def _call(metric, y, score):
    try:
        return float(metric(y, score))
    except ValueError:
        return np.nan


def evaluate(
    y,
    scores,
    groups,
    metrics,
    params,
    *,
    n_bootstrap,
    random_state,
    n_jobs,
    stratify="intersection",
    cells=None,
):
    """Evaluate ``metrics`` of every model on every reported group.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        0/1 outcome.
    scores : list of ndarray of shape (n_samples,)
        Scores of each model.
    groups : ReportedGroups
        Groups and their intersection codes.
    metrics : dict
        Reported name -> built-in metric name or callable.
    params : MetricParams
        Threshold and operating points.
    n_bootstrap : int
        Number of replicates (0 for point estimates only).
    random_state : int, RandomState instance or None
        Seed of the replicates.
    n_jobs : int or None
        Threads for the replicates; results do not depend on it.
    stratify : {"intersection", "none"}, default="intersection"
        Resampling design (:meth:`ReportedGroups.strata`).
    cells : tuple or None, default=None
        ``(weights, means)`` when the rows are weighted cells of binned rows:
        the patients of each row, and per model a dict of per-row means
        (:class:`~healthbalance.metrics._count_batch.SortedGroup`). ``None`` for
        one patient per row.

    Returns
    -------
    evaluation : Evaluation
    """
    setup = _Setup(y, scores, groups, metrics, params, stratify, cells)
    point = setup.values(None)[0]
    if n_bootstrap:
        replicates = bootstrap_chunks(
            lambda rng, k: setup.values(setup.layout.draw_counts(rng, k)),
            y.size,
            n_bootstrap,
            random_state=random_state,
            n_jobs=n_jobs,
        )
    else:
        replicates = np.empty((0, *point.shape))
    reasons = _reasons(setup, point)
    if cells is None:
        n_events = np.array([int(y[rows].sum()) for rows in groups.rows])
        sizes = np.array([rows.size for rows in groups.rows])
    else:
        weights = cells[0]
        n_events = np.array([int(weights[rows] @ y[rows]) for rows in groups.rows])
        sizes = np.array([int(weights[rows].sum()) for rows in groups.rows])
    return Evaluation(
        point,
        replicates,
        reasons,
        n_events,
        _proportions(setup),
        _confusion(setup),
        sizes,
    )


def _confusion(setup):
    """``(tp, fp, fn, tn)`` of every model and group's point estimate."""
    return np.array(
        [
            [[int(c[0]) for c in CountBatch(group).confusion] for group in groups]
            for groups in setup.sorted
        ],
        dtype=np.int64,
    ).reshape(len(setup.sorted), len(setup.positions), 4)


def _proportions(setup):
    """Successes and trials of every proportion's point estimate, from its counts."""
    shape = (len(setup.sorted), len(setup.positions), len(setup.metrics), 2)
    out = np.full(shape, np.nan)
    for i, metric in enumerate(setup.metrics.values()):
        if not (isinstance(metric, str) and METRICS[metric].proportion):
            continue
        for m, model_groups in enumerate(setup.sorted):
            for j, group in enumerate(model_groups):
                counts = METRICS[metric].proportion(CountBatch(group))
                out[m, j, i] = [float(np.asarray(c).ravel()[0]) for c in counts]
    return out


def _reasons(setup, point):
    reasons = np.full(point.shape, "", dtype=object)
    for m, model_groups in enumerate(setup.sorted):
        for j, group in enumerate(model_groups):
            for i, (name, metric) in enumerate(setup.metrics.items()):
                if np.isnan(point[m, j, i]):
                    reasons[m, j, i] = _why_undefined(name, metric, group, setup.params)
    return reasons


def _why_undefined(name, metric, group, params):
    """Why ``metric`` is NaN for ``group``: the registry's text (callables: generic)."""
    if not isinstance(metric, str):
        return f"{name} undefined for this group"
    n_events, n_non_events = group.p_pos.size, group.p_neg.size
    return METRICS[metric].why_undefined(name, n_events, n_non_events, params)
