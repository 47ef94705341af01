"""Summary tables and plain-word checks of a benchmark.

Everything here reads the tidy frames of ``BenchmarkResults`` as they may leave the
process (after the small-count policy of :mod:`healthbalance.metrics._small_counts`
has masked them, see :func:`released`) and returns small aggregated tables or
sentences; the HTML report and the console print them. A value masked in the CSVs is
therefore never printed in a table, a sentence or a plot either.
"""

import numpy as np
import pandas as pd

from healthbalance.metrics._small_counts import SUPPRESS_BELOW, suppress

CALIBRATION_GAP = 0.2
CALIBRATION_TRAP = 0.5


def _rows(frame, **equal):
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def released(results, suppress_below=SUPPRESS_BELOW):
    """Return the metrics and deltas frames as they may leave the process.

    Each is masked by :func:`~healthbalance.metrics._small_counts.suppress` as a
    whole (so complementary suppression sees every group); ``suppress_below=None``
    or 0 masks nothing.

    Parameters
    ----------
    results : BenchmarkResults
        Output of :func:`run_benchmark`.
    suppress_below : int or None, default=11
        Smallest count that may be released.

    Returns
    -------
    metrics, deltas : pandas.DataFrame
    """
    if not suppress_below:
        return results.metrics, results.deltas
    return (
        suppress(results.metrics, suppress_below),
        suppress(results.deltas, suppress_below),
    )


def _attribute_rows(results, metric, metrics):
    return _rows(metrics, metric=metric, attribute=results.settings["attribute"])


def summary_table(results, suppress_below=SUPPRESS_BELOW):
    """Return a row per (model, strategy) with the headline numbers (seed means)."""
    metrics, _ = released(results, suppress_below)
    overall = _rows(metrics, attribute="overall")
    keys = ["model", "strategy"]
    table = overall.pivot_table(
        index=keys, columns="metric", values="estimate", aggfunc="mean"
    )
    worst = _worst(results, "roc_auc", metrics)
    table = table.join(
        worst.groupby(keys)["estimate"].mean().rename("worst-group AUROC")
    )
    sensitivity = _worst(results, "sensitivity", metrics)
    table = table.join(
        sensitivity.groupby(keys)["estimate"].mean().rename("worst-group sensitivity")
    )
    table = table.join(results.fits.groupby(keys)["fit_seconds"].mean().rename("fit s"))
    names = {
        "roc_auc": "overall AUROC",
        "calibration_intercept": "calibration intercept",
        "calibration_slope": "calibration slope",
        "sensitivity": "overall sensitivity",
    }
    columns = [*names, "worst-group AUROC", "worst-group sensitivity", "fit s"]
    table = table.rename(columns=names)
    columns = [names.get(c, c) for c in columns if names.get(c, c) in table.columns]
    return table[columns].reset_index()


def _worst(results, metric, metrics):
    """Return the reliable group with the lowest value per seed, model, strategy."""
    rows = _attribute_rows(results, metric, metrics)
    rows = rows[rows["reliable"].astype(bool) & rows["estimate"].notna()]
    return rows.loc[rows.groupby(["seed", "model", "strategy"])["estimate"].idxmin()]


def delta_table(results, metric, suppress_below=SUPPRESS_BELOW):
    """Return the first seed's paired differences against erm, one column per group."""
    _, deltas = released(results, suppress_below)
    seed = results.settings["seeds"][0]
    attribute = results.settings["attribute"]
    rows = deltas[
        (deltas["seed"] == seed)
        & (deltas["metric"] == metric)
        & deltas["attribute"].isin([attribute, "overall"])
        & (deltas["strategy"] != "erm")
        & deltas["difference"].notna()
    ]
    if rows.empty:
        return pd.DataFrame()
    text = rows.assign(
        value=[
            f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            for d, lo, hi in zip(
                rows["difference"], rows["ci_low"], rows["ci_high"], strict=True
            )
        ]
    )
    table = text.pivot_table(
        index=["model", "strategy"], columns="group", values="value", aggfunc="first"
    )
    return table.reset_index()


def group_table(results, suppress_below):
    """Return the first seed's per-group metrics of the training attribute."""
    frame, _ = released(results, suppress_below)
    rows = frame[
        (frame["seed"] == results.settings["seeds"][0])
        & frame["attribute"].isin([results.settings["attribute"], "overall"])
        & frame["metric"].isin(["roc_auc", "calibration_intercept", "sensitivity"])
    ]
    rows = rows.assign(
        n=_shown_count(rows["n"]), n_events=_shown_count(rows["n_events"])
    )
    wide = rows.pivot_table(
        index=["model", "strategy", "group", "n", "n_events"],
        columns="metric",
        values="estimate",
        aggfunc="first",
        dropna=False,
    )
    return wide.round(3).reset_index()


def _shown_count(counts):
    return [str(c) if not pd.isna(c) else "suppressed" for c in counts]


def fit_table(results):
    """Return mean fit seconds per strategy (rows) and base model (columns)."""
    return results.fits.pivot_table(
        index="strategy", columns="model", values="fit_seconds", aggfunc="mean"
    ).reset_index()


