"""The bottom line of a benchmark in plain words: who is worst off, and what helps.

Per base model and sensitive attribute: the worst-off reliable group under plain
training (``erm``), the strategy that did best for that group with its paired
difference and interval against plain training, whether any strategy is
distinguishable from plain training there (its interval excludes 0), and the
calibration verdict. Everything is read from the frames as they may leave the process
(:func:`~healthbalance.benchmark._checks.released`), so a group the small-count
policy masks is named as too small to rank, never with its counts or estimates.
"""

import numpy as np

from healthbalance._small_counts import SUPPRESS_BELOW
from healthbalance.benchmark._checks import (
    CALIBRATION_TRAP,
    has_probabilities,
    released,
)
from healthbalance.metrics._registry import METRICS
from healthbalance.metrics._report_summary import (
    excludes_zero,
    interval,
    number,
    too_small_to_rank,
)

PLAIN = "erm"
LABELS = {
    "roc_auc": "AUROC",
    "average_precision": "average precision",
    "brier_score": "Brier score",
    "calibration_intercept": "calibration intercept",
}
CALIBRATION = ("calibration_intercept", "calibration_slope", "ece")


def label(metric):
    """Return the reader's name of ``metric`` (``"AUROC"`` for ``roc_auc``)."""
    return LABELS.get(metric, metric)


def better_sign(metric):
    """Return +1 if a higher ``metric`` is better, -1 if a lower one is."""
    return -1 if METRICS[metric].best == "min" else 1


def worst_row(rows, metric):
    """Return the row of the worst reliable group among ``rows``, or ``None``."""
    rows = rows[rows["reliable"].astype(bool) & rows["estimate"].notna()]
    if rows.empty:
        return None
    badness = -better_sign(metric) * rows["estimate"].to_numpy(dtype=float)
    return rows.iloc[int(np.argmax(badness))]


def _select(frame, **equal):
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def _difference(d, low, high):
    return f"{number(d, sign=True)}{interval(low, high, sign=True)}"


def bottom_line(results, *, metric="roc_auc", suppress_below=SUPPRESS_BELOW):
    """Return the bottom line of a benchmark as plain sentences.

    One line per sensitive attribute and base model (the attribute the strategies
    trained on first), read from the first seed: the worst-off reliable group under
    plain training (``erm``), the strategy that did best for that group with its
    paired difference and 95% interval against plain training, whether any strategy
    is distinguishable from plain training for it (the paired interval excludes 0),
    the calibration verdict of that strategy, and the groups too small to rank.

    Parameters
    ----------
    results : BenchmarkResults
        Output of :func:`run_benchmark`.
    metric : str, default="roc_auc"
        The metric that ranks the groups and the strategies; one of the benchmark's
        paired metrics (``roc_auc``, ``average_precision``, ``brier_score``).
    suppress_below : int, default=11
        Small-count threshold of :mod:`healthbalance._small_counts`: a
        group it masks is only named as too small to rank; 0 masks nothing.

    Returns
    -------
    summary : str
        One line per base model and attribute.

    See Also
    --------
    BenchmarkResults.summary : The same, as a method.
    healthbalance.metrics.GroupReport.summary : The bottom line of one report.

    Examples
    --------
    >>> from healthbalance.benchmark import bottom_line, run_benchmark
    >>> from healthbalance.datasets import make_icu_cohort
    >>> cohort = make_icu_cohort(2_000, random_state=0)
    >>> results = run_benchmark(cohort.data, cohort.target,
    ...                         cohort.sensitive_features[["sex"]],
    ...                         strategies=["erm", "reweighing"], models=["logistic"],
    ...                         quick=True, n_bootstrap=20, progress=False)
    >>> print(bottom_line(results))  # doctest: +ELLIPSIS
    sex, logistic: the worst-off group under plain training (erm) is ...
    """
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is unknown: use e.g. 'roc_auc'.")
    metrics, deltas = released(results, suppress_below)
    seed = results.settings["seeds"][0]
    metrics = _select(metrics, seed=seed, metric=metric)
    deltas = _select(deltas, seed=seed)
    trained = results.settings["attribute"]
    attributes = [a for a in dict.fromkeys(metrics["attribute"]) if a != "overall"]
    # the attribute the strategies trained on first, for every model
    attributes.sort(key=lambda a: a != trained)
    lines = [
        _line(metrics, deltas, model, attribute, metric)
        for attribute in attributes
        for model in results.settings["models"]
    ]
    if len(results.settings["seeds"]) > 1:
        lines.append(
            f"Estimates and intervals are those of seed {seed}; the tables hold "
            f"every one of the {len(results.settings['seeds'])} seeds."
        )
    return "\n".join(lines)


