"""Actual coverage of group_report's nominal 95% intervals on known populations.

Each scenario is a population with known per-group truth: true risk
``p = expit(mu_g + z)`` with ``z ~ N(0, 1)`` and ``mu_g`` set for the group's
prevalence, outcome ``y ~ Bernoulli(p)``, model score ``expit(a + b * logit(p))``
(``a = 0, b = 1`` is a calibrated model; ``b < 1`` over-confident, ``a != 0``
shifted). The true value of every metric is its value on a very large sample of
the population (2,000,000 patients in all, Monte Carlo error about 1e-3, small next to
the interval widths), with the
group sizes of the scenario in the same proportions (so the ``overall`` truth is
the mix the design fixes). For each of ``--reps`` simulated data sets a report is
built with ``--boot`` replicates; the table prints, per metric, the share of
intervals that contain the truth with its Monte Carlo standard error ``sqrt(c (1 -
c) / k)`` (``k`` intervals in the cell), for the ``overall`` row, the groups and the
paired ``disparity`` (group minus the first group); the groups of the first
attribute are shown by size (``n=2000``), the other attributes and intersections
pooled as ``other``. ``ece`` is biased away from 0 by construction: its row prints
the mean bias (estimate - truth) instead. The ``wilson`` rows are Wilson (score)
intervals of the proportions computed by scipy from each group's raw counts, for
comparison with the percentile bootstrap; the mean widths of both follow the table.
The scenarios ``ici`` (miscalibrated) and ``ici_calibrated`` add the smooth
calibration errors ``ici``, ``e50``, ``e90`` and ``emax``; for the calibrated model
their truth is 0, so their rows show the bias like ``ece``.

With ``--decision-curve``, each scenario also gets the coverage of
``decision_curve``'s pointwise intervals of net benefit at the thresholds
``DC_THRESHOLDS`` (the clinically relevant range of the benchmark report), per
kind of row; the truth is the net benefit of the large sample by a plain numpy
count (``score >= t``), not our code.

Usage: python benchmarks/bench_coverage.py [--reps 200] [--boot 400]
       [--stratify intersection] [--scenarios main,small,...] [--decision-curve]
"""

import argparse
import inspect
import os
import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit
from scipy.stats import binomtest

from healthbalance.metrics import decision_curve, group_report

METRICS = [
    "prevalence",
    "roc_auc",
    "average_precision",
    "brier_score",
    "log_loss",
    "calibration_intercept",
    "calibration_slope",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "net_benefit",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
    "ece",
]
# the smooth calibration errors, asked for by the scenarios of SMOOTH_SCENARIOS only
# (a loess per group and replicate); with a calibrated model their truth is 0 and
# their row shows the bias, as ece's
SMOOTH = ["ici", "e50", "e90", "emax"]
THRESHOLD = 0.2
BIASED = {"ece"}
# proportions whose Wilson (score) interval, from the group's counts, is compared
WILSON = ["sensitivity", "specificity", "ppv", "npv"]
TRUTH_ROWS = 2_000_000
DC_THRESHOLDS = np.array([0.05, 0.1, 0.2, 0.3, 0.5])

# name: (group sizes (one attribute) or {attribute: levels} sizes, prevalences, a, b)
SCENARIOS = {
    "main": ({"g": [2000, 2000]}, [0.1, 0.1], 0.0, 1.0),
    "miscalibrated": ({"g": [2000, 2000]}, [0.1, 0.1], 1.0, 0.5),
    "rare": ({"g": [2000, 2000]}, [0.02, 0.02], 0.0, 1.0),
    "common": ({"g": [2000, 2000]}, [0.3, 0.3], 0.5, 1.5),
    "small": ({"g": [100, 300]}, [0.1, 0.1], 0.0, 1.0),
    "large": ({"g": [20000, 5000]}, [0.1, 0.1], 0.0, 1.0),
    "sizes": ({"g": [100, 300, 2000, 20000]}, [0.1] * 4, 0.0, 1.0),
    "two_attributes": ({"race": [1200, 600, 200], "sex": [2, 2]}, None, 0.0, 1.0),
    "ici": ({"g": [2000, 2000]}, [0.1, 0.2], 0.3, 0.7),
    "ici_calibrated": ({"g": [2000, 2000]}, [0.1, 0.2], 0.0, 1.0),
}
SMOOTH_SCENARIOS = {"ici", "ici_calibrated"}


