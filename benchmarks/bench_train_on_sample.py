"""Train on a weighted sample, evaluate on everything: what the sample costs.

The synthetic ICU cohort (``--n-samples`` patients) as a Dask DataFrame; a sample of
at most ``--per-cell`` patients per race x outcome cell is drawn on the partitions,
each row kept with its cell's probability (a hash of its identifier against it) and
weighted by the inverse. Logistic regression (the benchmark's preprocessing) is then
fitted on every patient, on the weighted sample and on the sample without its
weights, and each is evaluated on ``--n-test`` other patients: fit time, AUROC
overall and per group, and the mean predicted risk against the observed event rate.

Usage: python benchmarks/bench_train_on_sample.py [--n-samples 400000]
       [--per-cell 5000] [--n-test 200000]
"""

import argparse
import time

import dask
import dask.dataframe as dd
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from healthbalance.benchmark._models import make_preprocessor
from healthbalance.datasets import make_icu_cohort

CELL = ["race_ethnicity", "in_hospital_mortality"]


def weighted_sample(frame, per_cell):
    """Return at most about ``per_cell`` rows per cell, weighted by the inverse."""
    counts = frame.groupby(CELL).size().compute()
    keep = (per_cell / counts).clip(upper=1.0)

    def draw(part):
        p = keep.reindex(pd.MultiIndex.from_frame(part[CELL])).to_numpy()
        hashed = pd.util.hash_pandas_object(part["stay_id"], index=False)
        chosen = hashed.to_numpy() / 2.0**64 < p
        return part[chosen].assign(weight=1.0 / p[chosen])

    return frame.map_partitions(draw).compute()


def fit(data, features, weight=None):
    model = make_pipeline(make_preprocessor(), LogisticRegression(max_iter=1000))
    params = {} if weight is None else {"logisticregression__sample_weight": weight}
    start = time.perf_counter()
    model.fit(data[features], data["in_hospital_mortality"], **params)
    return model, time.perf_counter() - start


def evaluate(model, test, features):
    score = pd.Series(model.predict_proba(test[features])[:, 1], index=test.index)
    y = test["in_hospital_mortality"]
    groups = {
        group: roc_auc_score(y[rows], score[rows])
        for group, rows in test.groupby("race_ethnicity").groups.items()
    }
    return roc_auc_score(y, score), groups, score.mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=400_000)
    parser.add_argument("--per-cell", type=int, default=5_000)
    parser.add_argument("--n-test", type=int, default=200_000)
    args = parser.parse_args()
    cohort = make_icu_cohort(args.n_samples, random_state=0)
    features = list(cohort.data.columns)
    test = make_icu_cohort(args.n_test, random_state=1).frame
    with dask.config.set(scheduler="sync"):
        sample = weighted_sample(
            dd.from_pandas(cohort.frame, npartitions=8), args.per_cell
        )
    print(
        f"sample: {len(sample)} of {args.n_samples} patients "
        f"({len(sample) / args.n_samples:.1%}), weights summing to "
        f"{sample['weight'].sum():.0f}; test: {args.n_test} patients, observed event "
        f"rate {test['in_hospital_mortality'].mean():.4f}"
    )
    fitted = {
        "every patient": fit(cohort.frame, features),
        "weighted sample": fit(sample, features, sample["weight"].to_numpy()),
        "sample, unweighted": fit(sample, features),
    }
    reference = evaluate(fitted["every patient"][0], test, features)[1]
    print(
        f"{'trained on':20} {'fit s':>6} {'AUROC':>7} {'worst':>7} "
        f"{'max |dAUROC|':>13} {'mean risk':>10}"
    )
    for name, (model, seconds) in fitted.items():
        overall, groups, mean_risk = evaluate(model, test, features)
        gap = max(abs(groups[g] - reference[g]) for g in groups)
        print(
            f"{name:20} {seconds:6.1f} {overall:7.4f} {min(groups.values()):7.4f} "
            f"{gap:13.4f} {mean_risk:10.4f}"
        )


if __name__ == "__main__":
    main()