def run_checks(results, suppress_below):
    """Return ``(sentence, ok)`` pairs: what a reader should look at first."""
    metrics, deltas = released(results, suppress_below)
    found = [
        *_leakage(results),
        *_selection(results),
        *_worst_group_scope(results, metrics),
        *_representation(results),
        *_small_groups(results, metrics),
        *_calibration_gaps(results, metrics),
        *_calibration_trap(metrics),
        *_trades(results, deltas),
    ]
    return [(text, False) for text in found] or [
        ("No problems found by the automatic checks.", True)
    ]


def _leakage(results):
    return [
        f"Column {column!r} alone predicts the outcome almost perfectly (AUROC "
        f"{auroc:.3f}) and was kept because leaky columns were allowed: every "
        "strategy's results may be too good to be true; rerun with --exclude "
        f"{column} unless it is a real predictor."
        for column, auroc in results.settings.get("leaky_columns", {}).items()
    ]


def _selection(results):
    """Name the groups model selection left out as unreliable (never their counts)."""
    left_out = results.settings.get("selection_unreliable", [])
    if not left_out:
        return []
    attribute = results.settings["attribute"]
    compared = results.settings.get("selection_compared", [])
    rule = "fewer than 30 validation patients, or fewer than 10 events or non-events"
    if not compared:
        return [
            f"No {attribute} group was reliable on validation ({rule}): model "
            "selection used the overall AUROC, not the worst group's."
        ]
    return [
        f"Model selection (worst-group validation AUROC by {attribute}) compared only "
        f"{_join(compared)}; left out as unreliable ({rule}) on some seed: "
        f"{_join(left_out)}. Selection did not look at their results."
    ]


def _worst_group_scope(results, metrics):
    """Say which test groups the worst-group columns of the summary leave out."""
    rows = _attribute_rows(results, "roc_auc", metrics)
    reliable = rows["reliable"].astype(bool)
    left_out = sorted(set(rows.loc[~reliable, "group"]))
    if not left_out:
        return []
    return [
        "The worst-group AUROC and sensitivity of the summary compare only the "
        f"{results.settings['attribute']} groups reliable on the test set; left out "
        f"(too few test patients or events on some seed or strategy): "
        f"{_join(left_out)}."
    ]


def _join(names):
    return ", ".join(str(n) for n in names)


def _representation(results):
    table = results.representation
    if table is None or table.empty:
        return ["No reference population was given: representation was not checked."]
    return [
        f"{r.group} ({r.attribute}) makes up {r.share:.1%} of the data against "
        f"{r.reference_share:.1%} in the reference population (ratio {r.ratio:.2f})."
        for r in table[table["ratio"] < 0.8].itertuples()
    ]


def _small_groups(results, metrics):
    rows = _rows(metrics, strategy="erm", metric="roc_auc")
    first = rows["seed"] == results.settings["seeds"][0]
    rows = rows[first & ~rows["reliable"].astype(bool)]
    return [
        f"{r.group} ({r.attribute}) has too few test patients or events for reliable "
        f"estimates ({_size(r.n)}): treat its results as unreliable."
        for r in rows.drop_duplicates(["attribute", "group"]).itertuples()
    ]


def _size(n):
    return "its size is suppressed" if pd.isna(n) else f"n = {n}"


def _calibration_gaps(results, metrics):
    rows = _attribute_rows(results, "calibration_intercept", metrics)
    rows = rows[(rows["strategy"] == "erm") & rows["reliable"].astype(bool)]
    rows = rows[rows["estimate"].notna()]
    found = []
    for model, part in rows.groupby("model"):
        means = part.groupby("group")["estimate"].mean()
        if means.max() - means.min() > CALIBRATION_GAP:
            found.append(
                f"With plain training ({model}) the calibration intercept ranges from "
                f"{means.min():+.2f} ({means.idxmin()}) to {means.max():+.2f} "
                f"({means.idxmax()}): predicted risks are not equally trustworthy "
                "across groups."
            )
    return found


def _calibration_trap(metrics):
    rows = _rows(metrics, attribute="overall", metric="calibration_intercept")
    means = rows.groupby(["model", "strategy"])["estimate"].mean()
    found = []
    for (model, strategy), value in means.items():
        erm = means.get((model, "erm"), 0.0)
        if abs(value) > CALIBRATION_TRAP and abs(value) > abs(erm) + 0.2:
            found.append(
                f"{strategy} ({model}) moves the calibration intercept to {value:+.2f} "
                f"(erm: {erm:+.2f}): its probabilities misstate risk. Correct the "
                "prior (prior_correction=True) or recalibrate on validation data "
                "before reading them as risks."
            )
    return found


def _trades(results, deltas):
    rows = deltas[
        (deltas["metric"] == "roc_auc")
        & (deltas["attribute"] == results.settings["attribute"])
    ]
    found = []
    for (seed, model, strategy), part in rows.groupby(["seed", "model", "strategy"]):
        better = ", ".join(part.loc[part["ci_low"] > 0, "group"])
        worse = ", ".join(part.loc[part["ci_high"] < 0, "group"])
        if better and worse:
            found.append(
                f"{strategy} ({model}, seed {seed}) raised AUROC for {better} but "
                f"lowered it for {worse} (paired 95% intervals exclude 0)."
            )
    return found