def metrics_of(scenario):
    """The metrics of a scenario: METRICS, and SMOOTH for the ICI scenarios."""
    return METRICS + (SMOOTH if scenario in SMOOTH_SCENARIOS else [])


def biased_of(scenario):
    """Metrics whose row shows the bias: ece, and SMOOTH for a calibrated model."""
    calibrated = SCENARIOS[scenario][2:] == (0.0, 1.0)
    return BIASED | (set(SMOOTH) if calibrated else set())


def _mu_for(prevalence):
    """Mean logit giving a population prevalence (logit-normal, sd 1)."""
    z = np.random.default_rng(123).standard_normal(400_000)
    return brentq(lambda mu: expit(mu + z).mean() - prevalence, -10, 10)


def population(sizes, prevalences, rng):
    """Sensitive features and true risks of a data set with these group sizes."""
    if prevalences is not None:  # one attribute "g"
        mus = [_mu_for(q) for q in prevalences]
        g = np.repeat([f"g{k}" for k in range(len(sizes["g"]))], sizes["g"])
        mu = np.repeat(mus, sizes["g"])
        return pd.DataFrame({"g": g}), expit(mu + rng.standard_normal(g.size))
    race_sizes = sizes["race"]
    race = np.repeat([f"r{k}" for k in range(len(race_sizes))], race_sizes)
    sex = np.where(rng.random(race.size) < 0.5, "F", "M")
    mu = np.where(race == "r0", _mu_for(0.1), _mu_for(0.15))
    mu = mu + np.where(sex == "F", -0.3, 0.3)
    frame = pd.DataFrame({"race": race, "sex": sex})
    return frame, expit(mu + rng.standard_normal(race.size))


def draw(scale, scenario, rng):
    sizes, prevalences, a, b = SCENARIOS[scenario]
    scaled = {k: [int(s * scale) for s in v] for k, v in sizes.items()}
    if prevalences is None:
        scaled["sex"] = sizes["sex"]
    frame, p = population(scaled, prevalences, rng)
    y = rng.binomial(1, p)
    score = expit(a + b * logit(np.clip(p, 1e-12, 1 - 1e-12)))
    return y, score, frame


def report(y, score, frame, boot, seed, stratify, metrics=METRICS):
    kwargs = {"stratify": stratify} if stratify else {}
    return group_report(
        y,
        score,
        sensitive_features=frame,
        metrics=metrics,
        threshold=THRESHOLD,
        n_bootstrap=boot,
        min_group_size=1,
        min_events=1,
        random_state=seed,
        **kwargs,
    )


def truth(scenario):
    sizes = SCENARIOS[scenario][0]
    scale = TRUTH_ROWS / sum(sizes[next(iter(sizes))])
    y, score, frame = draw(scale, scenario, np.random.default_rng(2024))
    rep = report(y, score, frame, 0, 0, None, metrics_of(scenario))
    true = rep.to_frame().set_index(["attribute", "group", "metric"])["estimate"]
    return true, _disparities(rep, frame.columns[0])


def _disparities(rep, attribute):
    """Paired differences of each group of ``attribute`` minus its first group."""
    first = rep.to_frame().query("attribute == @attribute")["group"].iloc[0]
    parts = [
        rep.disparity(metric, reference=first, attribute=attribute)
        for metric in rep.metrics
    ]
    d = pd.concat(parts, ignore_index=True)
    d = d[d["group"] != d["reference"]]
    return d.set_index(["attribute", "group", "metric"])


