"""``calibration_by_group``: smooth calibration curves per group, with bands."""

import itertools

import numpy as np
import pandas as pd

from healthbalance._small_counts import (
    MIN_EVENTS,
    MIN_GROUP_SIZE,
    OVERALL,
    SUPPRESS_BELOW,
    reliability,
    suppress,
    suppress_parts,
)
from healthbalance.metrics._calibration_error import cells
from healthbalance.metrics._count_batch import CountBatch, MetricParams
from healthbalance.metrics._dask import require_rows
from healthbalance.metrics._engine import _Setup
from healthbalance.metrics._group_report import (
    _warn_unreliable,
    check_bootstrap,
    prepare,
)
from healthbalance.metrics._smooth import LOESS_DEGREE, LOESS_SPAN, bins, loess, spline
from healthbalance.utils._bootstrap import bootstrap_chunks, percentile_interval
from healthbalance.utils._validation import plain

__all__ = ["CalibrationCurves", "calibration_by_group"]

METHODS = ("loess", "spline", "bins")
# the smooth curves are drawn on this grid, inside each group's central 98% of
# predictions (so that no patient's own prediction is shown)
GRID = np.round(np.linspace(0.01, 0.99, 99), 2)
_RANGE = (0.01, 0.99)
HISTOGRAM_BINS = 50
COLUMNS = [
    "attribute",
    "group",
    "predicted",
    "observed",
    "ci_low",
    "ci_high",
    "n",
    "n_events",
    "reliable",
    "reason",
]


def calibration_by_group(
    y_true,
    y_score,
    *,
    sensitive_features,
    method="loess",
    span=LOESS_SPAN,
    n_bins=10,
    n_bootstrap=200,
    confidence_level=0.95,
    intersections="pairwise",
    min_group_size=MIN_GROUP_SIZE,
    min_events=MIN_EVENTS,
    pos_label=None,
    stratify="intersection",
    random_state=None,
    n_jobs=None,
):
    """Calibration curves (observed against predicted risk) per group, with bands.

    The observed risk is smoothed on the predicted risk for all patients
    (``overall``), for the groups of each sensitive attribute and their
    intersections, as in :func:`group_report`. The pointwise bands are percentile
    intervals of the same bootstrap (patients redrawn within the finest
    intersection, outcomes free). The curves are read from the statistics of the
    evaluation engine, never from rows: in bootstrap replicates and in groups of
    more than 1,024 patients the smooth curves are fitted to bins of consecutive
    predictions (binning error below 2e-4; see the user guide).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary outcome.
    y_score : array-like of shape (n_samples,)
        Predicted probability of the event, in [0, 1].
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership, as in :func:`group_report`.
    method : {"loess", "spline", "bins"}, default="loess"
        ``"loess"``: local quadratic regression of the outcome on the predicted
        risk with tricube weights, each neighbourhood holding ``span`` of the
        group's patients (R's ``loess`` defaults, as Austin and Steyerberg (2019)
        use for the ICI); ``"spline"``: logistic regression of the outcome on a
        restricted cubic spline of ``logit(p)`` with 4 knots at Harrell's
        quantiles (5%, 35%, 65%, 95%); ``"bins"``: the event rate and mean
        prediction of ``n_bins`` equal-width bins of [0, 1], exactly
        :func:`sklearn.calibration.calibration_curve` (``strategy="uniform"``).
    span : float, default=0.75
        Share of the patients in each loess neighbourhood, in (0, 1].
    n_bins : int, default=10
        Number of bins of ``method="bins"``.
    n_bootstrap : int, default=200
        Number of bootstrap replicates of the bands; 0 for none.
    confidence_level : float, default=0.95
        Pointwise coverage of the bands.
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
    curves : CalibrationCurves
        Use :meth:`CalibrationCurves.to_frame` and :meth:`CalibrationCurves.plot`.

    See Also
    --------
    group_report : Metrics per group, among them ``ici``, ``e50``, ``e90``, ``emax``.
    sklearn.calibration.calibration_curve : Binned curve of one group.

    References
    ----------
    .. [1] P. C. Austin and E. W. Steyerberg, "The Integrated Calibration Index
       (ICI) and related metrics for quantifying the calibration of logistic
       regression models", Statistics in Medicine 38(21), 4051-4065, 2019.
    .. [2] B. Van Calster et al., "A calibration hierarchy for risk models was
       defined: from utopia to empirical data", Journal of Clinical
       Epidemiology 74, 167-176, 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import calibration_by_group
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.6, 400)
    >>> y = rng.binomial(1, p)
    >>> sex = rng.choice(["F", "M"], 400)
    >>> curves = calibration_by_group(y, p, sensitive_features=sex, n_bootstrap=50,
    ...                               random_state=0)
    >>> frame = curves.to_frame()
    >>> frame.columns.tolist()
    ['attribute', 'group', 'predicted', 'observed', 'ci_low', 'ci_high', 'n', \
'n_events', 'reliable', 'reason']
    >>> sorted(frame["group"].unique())
    ['F', 'M', 'overall']
    """
    _check_method(method, span)
    params = MetricParams(n_bins=n_bins)
    y, scores, groups, _, cells, _ = prepare(
        y_true,
        {"y_score": y_score},
        sensitive_features,
        ["ici"],  # reads the scores as probabilities
        params,
        intersections=intersections,
        pos_label=pos_label,
        caller="calibration_by_group",
    )
    check_bootstrap(n_bootstrap, confidence_level, stratify)
    require_rows(
        cells,
        "calibration_by_group",
        ", or read ici, e50, e90 and emax from group_report, which takes Dask input",
    )
    setup = _Setup(y, scores, groups, {}, params, stratify)
    curve = _Curve(method, span, n_bins)
    point = curve.values(setup, None)
    if n_bootstrap:
        replicates = bootstrap_chunks(
            lambda rng, k: curve.values(setup, setup.layout.draw_counts(rng, k))[1],
            y.size,
            n_bootstrap,
            random_state=random_state,
            n_jobs=n_jobs,
        )
    else:
        replicates = np.empty((0, *point[1].shape[1:]))
    low, high = percentile_interval(replicates, confidence_level)
    frame = _frame(groups, y, point, low, high, (min_group_size, min_events))
    histograms = _histograms(scores[0], groups)
    return CalibrationCurves(frame, histograms, method, confidence_level, n_bins)


