"""The metric registry: one entry per metric, read by everything that reports one.

:data:`METRICS` maps each name to a :class:`MetricSpec`: its function (from
:mod:`healthbalance.metrics._metric_functions`), direction, the outcome classes it
needs, whether it has an interval, why it can be undefined, its docs line and the
per-group **statistics** it is computed from. Adding a metric is one entry (see the
contributor notes, ``docs/contributing.rst``); the docs' metric table is generated
from the registry when the docs are built.

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
  each at its rows' mean logit (the calibration fits and the smooth calibration
  errors ``ici``, ``e50``, ``e90``, ``emax`` read nothing else: a cell of weight
  ``w`` counts as ``w`` rows). Additive once the parts share the bins.
- ``"sorted_scores"``: the counted events and non-events in score order (``cpos``,
  ``cneg``, their cumulative sums and tie tables), from which the rank statistics
  ``auc_wins`` and ``precision_sum`` and the ROC operating points are read. A source
  without rows hands over counts per class on a shared grid of score values (exact
  when the grid holds every distinct score); parts merge by adding those counts.

A source of binned rows (Dask, :mod:`healthbalance.metrics._dask`) hands these over
as *weighted cells*: each cell a row of the engine with ``weight`` patients, a score
that only orders it (its score bin's stand-in; the threshold and the ``n_bins``
calibration edges are bin edges, so ``"confusion"`` and ``"calibration_bins"`` are
exact), and per-row means of score, logit, squared error and log loss
(:data:`~healthbalance.metrics._count_batch.MEAN_STATISTICS`) from which
``"sums"``, ``"calibration_bins"`` and ``"logits"`` are read; ``"sorted_scores"``
then ties the events and non-events of a bin. A metric reads its statistics the
same way whatever the source.

A metric is ``mergeable`` when the union of groups (the overall and attribute rows)
can be computed from its parts'
:class:`~healthbalance.metrics._merged_batch.MergedBatch`; it must be declared
explicitly, otherwise those rows use a batch of the whole group.
"""

from dataclasses import dataclass
from dataclasses import fields as fields_of

from healthbalance.metrics._calibration_error import e50, e90, emax, ici
from healthbalance.metrics._metric_functions import (
    average_precision,
    brier_score,
    calibration_intercept,
    calibration_slope,
    ece,
    f1,
    fnr,
    fpr,
    log_loss,
    n,
    n_events,
    net_benefit,
    npv,
    ppv,
    prevalence,
    roc_auc,
    sensitivity,
    sensitivity_at_specificity,
    specificity,
    specificity_at_sensitivity,
)

__all__ = ["METRICS", "STATISTICS", "MetricSpec"]


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
    default : bool, default=True
        Whether the metric is computed when no metrics are named
        (``metrics=None``); the smooth calibration errors fit a loess per group
        and replicate, so they are computed when asked for by name.

    Examples
    --------
    >>> from healthbalance.metrics._registry import METRICS
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
    default: bool = True

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
        >>> from healthbalance.metrics._registry import METRICS
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


def _proportion(successes, trials):
    """``proportion(b) -> (successes, trials)``, by index in ``(tp, fp, fn, tn)``."""

    def proportion(b):
        counts = b.confusion
        return counts[successes], sum(counts[k] for k in trials)

    return proportion


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
    "ici": MetricSpec(
        ici,
        ("logits",),
        "Integrated calibration index: mean ``|loess(p) - p|`` over the patients.",
        "any",
        True,
        "min",
        default=False,
    ),
    "e50": MetricSpec(
        e50,
        ("logits",),
        "Median of ``|loess(p) - p|`` over the patients.",
        "any",
        True,
        "min",
        default=False,
    ),
    "e90": MetricSpec(
        e90,
        ("logits",),
        "90th percentile of ``|loess(p) - p|`` over the patients.",
        "any",
        True,
        "min",
        default=False,
    ),
    "emax": MetricSpec(
        emax,
        ("logits",),
        "Largest ``|loess(p) - p|`` over the patients.",
        "any",
        True,
        "min",
        default=False,
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