def coverage(scenario, reps, boot, stratify):
    true, true_disp = truth(scenario)
    first_attribute = next(iter(SCENARIOS[scenario][0]))
    hits = []
    rng = np.random.default_rng(7)
    for r in range(reps):
        y, score, frame = draw(1.0, scenario, rng)
        rep = report(y, score, frame, boot, r, stratify, metrics_of(scenario))
        f = rep.to_frame().set_index(["attribute", "group", "metric"])
        t = true.reindex(f.index)
        kind = _row_kind(f, first_attribute)
        covered = (f["ci_low"] <= t) & (t <= f["ci_high"])
        hits.append(
            pd.DataFrame(
                {
                    "metric": f.index.get_level_values(2),
                    "row": kind,
                    "covered": covered.to_numpy(float),
                    "bias": (f["estimate"] - t).to_numpy(),
                    "width": (f["ci_high"] - f["ci_low"]).to_numpy(),
                }
            )
        )
        hits.append(_wilson_hits(y, score, frame, first_attribute, true))
        d = _disparities(rep, first_attribute)
        td = true_disp.reindex(d.index)["difference"]
        dcov = (d["difference_ci_low"] <= td) & (td <= d["difference_ci_high"])
        hits.append(
            pd.DataFrame(
                {
                    "metric": d.index.get_level_values(2),
                    "row": "disparity",
                    "covered": dcov.to_numpy(float),
                    "bias": (d["difference"] - td).to_numpy(),
                    "width": (d["difference_ci_high"] - d["difference_ci_low"]),
                }
            )
        )
    return pd.concat(hits, ignore_index=True)


def _row_kind(f, first_attribute):
    """Column of each row: overall, the groups of the first attribute by size, other."""
    attribute = f.index.get_level_values(0)
    sizes = "n=" + f["n"].astype(int).astype(str).to_numpy()
    return np.where(
        attribute == "overall",
        "overall",
        np.where(attribute == first_attribute, sizes, "other"),
    )


def _wilson_hits(y, score, frame, attribute, true):
    """Coverage of Wilson intervals (scipy) of the proportions, from raw counts."""
    labels = frame[attribute].to_numpy()
    keys = [("overall", "overall", np.ones(y.size, bool))]
    keys += [(attribute, g, labels == g) for g in np.unique(labels)]
    rows = []
    for key, group, member in keys:
        yg, pred = y[member], score[member] >= THRESHOLD
        tp, fp = int(np.sum(pred & (yg == 1))), int(np.sum(pred & (yg == 0)))
        fn, tn = int(np.sum(~pred & (yg == 1))), int(np.sum(~pred & (yg == 0)))
        pairs = {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp),
                 "ppv": (tp, tp + fp), "npv": (tn, tn + fn)}  # fmt: skip
        for metric, (k, n) in pairs.items():
            t = true.loc[(key, group, metric)]
            low, high = _wilson(k, n)
            rows.append(
                {
                    "metric": f"{metric} wilson",
                    "row": "overall" if key == "overall" else f"n={member.sum()}",
                    "covered": float(low <= t <= high),
                    "bias": np.nan,
                    "width": high - low,
                }
            )
    return pd.DataFrame(rows)


def _wilson(k, n):
    if n == 0:
        return np.nan, np.nan
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def table(hits, metrics=METRICS, biased=BIASED):
    """Coverage ± Monte Carlo error (or ECE's bias) per metric and kind of row."""
    rows = []
    for (metric, row), h in hits.groupby(["metric", "row"], sort=False):
        c = h["covered"].mean()
        if h["width"].isna().all():
            text = "no interval"
        elif metric in biased:
            text = f"bias {h['bias'].mean():+.4f}"
        else:
            text = f"{c:.3f} ± {np.sqrt(c * (1 - c) / len(h)):.3f}"
        rows.append({"metric": metric, "row": row, "value": text})
    wide = pd.DataFrame(rows).pivot(index="metric", columns="row", values="value")
    return wide.reindex(index=metrics + [f"{m} wilson" for m in WILSON])[
        sorted(wide.columns, key=_column_order)
    ]


def _column_order(row):
    return (row.startswith("n="), int(row[2:]) if row.startswith("n=") else 0, row)


def widths(hits):
    """Mean interval width of the proportions, percentile bootstrap and Wilson."""
    names = WILSON + [f"{m} wilson" for m in WILSON]
    shown = hits[hits["metric"].isin(names)]
    wide = shown.pivot_table(index="metric", columns="row", values="width")
    return wide.reindex(index=names)[sorted(wide.columns, key=_column_order)]