def _line(metrics, deltas, model, attribute, metric):
    rows = _select(metrics, model=model, attribute=attribute, strategy=PLAIN)
    small = rows.loc[~rows["reliable"].astype(bool), "group"].tolist()
    worst = worst_row(rows, metric)
    head = f"{attribute}, {model}:"
    if worst is None:
        text = f"{head} no group is reliable enough to rank under plain training."
        return " ".join(filter(None, [text, too_small_to_rank(small)]))
    group = worst["group"]
    parts = [
        f"{head} the worst-off group under plain training ({PLAIN}) is {group}, "
        f"{label(metric)} {number(worst['estimate'])}"
        f"{interval(worst['ci_low'], worst['ci_high'])}.",
        *_strategies_for(deltas, model, attribute, group, metric),
        too_small_to_rank(small),
    ]
    return " ".join(filter(None, parts))


def _strategies_for(deltas, model, attribute, group, metric):
    rows = _select(deltas, model=model, attribute=attribute, group=group)
    paired = _select(rows, metric=metric)
    paired = paired[paired["difference"].notna() & (paired["strategy"] != PLAIN)]
    if paired.empty:
        return ["No other strategy was compared with plain training for it."]
    sign = better_sign(metric)
    gain = sign * paired["difference"].to_numpy(dtype=float)
    best = paired.iloc[int(np.argmax(gain))]
    found = [_best_sentence(best, sign)]
    sure = paired[[excludes_zero(lo, hi) for lo, hi in _ci(paired)]]
    up = sure.loc[sign * sure["difference"] > 0, "strategy"].tolist()
    down = sure.loc[sign * sure["difference"] < 0, "strategy"].tolist()
    found.append(_distinguishable(up, down, group))
    found.append(_calibration(rows, best["strategy"], group))
    return found


def _ci(rows):
    return zip(rows["ci_low"], rows["ci_high"], strict=True)


def _best_sentence(best, sign):
    low, high = best["ci_low"], best["ci_high"]
    real = (
        "its interval excludes 0"
        if excludes_zero(low, high)
        else "its interval includes 0 (not distinguishable)"
    )
    lead = (
        "The strategy that did best for it is"
        if sign * best["difference"] > 0
        else "No strategy did better for it than plain training; the closest is"
    )
    return (
        f"{lead} {best['strategy']}: "
        f"{_difference(best['difference'], low, high)} against plain training, {real}."
    )


def _distinguishable(up, down, group):
    if not up and not down:
        return (
            f"No strategy is distinguishable from plain training for {group} "
            "(every paired interval includes 0)."
        )
    said = []
    if up:
        said.append(f"better with {', '.join(up)}")
    if down:
        said.append(f"worse with {', '.join(down)}")
    return (
        f"Distinguishable from plain training for {group} (interval excludes 0): "
        f"{'; '.join(said)}."
    )


def _calibration(rows, strategy, group):
    if not has_probabilities(strategy):
        return (
            f"Calibration: {strategy} is not a probability model (its scores are "
            "the probability of a randomized decision), so it has no calibration."
        )
    found = _select(rows, metric="calibration_intercept", strategy=strategy)
    if found.empty or not np.isfinite(found["estimate"].iloc[0]):
        return f"Calibration of {strategy} for {group}: n/a (undefined)."
    row = found.iloc[0]
    value = float(row["estimate"])
    plain = float(row["reference_estimate"])
    text = (
        f"Calibration for {group}: intercept {number(value, 2, True)} with "
        f"{strategy} against {number(plain, 2, True)} with plain training (0 is "
        "perfect)"
    )
    if abs(value) > CALIBRATION_TRAP and abs(value) > abs(plain):
        return (
            f"{text}: {strategy}'s probabilities misstate risk; recalibrate before "
            "reading them as risks."
        )
    if excludes_zero(row["ci_low"], row["ci_high"]):
        moved = "further from" if abs(value) > abs(plain) else "closer to"
        return f"{text}: {moved} 0 than plain training (interval excludes 0)."
    return f"{text}: not distinguishable from plain training's."
