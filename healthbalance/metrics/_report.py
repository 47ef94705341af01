"""The results object of :func:`healthbalance.metrics.group_report`."""

import numpy as np
import pandas as pd

from healthbalance._small_counts import suppress
from healthbalance.metrics._binning import BOUNDED
from healthbalance.metrics._groups import OVERALL
from healthbalance.metrics._registry import METRICS
from healthbalance.metrics._report_summary import report_html, report_summary
from healthbalance.utils._bootstrap import percentile_interval
from healthbalance.utils._validation import plain

__all__ = ["GroupReport", "metric_best"]

COLUMNS = [
    "attribute",
    "group",
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "n_events",
    "smallest_confusion_count",
    "n_failed",
    "reliable",
    "reason",
]


def metric_best(metric):
    """``"max"``, ``"min"`` or the ideal value of a metric (``"max"`` for callables)."""
    return METRICS[metric].best if metric in METRICS else "max"


def _badness(values, best):
    """Larger is worse, whatever the direction of the metric."""
    if best == "max":
        return -values
    if best == "min":
        return values
    return np.abs(values - best)


class GroupReport:
    """Per-group metrics with bootstrap confidence intervals.

    Built by :func:`group_report`; not meant to be created directly. Nothing in a
    report is row-level: it holds group-level estimates, bootstrap replicates of the
    estimates and binned calibration summaries.

    Parameters
    ----------
    frame : pandas.DataFrame
        The tidy long frame (see :meth:`to_frame`).
    replicates : ndarray of shape (n_bootstrap, n_groups, n_metrics)
        Bootstrap replicates, in the order of the (attribute, group) pairs and
        metrics of ``frame``.
    calibration : pandas.DataFrame
        Binned reliability data per group (see :meth:`plot_calibration`).
    confidence_level : float
        Coverage of the intervals.
    binning_bound : pandas.DataFrame or None, default=None
        See the attribute; ``None`` for exact estimates (zero for every group).

    Attributes
    ----------
    metrics : list of str
        Reported metric names.
    confidence_level : float
        Coverage of the intervals.
    n_bootstrap : int
        Number of bootstrap replicates.
    binning_bound : pandas.DataFrame
        One row per group (``attribute``, ``group``, ``roc_auc``,
        ``average_precision``, ``sensitivity_at_specificity``,
        ``specificity_at_sensitivity``): the largest error of these point
        estimates that binning the scores can cause (for the AUROC half the share
        of event / non-event pairs sharing a score bin; see
        :func:`~healthbalance.metrics._binning.binning_bounds`). Zero for
        in-memory input (rows, no binning); for Dask input, the bound achieved by
        the data-driven bins (see :func:`group_report`'s ``n_score_bins``).

    See Also
    --------
    group_report : Build a report.
    compare_models : Paired differences between models.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import group_report
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 200), 0, 1)
    >>> sex = rng.choice(["F", "M"], 200)
    >>> report = group_report(y, p, sensitive_features=sex, metrics=["roc_auc"],
    ...                       n_bootstrap=50, random_state=0)
    >>> report.to_frame()[["attribute", "group", "metric"]].values.tolist()
    [['overall', 'overall', 'roc_auc'], ['sensitive_feature', 'F', 'roc_auc'], \
['sensitive_feature', 'M', 'roc_auc']]
    """

    def __init__(
        self, frame, replicates, calibration, confidence_level, binning_bound=None
    ):
        if binning_bound is None:
            binning_bound = frame.drop_duplicates(["attribute", "group"])[
                ["attribute", "group"]
            ].assign(**dict.fromkeys(BOUNDED, 0.0))
        self.binning_bound = binning_bound.reset_index(drop=True)
        self._frame = frame
        self._replicates = replicates
        self._calibration = calibration
        self.confidence_level = confidence_level
        self.metrics = list(dict.fromkeys(frame["metric"]))
        self.n_bootstrap = replicates.shape[0]
        keys = frame.drop_duplicates(["attribute", "group"])
        self._keys = list(zip(keys["attribute"], keys["group"], strict=True))

    def to_frame(self, suppress_below=None):
        """Return the report as a tidy long DataFrame, one row per group and metric.

        Parameters
        ----------
        suppress_below : int or None, default=None
            Small-count suppression for reports that leave the secure environment
            (the policy of :mod:`healthbalance._small_counts`, see
            :doc:`/privacy`): ``n`` is masked when below it; ``n_events`` when the
            events or the non-events are below it (either reveals the other through
            ``n``); every estimate and interval of such a group is masked (rates
            such as sensitivity are computed from the events alone); and, by
            complementary suppression, enough other groups are masked that no
            masked count can be recovered by subtraction from the overall row, an
            attribute's other groups or an intersection's. Masked values are
            missing (``NaN`` / ``<NA>``), ``n_failed`` with the estimates (how often a
            replicate lost every event hints at their number); reasons never
            contain counts. The metrics computed from the confusion counts at
            the threshold (``sensitivity``, ``ppv``, ``f1``, ``net_benefit``, ...)
            are masked, estimate and interval, when any of the group's true/false
            positives/negatives is from 1 to ``suppress_below - 1``: together they
            give back all four counts.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``attribute``, ``group``, ``metric``, ``estimate``, ``ci_low``,
            ``ci_high``, ``n``, ``n_events``, ``smallest_confusion_count`` (on the
            rows of metrics computed from the confusion counts, the smallest
            non-zero of the group's TP, FP, FN and TN at the threshold; ``<NA>``
            on the other rows), ``n_failed`` (nullable integers: the
            replicates where the metric could not be computed), ``reliable`` and
            ``reason`` (why a group or an interval is unreliable or a value
            undefined, "" if none); a row whose metric failed in more than 1% of
            the replicates is ``reliable=False``. The overall rows have
            ``attribute == group == "overall"``.
        """
        frame = self._frame.copy()
        if suppress_below is None:
            return frame
        return suppress(frame, suppress_below)

    def _metric_index(self, metric):
        if metric not in self.metrics:
            raise ValueError(
                f"metric {metric!r} is not in this report; it has {self.metrics}."
            )
        return self.metrics.index(metric)

    def _rows(self, metric, attribute):
        frame = self._frame[self._frame["metric"] == metric].reset_index(drop=True)
        if attribute is not None:
            if attribute not in set(frame["attribute"]):
                raise ValueError(
                    f"attribute {attribute!r} is not in this report; it has "
                    f"{sorted(set(frame['attribute']))}."
                )
            return frame[frame["attribute"] == attribute]
        return frame[frame["attribute"] != OVERALL]

    def worst_group(self, metric, attribute=None):
        """Return, per attribute, the row of the group with the worst estimate.

        Worst means lowest for metrics where higher is better, highest for losses and
        error rates, and farthest from the ideal value for calibration intercept (0)
        and slope (1). Reliable groups are preferred: an unreliable group is only
        returned when no group of the attribute is reliable.

        Parameters
        ----------
        metric : str
            A metric of the report.
        attribute : str or None, default=None
            Restrict to one attribute (or intersection); all but overall if None.

        Returns
        -------
        frame : pandas.DataFrame
            Rows of :meth:`to_frame`, one per attribute.
        """
        self._metric_index(metric)
        rows = self._rows(metric, attribute)
        badness = _badness(rows["estimate"].to_numpy(), metric_best(metric))
        rows = rows.assign(_bad=badness, _unrel=~rows["reliable"].to_numpy(bool))
        rows = rows.dropna(subset=["_bad"])
        worst = rows.sort_values(["_unrel", "_bad"], ascending=[True, False])
        worst = worst.drop_duplicates("attribute").drop(columns=["_bad", "_unrel"])
        return worst.sort_index().reset_index(drop=True)

    def disparity(self, metric, reference="best", attribute=None):
        """Difference and ratio of each group to a reference group, with paired CIs.

        Parameters
        ----------
        metric : str
            A metric of the report.
        reference : "best" or str, default="best"
            The reference group: the best reliable group of each attribute (highest,
            lowest or closest to ideal, see :meth:`worst_group`), or a group label.
        attribute : str or None, default=None
            Restrict to one attribute; all but overall if None.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``attribute``, ``group``, ``reference``, ``metric``,
            ``estimate``, ``reference_estimate``, ``difference`` (group minus
            reference), ``difference_ci_low``, ``difference_ci_high``, ``ratio``
            (group over reference), ``ratio_ci_low``, ``ratio_ci_high`` and
            ``reliable``. The intervals are percentile intervals of the differences
            and ratios computed within each bootstrap replicate (the replicates are
            shared by all groups, so the comparison is paired).
        """
        i = self._metric_index(metric)
        rows = self._rows(metric, attribute)
        if reference != "best" and reference not in set(rows["group"]):
            raise ValueError(
                f"reference={plain(reference)!r} is not a group of "
                f"{attribute or 'any attribute'}; use 'best' or one of "
                f"{sorted(set(rows['group']))}."
            )
        parts = [
            self._disparity_of(metric, i, rows[rows["attribute"] == a], reference)
            for a in dict.fromkeys(rows["attribute"])
        ]
        parts = [p for p in parts if p is not None]
        return pd.concat(parts, ignore_index=True) if parts else _empty_disparity()

    def _disparity_of(self, metric, i, rows, reference):
        ref = self._reference_row(metric, rows, reference)
        if ref is None:
            return None
        j_ref = self._keys.index((ref["attribute"], ref["group"]))
        rep_ref = self._replicates[:, j_ref, i]
        records = []
        for _, row in rows.iterrows():
            rep = self._replicates[
                :, self._keys.index((row["attribute"], row["group"])), i
            ]
            diff_ci = percentile_interval(rep - rep_ref, self.confidence_level)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = rep / rep_ref
            ratio = np.where(np.isfinite(ratio), ratio, np.nan)
            ratio_ci = percentile_interval(ratio, self.confidence_level)
            est, ref_est = row["estimate"], ref["estimate"]
            records.append(
                {
                    "attribute": row["attribute"],
                    "group": row["group"],
                    "reference": ref["group"],
                    "metric": metric,
                    "estimate": est,
                    "reference_estimate": ref_est,
                    "difference": est - ref_est,
                    "difference_ci_low": float(diff_ci[0]),
                    "difference_ci_high": float(diff_ci[1]),
                    "ratio": est / ref_est if ref_est else np.nan,
                    "ratio_ci_low": float(ratio_ci[0]),
                    "ratio_ci_high": float(ratio_ci[1]),
                    "reliable": bool(row["reliable"]),
                }
            )
        return pd.DataFrame.from_records(records)

    def _reference_row(self, metric, rows, reference):
        if reference != "best":
            match = rows[rows["group"] == reference]
            return None if match.empty else match.iloc[0]
        bad = _badness(rows["estimate"].to_numpy(), metric_best(metric))
        ranked = rows.assign(_bad=bad, _unrel=~rows["reliable"].to_numpy(bool))
        ranked = ranked.dropna(subset=["_bad"]).sort_values(["_unrel", "_bad"])
        return None if ranked.empty else ranked.iloc[0]

    def _repr_html_(self):
        return report_html(self)

    def __repr__(self):
        return (
            f"GroupReport({len(self._keys)} groups, metrics={self.metrics}, "
            f"n_bootstrap={self.n_bootstrap})"
        )

    def __str__(self):
        return self.summary()

    def summary(self, metric=None):
        """Return the bottom line of the report in plain words.

        For ``metric``: the overall estimate with its interval, then per attribute
        (and intersection) the worst reliable group with its interval, the largest
        gap (to the best reliable group, with its paired interval and whether it
        excludes 0), and the groups too small to rank, named without their counts
        or estimates (reliability as in :mod:`healthbalance._small_counts`).
        ``print(report)`` and the notebook display show it.

        Parameters
        ----------
        metric : str or None, default=None
            A metric of the report; ``roc_auc`` when reported, else the first
            metric with an interval.

        Returns
        -------
        summary : str
            One line per attribute, after one line for overall.

        Examples
        --------
        >>> import numpy as np
        >>> from healthbalance.metrics import group_report
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 400)
        >>> p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 400), 0, 1)
        >>> sex = rng.choice(["F", "M"], 400)
        >>> report = group_report(y, p, sensitive_features=sex, metrics=["roc_auc"],
        ...                       n_bootstrap=50, random_state=0)
        >>> print(report.summary())  # doctest: +ELLIPSIS
        roc_auc overall: 0.9... [0.9..., 0.9...] (95% intervals).
        sensitive_feature: worst reliable group ..., roc_auc 0.9... [...]; the \
largest gap, to the best group ..., is -0.0... [...]: its interval ...
        """
        return report_summary(self, metric)

    def plot(self, metric=None, *, attribute=None, suppress_below=None, ax=None):
        """Forest plot of a metric's per-group estimates with their intervals.

        Parameters
        ----------
        metric : str or None, default=None
            A metric of the report; ``roc_auc`` if None and the report has it,
            else its first metric.
        attribute : str or None, default=None
            The attribute (or intersection, ``"race & sex"``) whose groups are
            drawn, under the overall row; the first attribute if None. One
            attribute at a time keeps the plot readable; call it once per
            attribute for the others.
        suppress_below : int or None, default=None
            For a figure that leaves the secure environment: the groups that
            ``to_frame(suppress_below)`` masks, or whose ``metric`` it masks, are
            left out.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure if None.

        Returns
        -------
        ax : matplotlib Axes

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        """
        from healthbalance.metrics._plot import forest_plot

        if metric is None:
            metric = "roc_auc" if "roc_auc" in self.metrics else self.metrics[0]
        self._metric_index(metric)
        attribute = self._attribute_or_first(attribute)
        frame = self._frame[self._frame["metric"] == metric]
        frame = frame[frame["attribute"].isin([OVERALL, attribute])]
        return forest_plot(self._shown(frame, suppress_below, metric), metric, ax=ax)

    def _attribute_or_first(self, attribute):
        attributes = list(dict.fromkeys(a for a, _ in self._keys if a != OVERALL))
        if attribute is None:
            return attributes[0] if attributes else OVERALL
        if attribute not in attributes:
            raise ValueError(
                f"attribute {attribute!r} is not in this report; it has {attributes}."
            )
        return attribute

    def _shown(self, rows, suppress_below, metric=None):
        """``rows`` without the groups the small-count policy masks (if asked).

        With ``metric``, also without the groups whose estimate of it is masked
        (a rate from a small confusion count).
        """
        if suppress_below is None:
            return rows
        masked = self.to_frame(suppress_below)
        hidden = masked["n_events"].isna()
        if metric is not None:
            hidden |= (masked["metric"] == metric) & masked["estimate"].isna()
        masked = masked[hidden.to_numpy(bool)]
        hidden = set(zip(masked["attribute"], masked["group"], strict=True))
        keys = zip(rows["attribute"], rows["group"], strict=True)
        return rows[[key not in hidden for key in keys]]

    def plot_calibration(
        self, *, attribute=None, min_bin_size=11, suppress_below=None, ax=None
    ):
        """Per-group reliability curves (observed vs mean predicted risk per bin).

        Parameters
        ----------
        attribute : str or None, default=None
            The attribute whose groups are drawn; the first attribute if None.
        min_bin_size : int, default=11
            Bins with fewer patients are not drawn: their observed rate is mostly
            noise, and a plot leaving the secure environment should not show a
            rate computed from so few patients (as with ``to_frame(suppress_below)``).
        suppress_below : int or None, default=None
            For a figure that leaves the secure environment: the groups that
            ``to_frame(suppress_below)`` masks are not drawn at all.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure if None.

        Returns
        -------
        ax : matplotlib Axes

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        """
        from healthbalance.metrics._plot import calibration_plot

        data = self._calibration
        attribute = self._attribute_or_first(attribute)
        shown = data[(data["attribute"] == attribute) & (data["n"] >= min_bin_size)]
        return calibration_plot(self._shown(shown, suppress_below), ax=ax)


def _empty_disparity():
    columns = [
        "attribute",
        "group",
        "reference",
        "metric",
        "estimate",
        "reference_estimate",
        "difference",
        "difference_ci_low",
        "difference_ci_high",
        "ratio",
        "ratio_ci_low",
        "ratio_ci_high",
        "reliable",
    ]
    return pd.DataFrame(columns=columns)
