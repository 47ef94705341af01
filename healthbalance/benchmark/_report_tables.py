"""The tables of the benchmark report, as text entries ready to print.

Every table reads the first seed's frames as they may leave the process
(:func:`~healthbalance.benchmark._checks.released`). A value that is undefined or
masked is written ``n/a`` (with a footnote saying why), never ``nan``; the
calibration of a strategy whose scores are not risks is "not a probability model".
"""

import numpy as np
import pandas as pd

from healthbalance.benchmark._bottom_line import (
    CALIBRATION,
    PLAIN,
    better_sign,
    label,
    worst_row,
)
from healthbalance.benchmark._checks import has_probabilities, released
from healthbalance.benchmark._strategies import STRATEGIES
from healthbalance.metrics._report_summary import excludes_zero, interval, number

NOT_PROBABILITY = "not a probability model"
BETTER, WORSE = "▲ better", "▼ worse"
FOOTNOTE_NA = (
    "n/a: the value is undefined (a group without events or without non-events, a "
    "calibration fit that does not converge) or masked by the small-count rule."
)
FOOTNOTE_MARK = (
    f"{BETTER} / {WORSE}: the paired 95% interval against plain training (erm) "
    "excludes 0; no mark: not distinguishable from plain training."
)
FOOTNOTE_PROBABILITY = (
    f"{NOT_PROBABILITY}: fairlearn's mitigators score the probability of a "
    "randomized decision, not a risk, so calibration does not apply to them."
)


def first_seed(results, suppress_below):
    """Return the released metrics and deltas of the first seed."""
    metrics, deltas = released(results, suppress_below)
    seed = results.settings["seeds"][0]
    return metrics[metrics["seed"] == seed], deltas[deltas["seed"] == seed]


def family_order(strategies):
    """Sort strategy names by family, in the order of ``STRATEGIES``."""
    order = {name: i for i, name in enumerate(STRATEGIES)}
    return sorted(strategies, key=lambda s: (order.get(s, len(order)), s))


def family(strategy):
    """Return the family of ``strategy`` (``"other"`` if it is not registered)."""
    spec = STRATEGIES.get(strategy)
    return spec.family if spec is not None else "other"


def estimate_entry(row, digits=3, sign=False):
    """Return ``"0.812 [0.770, 0.850]"``, or ``"n/a"``."""
    if row is None or not np.isfinite(row["estimate"]):
        return "n/a"
    value = number(row["estimate"], digits, sign)
    return value + interval(row["ci_low"], row["ci_high"], digits, sign)


def difference_entry(row, metric, digits=3):
    """Return a paired difference with its interval and mark, or ``"n/a"``."""
    if row is None or not np.isfinite(row["difference"]):
        return "n/a"
    low, high = row["ci_low"], row["ci_high"]
    text = number(row["difference"], digits, True) + interval(low, high, digits, True)
    if excludes_zero(low, high):
        better = better_sign(metric) * row["difference"] > 0
        if metric in CALIBRATION:
            better = abs(row["estimate"]) < abs(row["reference_estimate"])
        text += f" {BETTER if better else WORSE}"
    return text


def _one(frame, **equal):
    for column, value in equal.items():
        frame = frame[frame[column] == value]
    return None if frame.empty else frame.iloc[0]


def worst_off_group(metrics, model, attribute, metric="roc_auc"):
    """Return the worst-off reliable group under plain training, or ``None``."""
    rows = metrics[
        (metrics["model"] == model)
        & (metrics["attribute"] == attribute)
        & (metrics["strategy"] == PLAIN)
        & (metrics["metric"] == metric)
    ]
    row = worst_row(rows, metric)
    return None if row is None else row["group"]


def main_table(results, model, suppress_below, metric="roc_auc"):
    """Return the main table of ``model``: one row per strategy, best first.

    Rows are ordered by the worst-group ``metric`` (the worst reliable group of each
    strategy), undefined last.
    """
    metrics, deltas = first_seed(results, suppress_below)
    attribute = results.settings["attribute"]
    metrics, deltas = (
        metrics[metrics["model"] == model],
        deltas[deltas["model"] == model],
    )
    worst_off = worst_off_group(metrics, model, attribute, metric)
    rows = []
    for strategy in family_order(metrics["strategy"].unique()):
        own = metrics[metrics["strategy"] == strategy]
        worst = worst_row(
            own[(own["attribute"] == attribute) & (own["metric"] == metric)], metric
        )
        rows.append(
            {
                "strategy": strategy,
                "family": family(strategy),
                f"worst-group {label(metric)}": estimate_entry(worst),
                "worst group": "n/a" if worst is None else str(worst["group"]),
                f"{label(metric)} in {worst_off}, difference to erm": _paired(
                    deltas, strategy, attribute, worst_off, metric
                ),
                f"overall {label(metric)}": estimate_entry(
                    _one(own, attribute="overall", metric=metric)
                ),
                "overall calibration intercept": _calibration(own, strategy),
                "_order": np.nan if worst is None else float(worst["estimate"]),
            }
        )
    table = pd.DataFrame(rows)
    sign = better_sign(metric)
    table = table.assign(_order=-sign * table["_order"]).sort_values(
        "_order", na_position="last", kind="stable"
    )
    return table.drop(columns="_order").reset_index(drop=True), worst_off


