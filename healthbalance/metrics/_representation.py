"""``representation_report``: who is in the data, against a reference population."""

import numbers

import numpy as np
import pandas as pd
from scipy.stats import norm

from healthbalance._sensitive import resolve_sensitive_features
from healthbalance.metrics._groups import build_groups
from healthbalance.metrics._validation import check_confidence_level, check_target
from healthbalance.utils._validation import plain
from healthbalance.utils._warnings import warn

__all__ = ["representation_report"]


def representation_report(
    sensitive_features,
    reference_proportions=None,
    *,
    y_true=None,
    target_ci_width=0.1,
    expected_proportion=0.5,
    confidence_level=0.95,
    intersections=False,
    pos_label=None,
):
    """Compare each group's share of the data with a reference population.

    The first thing to run on a new dataset: which groups are under-represented, and
    how many more patients (and events) each group needs before its metrics can be
    estimated to a useful precision.

    Parameters
    ----------
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership, as in :func:`group_report`.
    reference_proportions : dict, pandas.Series or None, default=None
        Expected share of each group in the reference population (e.g. census
        shares): ``{group: share}`` for one attribute, or
        ``{attribute: {group: share}}`` for several. Groups of the reference absent
        from the data get a row with ``n == 0``. Shares are proportions in [0, 1]:
        negative or missing shares raise, and so do percentages (shares summing to
        about 100: divide them by 100) and counts (a sum above 1.05). Shares
        summing to at most 1.05 (rounding) are divided by their sum, with a
        warning; a sum below 1 is kept as given (the rest of the population is in
        groups the reference does not list).
    y_true : array-like of shape (n_samples,) or None, default=None
        Binary outcome; adds the number of events and their need per group.
    target_ci_width : float, default=0.1
        Desired full width of a 95% (``confidence_level``) Wald interval of a
        proportion computed from a group's events (e.g. its sensitivity).
    expected_proportion : float, default=0.5
        Expected value of that proportion; 0.5 is the conservative choice.
    confidence_level : float, default=0.95
        Coverage of the target interval.
    intersections : bool, default=False
        With several attributes, also report their intersections.
    pos_label : int, float, bool or str, default=None
        Label of the event in ``y_true``; needed for string labels.

    Returns
    -------
    frame : pandas.DataFrame
        One row per group: ``attribute``, ``group``, ``n``, ``share`` (of the
        data), ``reference_share``, ``ratio`` (share over reference share; below 1
        means under-represented), ``n_events``, ``prevalence``, ``events_needed``
        (``ceil(z^2 p (1 - p) / (w / 2)^2)`` for width ``w``), ``patients_needed``
        (events needed over the group's prevalence) and ``additional_patients``.
        Event columns are missing without ``y_true``.

    See Also
    --------
    group_report : Per-group model performance.

    Examples
    --------
    >>> from healthbalance.metrics import representation_report
    >>> race = ["White"] * 8 + ["Black"] * 2
    >>> frame = representation_report(race, {"White": 0.6, "Black": 0.3,
    ...                                      "Asian": 0.1})
    >>> frame[["group", "n", "share", "ratio"]].values.tolist()
    [['Asian', 0, 0.0, 0.0], ['Black', 2, 0.2, 0.666...], ['White', 8, 0.8, 1.333...]]
    """
    check_confidence_level(confidence_level)
    _check_fraction(target_ci_width, "target_ci_width", 0.1)
    _check_fraction(expected_proportion, "expected_proportion", 0.5)
    frame = _resolve(sensitive_features, y_true)
    y = None if y_true is None else check_target(y_true, pos_label=pos_label)
    groups = build_groups(frame, intersections=intersections, overall=False)
    records = [
        {"attribute": a, "group": g, "n": rows.size, "n_events": _events(y, rows)}
        for a, g, rows in zip(groups.attribute, groups.group, groups.rows, strict=True)
    ]
    table = _add_reference(pd.DataFrame(records), reference_proportions, frame)
    table["share"] = table["n"] / frame.shape[0]
    table["ratio"] = table["share"] / table["reference_share"]
    z = norm.ppf((1 + confidence_level) / 2)
    p = expected_proportion
    events_needed = np.ceil(z**2 * p * (1 - p) / (target_ci_width / 2) ** 2)
    table["prevalence"] = table["n_events"] / table["n"].where(table["n"] > 0)
    table["events_needed"] = int(events_needed) if y is not None else np.nan
    table["patients_needed"] = np.ceil(events_needed / table["prevalence"])
    table["additional_patients"] = (table["patients_needed"] - table["n"]).clip(0)
    columns = [
        "attribute", "group", "n", "share", "reference_share", "ratio", "n_events",
        "prevalence", "events_needed", "patients_needed", "additional_patients",
    ]  # fmt: skip
    return table[columns]