def _check_method(method, span):
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"method must be one of {list(METHODS)}, got {plain(method)!r}; "
            "'loess' is the smooth curve of Austin and Steyerberg (2019)."
        )
    if not isinstance(span, int | float) or not 0 < span <= 1:
        raise ValueError(
            f"span must be a share of the patients in (0, 1], got {plain(span)!r}; "
            "e.g. 0.75 (R's loess default)."
        )


class _Curve:
    """The curve of every group in a batch of replicates."""

    def __init__(self, method, span, n_bins):
        self.method, self.span, self.n_bins = method, span, n_bins

    def values(self, setup, counts):
        """Return predicted, observed and bin counts, (k, n_groups, n_points)."""
        out = [self._group(CountBatch(g, counts)) for g in setup.sorted[0]]
        return tuple(np.stack([o[i] for o in out], axis=1) for i in range(3))

    def _group(self, b):
        k = 1 if b.is_point else b.cpos.shape[0]
        if self.method == "bins":
            x = np.concatenate([b.group.p_pos, b.group.p_neg])
            w = np.concatenate([b.cpos, b.cneg], axis=1)
            e = np.concatenate([b.cpos, np.zeros_like(b.cneg)], axis=1)
            return bins(x, w, e, self.n_bins)
        p, w, e = cells(b)
        observed = np.full((k, GRID.size), np.nan)
        if p.size:
            if self.method == "loess":
                fit = loess(p, w, e, GRID, span=self.span, degree=LOESS_DEGREE)
            else:
                fit = spline(p, w, e, GRID)
            inside = _inside(b.group)
            observed[:, inside] = fit[:, inside]
        return np.broadcast_to(GRID, observed.shape), observed, np.zeros_like(observed)


def _inside(group):
    """Grid points inside the group's central 98% of predictions."""
    scores = np.concatenate([group.p_pos, group.p_neg])
    if scores.size == 0:
        return np.zeros(GRID.size, dtype=bool)
    low, high = np.quantile(scores, _RANGE)
    return (GRID >= low - 1e-12) & (GRID <= high + 1e-12)


