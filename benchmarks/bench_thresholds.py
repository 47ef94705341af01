"""Do per-group sensitivity targets hold on new patients? A simulation, known truth.

Scores on the logit scale are N(0, 1) for non-events and N(mu, 1) for events, three
non-events per event, so the TRUE sensitivity at a risk threshold t is
``norm.sf(logit(t) - mu)`` and its true specificity ``norm.cdf(logit(t))``. Each data
set holds one group per events count; ``GroupThresholdClassifier`` (target
sensitivity 0.8) chooses every group's threshold, and the table prints, per events
count and ``confidence``, the exact share of groups whose true sensitivity reaches
0.8 (with its Monte Carlo standard error), the mean true sensitivity and
specificity at the chosen thresholds, and the share of groups warned as too small.

``prefit``: a fixed model scores the rows passed to ``fit`` (a validation set), so
the promise is exact. ``cv=5``: a logistic regression is refitted on x; thresholds
come from the out-of-fold models, decisions from the refitted one (the documented
approximation).

Finally, 300 random data sets compare the benchmark's former ``roc_curve``
threshold (``drop_intermediate=True``) and the shared search against a brute force.

Run: ``.venv/bin/python benchmarks/bench_thresholds.py [--n-sets N] [--n-cv-sets N]``.
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve

from healthbalance.benchmark._protocol import sensitivity_threshold
from healthbalance.training import GroupThresholdClassifier, UnreachableTargetWarning

EVENTS = (10, 20, 50, 100, 200, 500)
SEPARATION = 1.5
TARGET = 0.8


def simulate(rng, events):
    """One data set: x, y and the group (named by its events count) of each row."""
    counts = np.asarray(events)
    y = np.repeat(np.tile([1, 0], counts.size), np.c_[counts, 3 * counts].ravel())
    groups = np.repeat(counts, 4 * counts)
    return rng.normal(size=y.size) + SEPARATION * y, y, groups


def fixed_model():
    """A fitted logistic model whose risk is expit(x)."""
    model = LogisticRegression().fit([[-1.0], [1.0]], [0, 1])
    model.coef_, model.intercept_ = np.array([[1.0]]), np.array([0.0])
    return model


def logit_thresholds(model):
    """Each group's threshold on the logit scale of x, through the model used."""
    risk = model.thresholds_.to_numpy()
    inner = model.estimator_
    inner = getattr(inner, "estimator", inner)  # FrozenEstimator for "prefit"
    w, b = inner.coef_[0, 0], inner.intercept_[0]
    return (np.log(risk) - np.log1p(-risk) - b) / w


def run(cv, confidence, n_sets, seed):
    rng = np.random.default_rng(seed)
    estimator = fixed_model() if cv == "prefit" else LogisticRegression()
    model = GroupThresholdClassifier(
        estimator, cv=cv, target=TARGET, confidence=confidence, random_state=seed
    )
    rows = []
    for _ in range(n_sets):
        x, y, groups = simulate(rng, EVENTS)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnreachableTargetWarning)
            model.fit(x[:, None], y, sensitive_features=groups)
        t = logit_thresholds(model)
        rows.append(
            pd.DataFrame(
                {
                    "events": model.groups_,
                    "sensitivity": norm.sf(t - SEPARATION),
                    "specificity": norm.cdf(t),
                    "warned": ~model.operating_points_["reached"].to_numpy(),
                }
            )
        )
        assert len(caught) == rows[-1]["warned"].sum()
    frame = pd.concat(rows)
    frame["holds"] = frame["sensitivity"] >= TARGET
    frame["events"] = frame["events"].astype(int)  # group labels are strings
    table = frame.groupby("events").mean()
    table["mc_se"] = np.sqrt(table["holds"] * (1 - table["holds"]) / n_sets)
    return table.assign(cv=str(cv), confidence=str(confidence))


def old_roc_threshold(y, score, target):
    _, tpr, thresholds = roc_curve(y, score)
    return float(thresholds[np.argmax(tpr >= target)])


def protocol_check(n_sets=300):
    wrong = {"roc_curve (old)": 0, "shared search": 0}
    for seed in range(n_sets):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(10, 400))
        y = (rng.random(n) < rng.uniform(0.05, 0.5)).astype(int)
        y[:2] = [0, 1]
        score = rng.normal(size=n) + rng.uniform(0, 2) * y
        target = float(rng.uniform(0.05, 0.95))
        best = max(t for t in np.unique(score) if np.mean(score[y == 1] >= t) >= target)
        wrong["roc_curve (old)"] += int(old_roc_threshold(y, score, target) != best)
        wrong["shared search"] += int(sensitivity_threshold(y, score, target) != best)
    return wrong


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sets", type=int, default=300)
    parser.add_argument("--n-cv-sets", type=int, default=40)
    args = parser.parse_args()
    start = time.perf_counter()
    tables = [
        run("prefit", confidence, args.n_sets, seed=0)
        for confidence in (None, 0.9, 0.95)
    ]
    tables += [run(5, c, args.n_cv_sets, seed=1) for c in (None, 0.9)]
    table = pd.concat(tables).reset_index()
    columns = ["cv", "confidence", "events", "holds", "mc_se"]
    columns += ["sensitivity", "specificity", "warned"]
    pd.set_option("display.width", 120)
    print(f"target sensitivity {TARGET}, events N(1.5, 1), non-events N(0, 1)")
    print(table[columns].to_string(index=False, float_format="{:.3f}".format))
    print("wrong thresholds in 300 random data sets:", protocol_check())
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