def _check_fraction(value, name, example):
    if not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(
            f"{name} must be in (0, 1), got {plain(value)!r}; e.g. {example}."
        )


def _resolve(sensitive_features, y_true):
    if sensitive_features is None:
        raise ValueError(
            "representation_report needs sensitive_features: pass the group of every "
            "patient."
        )
    n_samples = len(sensitive_features) if y_true is None else len(y_true)
    return resolve_sensitive_features(
        np.empty((n_samples, 0)), sensitive_features, caller="representation_report"
    )


def _events(y, rows):
    return np.nan if y is None else float(y[rows].sum())


def _add_reference(table, reference_proportions, frame):
    attributes = [str(c) for c in frame.columns]
    reference = _reference_table(reference_proportions, attributes)
    if reference.empty:
        return table.assign(reference_share=np.nan)
    merged = table.merge(reference, on=["attribute", "group"], how="outer", sort=False)
    merged["n"] = merged["n"].fillna(0).astype(int)
    return merged


def _reference_table(reference_proportions, attributes):
    if reference_proportions is None:
        return pd.DataFrame(columns=["attribute", "group", "reference_share"])
    proportions = dict(reference_proportions)
    nested = all(isinstance(v, dict | pd.Series) for v in proportions.values())
    if not nested:
        if len(attributes) != 1:
            raise ValueError(
                f"reference_proportions must be {{attribute: {{group: share}}}} with "
                f"several attributes {attributes}."
            )
        proportions = {attributes[0]: proportions}
    unknown = set(proportions) - set(attributes)
    if unknown:
        raise ValueError(
            f"reference_proportions has attributes {sorted(unknown)} that are not in "
            f"sensitive_features {attributes}."
        )
    records = [
        {"attribute": a, "group": str(g), "reference_share": s}
        for a, shares in proportions.items()
        for g, s in _check_shares(a, dict(shares)).items()
    ]
    return pd.DataFrame.from_records(records)


def _check_shares(attribute, shares):
    """Return the shares of one attribute as proportions summing to 1.

    Negative, missing or non-numeric shares, percentages and counts are refused;
    shares summing to slightly more than 1 (rounding) are normalised with a warning.
    """
    try:
        values = np.array(list(shares.values()), dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"reference_proportions of {attribute!r} must be numbers, got "
            f"{list(shares.values())!r}: pass {{group: share}} with shares in [0, 1]."
        ) from exc
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        group = list(shares)[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"reference_proportions of {attribute!r} gives group {group!r} the share "
            f"{shares[group]!r}: every share must be a finite number >= 0."
        )
    total = values.sum()
    if _PERCENT_SUM[0] <= total <= _PERCENT_SUM[1]:
        raise ValueError(
            f"reference_proportions of {attribute!r} sum to {total:g}: they look like "
            "percentages; divide them by 100 to give proportions in [0, 1]."
        )
    if total > 1 + _ROUNDING:
        raise ValueError(
            f"reference_proportions of {attribute!r} sum to {total:g}, more than 1: "
            "the shares of one population cannot; pass proportions in [0, 1] "
            "(divide counts by their total)."
        )
    if total > 1 + 1e-9:
        warn(
            f"reference_proportions of {attribute!r} sum to {total:.6g}, a little "
            "more than 1 (rounding?): they are divided by their sum.",
            UserWarning,
        )
        values = values / total
    return dict(zip(shares, values.tolist(), strict=True))


# Shares summing to 1 + _ROUNDING at most are rounded proportions, normalised with a
# warning; a sum in _PERCENT_SUM is refused as percentages, any other sum above 1
# as counts. A sum below 1 is a reference that lists only some groups: kept as is.
_ROUNDING = 0.05
_PERCENT_SUM = (90.0, 110.0)