def _true_net_benefit(y, score, frame):
    """Net benefit of every group of every attribute by a plain count (no our code)."""
    keys = [("overall", "overall", np.ones(y.size, bool))]
    for attribute in frame.columns:
        labels = frame[attribute].to_numpy()
        keys += [(attribute, g, labels == g) for g in np.unique(labels)]
    w = DC_THRESHOLDS / (1 - DC_THRESHOLDS)
    values = {}
    for attribute, group, member in keys:
        treated = score[member][:, None] >= DC_THRESHOLDS
        event = y[member][:, None] == 1
        tp, fp = (treated & event).sum(0), (treated & ~event).sum(0)
        for t, nb in zip(DC_THRESHOLDS, (tp - fp * w) / member.sum(), strict=True):
            values[(attribute, group, t)] = nb
    return pd.Series(values)


def curve_coverage(scenario, reps, boot, stratify):
    """Coverage of decision_curve's intervals per threshold and kind of row."""
    sizes = SCENARIOS[scenario][0]
    scale = TRUTH_ROWS / sum(sizes[next(iter(sizes))])
    true = _true_net_benefit(*draw(scale, scenario, np.random.default_rng(2024)))
    first_attribute = next(iter(sizes))
    kwargs = {"stratify": stratify} if stratify else {}
    rng, hits = np.random.default_rng(7), []
    for r in range(reps):
        y, score, frame = draw(1.0, scenario, rng)
        f = decision_curve(
            y, score, sensitive_features=frame, thresholds=DC_THRESHOLDS,
            n_bootstrap=boot, min_group_size=1, min_events=1, random_state=r,
            **kwargs,
        ).to_frame()  # fmt: skip
        f = f.set_index(["attribute", "group", "threshold"])
        t = true.reindex(f.index).to_numpy()
        known = ~np.isnan(t)
        covered = (f["ci_low"].to_numpy() <= t) & (t <= f["ci_high"].to_numpy())
        hits.append(
            pd.DataFrame(
                {
                    "threshold": f.index.get_level_values(2)[known],
                    "row": _row_kind(f, first_attribute)[known],
                    "covered": covered[known].astype(float),
                }
            )
        )
    hits = pd.concat(hits, ignore_index=True)
    cells = hits.groupby(["threshold", "row"])["covered"].agg(["mean", "size"])
    text = [
        f"{c:.3f} ± {np.sqrt(c * (1 - c) / k):.3f}"
        for c, k in zip(cells["mean"], cells["size"], strict=True)
    ]
    wide = pd.Series(text, index=cells.index).unstack("row")
    return wide[sorted(wide.columns, key=_column_order)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--boot", type=int, default=400)
    parser.add_argument("--stratify", default=None)
    parser.add_argument("--scenarios", default="main,miscalibrated,small")
    parser.add_argument("--decision-curve", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # small-group warnings are expected here
    has_stratify = "stratify" in inspect.signature(group_report).parameters
    stratify = args.stratify if has_stratify else None
    print(
        f"load average {os.getloadavg()[0]:.1f}; stratify={stratify or 'default'}; "
        f"{args.reps} data sets x {args.boot} replicates; threshold {THRESHOLD}"
    )
    for scenario in args.scenarios.split(","):
        start = time.perf_counter()
        hits = coverage(scenario, args.reps, args.boot, stratify)
        sizes, prevalences, a, b = SCENARIOS[scenario]
        print(
            f"\n{scenario}: sizes {sizes}, prevalences {prevalences or 'mixed'}, "
            f"score = expit({a} + {b} logit p)  ({time.perf_counter() - start:.0f} s)"
        )
        print(table(hits, metrics_of(scenario), biased_of(scenario)).to_string())
        print("mean interval width:")
        print(widths(hits).round(4).to_string())
        if args.decision_curve:
            start = time.perf_counter()
            curves = curve_coverage(scenario, args.reps, args.boot, stratify)
            print(
                "net benefit (decision_curve), coverage per threshold "
                f"({time.perf_counter() - start:.0f} s):"
            )
            print(curves.to_string())


if __name__ == "__main__":
    main()