def _paired(deltas, strategy, attribute, group, metric):
    if strategy == PLAIN:
        return "reference"
    if group is None:
        return "n/a"
    row = _one(
        deltas, strategy=strategy, attribute=attribute, group=group, metric=metric
    )
    return difference_entry(row, metric)


def _calibration(own, strategy):
    if not has_probabilities(strategy):
        return NOT_PROBABILITY
    row = _one(own, attribute="overall", metric="calibration_intercept")
    return estimate_entry(row, digits=2, sign=True)


def delta_table(results, model, metric, suppress_below):
    """Return paired differences against erm: a row per strategy, a column per group."""
    _, deltas = first_seed(results, suppress_below)
    attribute = results.settings["attribute"]
    rows = deltas[
        (deltas["model"] == model)
        & (deltas["metric"] == metric)
        & deltas["attribute"].isin([attribute, "overall"])
        & (deltas["strategy"] != PLAIN)
    ]
    groups = list(dict.fromkeys(rows["group"]))
    table = []
    for strategy in family_order(rows["strategy"].unique()):
        own = rows[rows["strategy"] == strategy]
        entries = {"strategy": strategy}
        for group in groups:
            if metric in CALIBRATION and not has_probabilities(strategy):
                entries[str(group)] = NOT_PROBABILITY
            else:
                entries[str(group)] = difference_entry(_one(own, group=group), metric)
        table.append(entries)
    return pd.DataFrame(table)


def group_table(results, suppress_below):
    """Return one row per group that exists: its counts and plain training's results."""
    metrics, deltas = first_seed(results, suppress_below)
    plain = metrics[metrics["strategy"] == PLAIN]
    rows = []
    for model in results.settings["models"]:
        own = plain[plain["model"] == model]
        keys = own[["attribute", "group"]].drop_duplicates().itertuples(index=False)
        for attribute, group in keys:
            group_rows = own[(own["attribute"] == attribute) & (own["group"] == group)]
            first = group_rows.iloc[0]
            rows.append(
                {
                    "model": model,
                    "attribute": attribute,
                    "group": group,
                    "patients": _count(first["n"]),
                    "events": _count(first["n_events"]),
                    "reliable": "yes" if first["reliable"] else "no",
                    "erm AUROC": estimate_entry(_one(group_rows, metric="roc_auc")),
                    "erm calibration intercept": estimate_entry(
                        _one(group_rows, metric="calibration_intercept"), 2, True
                    ),
                    "erm sensitivity": estimate_entry(
                        _one(group_rows, metric="sensitivity")
                    ),
                    "best for this group (AUROC difference)": _best_for(
                        deltas, model, attribute, group
                    ),
                }
            )
    table = pd.DataFrame(rows)
    if len(results.settings["models"]) == 1:
        table = table.drop(columns="model")
    return table


def _count(value):
    return "suppressed" if pd.isna(value) else f"{int(value):,}"


def _best_for(deltas, model, attribute, group):
    rows = deltas[
        (deltas["model"] == model)
        & (deltas["attribute"] == attribute)
        & (deltas["group"] == group)
        & (deltas["metric"] == "roc_auc")
        & deltas["difference"].notna()
    ]
    if rows.empty:
        return "n/a"
    best = rows.loc[rows["difference"].idxmax()]
    return f"{best['strategy']}: {difference_entry(best, 'roc_auc')}"


def fit_table(results):
    """Return mean fit seconds per strategy (rows) and base model (columns)."""
    table = results.fits.pivot_table(
        index="strategy", columns="model", values="fit_seconds", aggfunc="mean"
    )
    table = table.reindex(family_order(table.index)).round(2)
    table.columns.name = None
    return table.reset_index().map(lambda v: "not run" if pd.isna(v) else v)
