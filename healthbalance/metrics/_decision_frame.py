"""The results object of :func:`healthbalance.metrics.decision_curve`."""

import numpy as np
import pandas as pd

from healthbalance._small_counts import SMALLEST_CONFUSION, reliability, suppress
from healthbalance.metrics._group_report import SmallGroupWarning
from healthbalance.metrics._groups import OVERALL
from healthbalance.utils._bootstrap import percentile_interval
from healthbalance.utils._warnings import warn

__all__ = ["COLUMNS", "DIFFERENCE_COLUMNS", "DecisionCurve", "curve_frame"]

COLUMNS = [
    "attribute",
    "group",
    "threshold",
    "net_benefit",
    "ci_low",
    "ci_high",
    "treat_all",
    "net_interventions_avoided",
    "n",
    "n_events",
    "reliable",
]
DIFFERENCE_COLUMNS = ["difference", "difference_ci_low", "difference_ci_high"]


def curve_frame(
    groups, counts, point, replicates, *, names, reference, confidence_level, minimums
):
    """Tidy frame of every model, group and threshold (plus the confusion column).

    ``point`` has shape (n_models, n_groups, n_thresholds), ``replicates`` a
    leading bootstrap axis; ``counts`` is the decision curve's threshold counts.
    """
    n_models, n_groups, n_t = point.shape
    thresholds = counts.thresholds
    low, high = percentile_interval(replicates, confidence_level)
    treat_all = counts.treat_all()
    n = np.array([rows.size for rows in groups.rows])
    events = counts.point[2, 0, 0, :, 0].astype(np.int64)
    reliable = _reliable(groups, n, events, minimums)
    columns = {
        "attribute": np.repeat(groups.attribute, n_t),
        "group": np.repeat(groups.group, n_t),
        "threshold": np.tile(thresholds, n_groups),
        "treat_all": treat_all.ravel(),
        "n": pd.array(np.repeat(n, n_t), dtype="Int64"),
        "n_events": pd.array(np.repeat(events, n_t), dtype="Int64"),
        "reliable": np.repeat(reliable, n_t),
    }
    frames = []
    for m in range(n_models):
        frame = pd.DataFrame(
            {
                **columns,
                "net_benefit": point[m].ravel(),
                "ci_low": low[m].ravel(),
                "ci_high": high[m].ravel(),
                "net_interventions_avoided": (
                    (point[m] - treat_all) * (1 - thresholds) / thresholds
                ).ravel(),
                SMALLEST_CONFUSION: _smallest_confusion(counts.point[:, 0, m]),
            }
        )
        frame = frame[[*COLUMNS, SMALLEST_CONFUSION]]
        if reference is not None:
            r = names.index(reference)
            diff = replicates[:, m] - replicates[:, r]
            d_low, d_high = percentile_interval(diff, confidence_level)
            frame["difference"] = (point[m] - point[r]).ravel()
            frame["difference_ci_low"] = d_low.ravel()
            frame["difference_ci_high"] = d_high.ravel()
        if names is not None:
            frame.insert(0, "model", names[m])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _reliable(groups, n, events, minimums):
    flags, unreliable = [], []
    for attribute, group, size, k in zip(
        groups.attribute, groups.group, n, events, strict=True
    ):
        ok, reason = reliability(int(size), int(k), *minimums)
        flags.append(ok)
        if not ok:
            unreliable.append(f"{attribute}={group!r} ({reason})")
    if unreliable:
        shown = "; ".join(unreliable[:5]) + ("; ..." if len(unreliable) > 5 else "")
        warn(
            f"{len(unreliable)} group(s) flagged reliable=False: {shown}. Their "
            "curves are drawn but uncertain.",
            SmallGroupWarning,
        )
    return np.array(flags, dtype=bool)


def _smallest_confusion(counts):
    """Smallest non-zero TP, FP, FN, TN of each group and threshold (``<NA>``: none)."""
    tp, fp, n_pos, n_neg = counts
    cells = np.stack([tp, fp, n_pos - tp, n_neg - fp]).reshape(4, -1)
    smallest = np.where(cells > 0, cells, np.inf).min(axis=0)
    out = pd.array(np.where(np.isinf(smallest), 0, smallest).astype(np.int64))
    out[np.isinf(smallest)] = pd.NA
    return out


