"""Summary tables and plain-word checks of a benchmark.

Everything here reads the tidy frames of ``BenchmarkResults`` as they may leave the
process (after the small-count policy of :mod:`healthbalance._small_counts`
has masked them, see :func:`released`) and returns small aggregated tables or
sentences; the HTML report and the console print them. A value masked in the CSVs is
therefore never printed in a table, a sentence or a plot either.
"""

import numpy as np

from healthbalance._small_counts import SUPPRESS_BELOW, count_text, suppress
from healthbalance.benchmark._strategies import STRATEGIES

CALIBRATION_GAP = 0.2
CALIBRATION_TRAP = 0.5


def has_probabilities(strategy):
    """Whether the scores of ``strategy`` are risks, so that calibration applies."""
    spec = STRATEGIES.get(strategy)
    return spec is None or spec.probabilities


def _rows(frame, **equal):
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def released(results, suppress_below=SUPPRESS_BELOW):
    """Return the metrics and deltas frames as they may leave the process.

    Each is masked by :func:`~healthbalance._small_counts.suppress` as a
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
    table = table.join(_seed_mean(worst, keys).rename("worst-group AUROC"))
    sensitivity = _worst(results, "sensitivity", metrics)
    table = table.join(_seed_mean(sensitivity, keys).rename("worst-group sensitivity"))
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


def _seed_mean(rows, keys):
    """Mean over seeds, NaN if any seed's value is unknown."""
    grouped = rows.assign(unknown=rows["estimate"].isna()).groupby(keys)
    return grouped["estimate"].mean().where(~grouped["unknown"].any())


def _worst(results, metric, metrics):
    """Return the reliable group with the lowest value per seed, model, strategy.

    Where a reliable group's value is masked (small counts) or undefined, the
    worst is unknown: its estimate is NaN rather than the worst of the others.
    """
    keys = ["seed", "model", "strategy"]
    rows = _attribute_rows(results, metric, metrics)
    rows = rows[rows["reliable"].astype(bool)]
    unknown = rows.assign(unknown=rows["estimate"].isna()).groupby(keys)["unknown"]
    rows = rows.assign(unknown=unknown.transform("any"))
    worst = rows[rows["estimate"].notna()]
    worst = worst.loc[worst.groupby(keys)["estimate"].idxmin()]
    return worst.assign(estimate=worst["estimate"].where(~worst["unknown"]))


def run_checks(results, suppress_below):
    """Return ``(sentence, ok)`` pairs: what a reader should look at first.

    One sentence per kind of finding, listing every group or strategy it concerns.
    """
    metrics, deltas = released(results, suppress_below)
    found = [
        *_leakage(results),
        *_selection(results),
        *_representation(results, suppress_below),
        *_small_groups(results, metrics),
        *_calibration_gaps(results, metrics),
        *_calibration_trap(metrics),
        *_trades(results, deltas),
    ]
    return [(text, False) for text in found] or [
        ("No problems found by the automatic checks.", True)
    ]


def _listed(items):
    items = list(dict.fromkeys(map(str, items)))
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]


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
        f"{_listed(compared)}; left out as unreliable ({rule}) on some seed: "
        f"{_listed(left_out)}. Selection did not look at their results."
    ]


def _representation(results, suppress_below):
    table = results.representation
    if table is None or table.empty:
        return ["No reference population was given: representation was not checked."]
    low = table[table["ratio"] < 0.8]
    if low.empty:
        return []
    # a share is a count divided by the (printed) total: masked like the count
    shares = [
        f"{r.group} ({r.attribute}) "
        f"{_share_text(r.n, r.share, suppress_below)} against {r.reference_share:.1%}"
        for r in low.itertuples()
    ]
    return [
        "Under-represented against the reference population (share of the data "
        f"against the reference): {_listed(shares)}."
    ]


def _share_text(n, share, suppress_below):
    if 0 < n < suppress_below:
        return count_text(n, suppress_below) + " patients"
    return f"{share:.1%}"


def _small_groups(results, metrics):
    rows = _rows(metrics, strategy="erm", metric="roc_auc")
    first = rows["seed"] == results.settings["seeds"][0]
    rows = rows[first & ~rows["reliable"].astype(bool)]
    named = [
        f"{r.group} ({r.attribute})"
        for r in rows.drop_duplicates(["attribute", "group"]).itertuples()
    ]
    # The summary's worst-group columns skip a group unreliable on any seed or run.
    training = _attribute_rows(results, "roc_auc", metrics)
    left_out = sorted(set(training.loc[~training["reliable"].astype(bool), "group"]))
    sentence = []
    if named:
        sentence.append(
            "Too few test patients or events for reliable estimates: "
            f"{_listed(named)}; treat their results as unreliable."
        )
    if left_out:
        sentence.append(
            "The summary's worst-group AUROC and sensitivity leave out "
            f"{_listed(left_out)} ({results.settings['attribute']})."
        )
    return [" ".join(sentence)] if sentence else []


def _calibration_gaps(results, metrics):
    rows = _attribute_rows(results, "calibration_intercept", metrics)
    rows = rows[(rows["strategy"] == "erm") & rows["reliable"].astype(bool)]
    rows = rows[rows["estimate"].notna()]
    ranges = []
    for model, part in rows.groupby("model"):
        means = part.groupby("group")["estimate"].mean()
        if means.max() - means.min() > CALIBRATION_GAP:
            ranges.append(
                f"from {means.min():+.2f} ({means.idxmin()}) to {means.max():+.2f} "
                f"({means.idxmax()}) with {model}"
            )
    if not ranges:
        return []
    return [
        "With plain training the calibration intercept differs across groups, "
        f"{_listed(ranges)}: predicted risks are not equally trustworthy across "
        "groups."
    ]


def _calibration_trap(metrics):
    rows = _rows(metrics, attribute="overall", metric="calibration_intercept")
    rows = rows[[has_probabilities(s) for s in rows["strategy"]]]
    means = rows.groupby(["model", "strategy"])["estimate"].mean()
    moved = []
    for (model, strategy), value in means.items():
        erm = means.get((model, "erm"), 0.0)
        if abs(value) > CALIBRATION_TRAP and abs(value) > abs(erm) + 0.2:
            moved.append(f"{strategy} ({model}) {value:+.2f} against erm {erm:+.2f}")
    if not moved:
        return []
    return [
        "These strategies move the overall calibration intercept far from 0, so "
        f"their probabilities misstate risk: {_listed(moved)}. Correct the prior "
        "(prior_correction=True) or recalibrate on validation data before reading "
        "them as risks."
    ]


def _trades(results, deltas):
    rows = deltas[
        (deltas["metric"] == "roc_auc")
        & (deltas["attribute"] == results.settings["attribute"])
    ]
    trades = []
    for (seed, model, strategy), part in rows.groupby(["seed", "model", "strategy"]):
        better = ", ".join(part.loc[part["ci_low"] > 0, "group"])
        worse = ", ".join(part.loc[part["ci_high"] < 0, "group"])
        if better and worse:
            trades.append(
                f"{strategy} ({model}, seed {seed}) raised it for {better} but "
                f"lowered it for {worse}"
            )
    if not trades:
        return []
    return [
        "Trades between groups in AUROC (paired 95% intervals exclude 0): "
        f"{'; '.join(trades)}."
    ]