def _frame(groups, y, point, low, high, minimums):
    predicted, observed, count = (a[0] for a in point)
    records, unreliable = [], []
    for j, (attribute, group, rows) in enumerate(
        zip(groups.attribute, groups.group, groups.rows, strict=True)
    ):
        n, events = rows.size, int(y[rows].sum())
        reliable, reason = reliability(n, events, *minimums)
        if not reliable:
            unreliable.append(f"{attribute}={group!r} ({reason})")
        for i in np.flatnonzero(~np.isnan(observed[j])):
            records.append(
                (attribute, group, predicted[j, i], observed[j, i], low[j, i])
                + (high[j, i], n, events, reliable, reason, count[j, i])
            )
    _warn_unreliable(unreliable)
    frame = pd.DataFrame.from_records(records, columns=[*COLUMNS, "_count"])
    return frame.astype({"n": "Int64", "n_events": "Int64", "reliable": bool})


def _histograms(score, groups):
    """Count the predictions in equal-width bins of [0, 1] per group (for plots)."""
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    index = np.clip(np.searchsorted(edges[1:-1], score, side="right"), 0, None)
    return {
        (a, g): np.bincount(index[rows], minlength=HISTOGRAM_BINS)
        for a, g, rows in zip(groups.attribute, groups.group, groups.rows, strict=True)
    }


class CalibrationCurves:
    """Calibration curves per group with pointwise bootstrap bands.

    Built by :func:`calibration_by_group`; not meant to be created directly.
    Nothing in it is row-level: curves on a fixed grid of predicted risks (or the
    bins' means), their bands, group sizes and binned counts of the predictions.

    Parameters
    ----------
    frame : pandas.DataFrame
        The tidy frame (see :meth:`to_frame`), with the bin counts.
    histograms : dict
        ``(attribute, group) -> counts`` of the predictions in 50 bins of [0, 1].
    method : str
        The smoother.
    confidence_level : float
        Pointwise coverage of the bands.

    Attributes
    ----------
    method : str
        The smoother.
    confidence_level : float
        Pointwise coverage of the bands.

    See Also
    --------
    calibration_by_group : Build the curves.
    """

    def __init__(self, frame, histograms, method, confidence_level, n_bins=10):
        self._frame = frame
        self._n_bins = n_bins
        self._histograms = histograms
        self.method = method
        self.confidence_level = confidence_level

    def to_frame(self, suppress_below=None):
        """Return the curves as a tidy DataFrame, one row per group and point.

        Parameters
        ----------
        suppress_below : int or None, default=None
            Small-count suppression for curves that leave the secure environment
            (:func:`healthbalance._small_counts.suppress`, as
            :meth:`GroupReport.to_frame`): a group whose patients, events or
            non-events are below it (or whose counts could be recovered by
            subtraction) has its curve, band and counts masked; with
            ``method="bins"``, so has every bin whose patients, events or
            non-events are below it (its event rate and the group's size give
            them back), and, while a masked bin's counts could be solved from
            the group's totals and the other bins, the smallest shown bins too
            (:func:`healthbalance._small_counts.suppress_parts`).

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``attribute``, ``group``, ``predicted`` (the grid point, or the
            bin's mean prediction), ``observed`` (the smoothed or binned event
            rate), ``ci_low``, ``ci_high`` (pointwise band), ``n`` and
            ``n_events`` (the group's), ``reliable`` and ``reason``. The smoothed
            rates are not clipped to [0, 1]: a loess near a boundary can cross it.
        """
        frame = self._frame
        if suppress_below is None:
            return frame.drop(columns="_count").reset_index(drop=True)
        masked = _suppressed_groups(frame, suppress_below)
        out = frame.copy()
        keys = list(zip(out["attribute"], out["group"], strict=True))
        small = np.array([masked[key][0] for key in keys], dtype=bool)
        if self.method == "bins":
            small |= _suppressed_bins(out, suppress_below)
            small |= _suppressed_across_groups(out, self._n_bins, suppress_below)
        values = ["observed", "ci_low", "ci_high"]
        values += ["predicted"] if self.method == "bins" else []
        out.loc[small, values] = np.nan
        out["n"] = pd.array([masked[key][1] for key in keys], dtype="Int64")
        out["n_events"] = pd.array([masked[key][2] for key in keys], dtype="Int64")
        return out.drop(columns="_count").reset_index(drop=True)

    def plot(self, *, attribute=None, suppress_below=SUPPRESS_BELOW):
        """Draw the curves of one attribute's groups, with bands and histograms.

        One panel per group (the overall curve in each, grey), the band shaded,
        the distribution of the group's predictions in a small panel below its
        curve; unreliable groups are marked in the panel title. Suppressed groups
        and bins (``suppress_below``, as :meth:`to_frame`) are not drawn, nor
        histogram bars of fewer patients.

        Parameters
        ----------
        attribute : str or None, default=None
            The attribute (or intersection) to draw; the first one if None.
        suppress_below : int or None, default=11
            Smallest count that may be shown; None draws everything (a figure that
            stays in the secure environment).

        Returns
        -------
        fig : matplotlib Figure
        """
        from healthbalance.metrics._calibration_plot import plot_curves

        return plot_curves(self, attribute, suppress_below)