class DecisionCurve:
    """Net benefit per group and threshold, with bootstrap confidence intervals.

    Built by :func:`decision_curve`; not meant to be created directly. It holds
    group-level estimates and their bootstrap replicates, no row-level data.

    Parameters
    ----------
    frame : pandas.DataFrame
        The tidy frame (see :meth:`to_frame`) with the smallest confusion count of
        each row, which the small-count policy reads.
    replicates : ndarray of shape (n_bootstrap, n_models, n_groups, n_thresholds)
        Bootstrap replicates of the net benefit.
    thresholds : ndarray of shape (n_thresholds,)
        The thresholds.
    confidence_level : float
        Coverage of the intervals.
    reference : str or None, default=None
        The reference model of the paired differences.

    Attributes
    ----------
    thresholds : ndarray of shape (n_thresholds,)
        The thresholds.
    models : list of str
        Model names (``["y_score"]`` for a single array of scores).
    confidence_level : float
        Coverage of the intervals.
    n_bootstrap : int
        Number of bootstrap replicates.
    reference : str or None
        The reference model of the paired differences (None without).

    See Also
    --------
    decision_curve : Build a decision curve.
    """

    def __init__(self, frame, replicates, thresholds, confidence_level, reference=None):
        self._frame = frame
        self.reference = reference
        self._replicates = replicates
        self.thresholds = thresholds
        self.confidence_level = confidence_level
        self.n_bootstrap = replicates.shape[0]
        has_models = "model" in frame.columns
        self.models = list(dict.fromkeys(frame["model"])) if has_models else ["y_score"]

    def to_frame(self, suppress_below=None):
        """Return the curves as a tidy DataFrame, one row per group and threshold.

        Parameters
        ----------
        suppress_below : int or None, default=None
            Small-count suppression for curves that leave the secure environment,
            as in :meth:`GroupReport.to_frame`, applied at each threshold (and for
            each model) separately: a group's ``n`` is masked when below it, its
            ``n_events`` when the events or non-events are, with every estimate of
            such a group (net benefit, intervals, ``treat_all``, which gives the
            prevalence, and net interventions avoided); complementary suppression
            keeps masked counts from being recovered by subtraction. Net benefit
            gives back the true and false positives at its threshold, so it is
            masked where any of the group's TP, FP, FN and TN there is from 1 to
            ``suppress_below - 1``, and a paired difference wherever either model's
            net benefit is masked.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``attribute``, ``group``, ``threshold``, ``net_benefit``,
            ``ci_low``, ``ci_high`` (percentile interval), ``treat_all`` (net
            benefit of treating every patient of the group), ``net_interventions_
            avoided`` (per patient: ``(net_benefit - treat_all) * (1 - t) / t``),
            ``n``, ``n_events`` and ``reliable`` (the group has enough patients and
            events). With a dict of models, a first column ``model``; with a
            ``reference``, ``difference`` (model minus reference, paired),
            ``difference_ci_low`` and ``difference_ci_high``. The overall rows have
            ``attribute == group == "overall"``.
        """
        frame = self._frame
        if suppress_below is not None:
            frame = suppress(frame, suppress_below)
            if "difference" in frame.columns:
                frame = _mask_differences(frame, self.reference)
        return frame.drop(columns=SMALLEST_CONFUSION).reset_index(drop=True)

    def plot(self, *, attribute=None, model=None, suppress_below=None, ax=None):
        """Draw net benefit against threshold for each group of an attribute.

        Each group's curve has its pointwise interval as a band and its treat-all
        curve dotted in the same colour; treat-none is the black line at 0.

        Parameters
        ----------
        attribute : str or None, default=None
            The attribute (or intersection) whose groups are drawn; the first
            attribute if None (``"overall"`` when there is none).
        model : str or None, default=None
            The model drawn; the first if None.
        suppress_below : int or None, default=None
            For a figure that leaves the secure environment: what
            ``to_frame(suppress_below)`` masks is left out.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure if None.

        Returns
        -------
        ax : matplotlib Axes
        """
        from healthbalance.metrics._decision_plot import decision_plot

        frame = self.to_frame(suppress_below)
        frame = self._model_rows(frame, model)
        attribute = self._attribute_or_first(frame, attribute)
        return decision_plot(frame[frame["attribute"] == attribute], ax=ax)

    def _model_rows(self, frame, model):
        if model is None:
            model = self.models[0]
        if model not in self.models:
            raise ValueError(
                f"model {model!r} is not in this curve; it has {self.models}."
            )
        if "model" not in frame.columns:
            return frame
        return frame[frame["model"] == model]

    @staticmethod
    def _attribute_or_first(frame, attribute):
        attributes = [a for a in dict.fromkeys(frame["attribute"]) if a != OVERALL]
        if attribute is None:
            return attributes[0] if attributes else OVERALL
        if attribute not in [*attributes, OVERALL]:
            raise ValueError(
                f"attribute {attribute!r} is not in this curve; it has "
                f"{[OVERALL, *attributes]}."
            )
        return attribute

    def __repr__(self):
        groups = self._frame.drop_duplicates(["attribute", "group"]).shape[0]
        return (
            f"<DecisionCurve: {len(self.models)} model(s), {groups} groups, "
            f"{self.thresholds.size} thresholds, {self.n_bootstrap} replicates>"
        )


def _mask_differences(frame, reference):
    """Mask a paired difference where the model's or the reference's net benefit is.

    Either one and the difference give back the other.
    """
    keys = ["attribute", "group", "threshold"]
    own = frame[frame["model"] == reference]
    masked = own.loc[own["net_benefit"].isna(), keys]
    hit = frame[keys].merge(masked, on=keys, how="left", indicator=True)
    rows = (hit["_merge"] == "both").to_numpy() | frame["net_benefit"].isna()
    frame = frame.copy()
    frame.loc[rows, DIFFERENCE_COLUMNS] = np.nan
    return frame