def _suppressed_bins(frame, suppress_below):
    """Rows of the bins masked by the small-count policy, group by group."""
    small = np.zeros(len(frame), dtype=bool)
    for rows in frame.groupby(["attribute", "group"], sort=False).indices.values():
        count = frame["_count"].to_numpy()[rows]
        events = np.rint(frame["observed"].to_numpy()[rows] * count)
        small[rows] = suppress_parts(count, events, suppress_below)
    return small


def _suppressed_across_groups(frame, n_bins, suppress_below):
    """Rows of the bins masked in one table of groups x bins.

    A bin of the overall curve is the sum of that bin over an attribute's groups,
    and a group the sum of its bins: :func:`suppress` reads the bins as a second
    attribute (``"<attribute> & bin"`` intersections, empty bins as zeros), so that
    no masked bin can be solved from the other groups' bins either.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    k = np.searchsorted(edges[1:-1], frame["predicted"].to_numpy(), side="right")
    count = frame["_count"].to_numpy(dtype=float)
    events = np.rint(frame["observed"].to_numpy() * count)
    counted = {}
    for a, g, b, c, e in zip(
        frame["attribute"], frame["group"], k, count, events, strict=True
    ):
        counted[a, g, b] = (c, e)
    totals = frame.drop_duplicates(["attribute", "group"])
    rows = [
        (a, g, n, e)
        for a, g, n, e in zip(
            totals["attribute"],
            totals["group"],
            totals["n"],
            totals["n_events"],
            strict=True,
        )
    ]
    for (a, g, _, _), b in itertools.product(list(rows), range(n_bins)):
        c, e = counted.get((a, g, b), (0.0, 0.0))
        if a == OVERALL:
            rows.append(("bin", str(b), c, e))
        else:
            rows.append((f"{a} & bin", f"{g} & {b}", c, e))
    table = pd.DataFrame(rows, columns=["attribute", "group", "n", "n_events"])
    masked = suppress(table.assign(estimate=0.0), suppress_below)["estimate"]
    hidden = dict(
        zip(
            zip(table["attribute"], table["group"], strict=True),
            masked.isna(),
            strict=True,
        )
    )
    return np.array(
        [
            hidden[("bin", str(b)) if a == OVERALL else (f"{a} & bin", f"{g} & {b}")]
            or hidden[a, g]
            for a, g, b in zip(frame["attribute"], frame["group"], k, strict=True)
        ],
        dtype=bool,
    )


def _suppressed_groups(frame, suppress_below):
    """``(attribute, group) -> (masked, n, n_events)`` after :func:`suppress`."""
    groups = frame.drop_duplicates(["attribute", "group"])[
        ["attribute", "group", "n", "n_events"]
    ].assign(estimate=0.0)
    out = suppress(groups, suppress_below)
    return {
        (a, g): (np.isnan(est), n, events)
        for a, g, est, n, events in zip(
            out["attribute"],
            out["group"],
            out["estimate"],
            out["n"],
            out["n_events"],
            strict=True,
        )
    }
