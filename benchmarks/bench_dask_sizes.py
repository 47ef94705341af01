"""Benchmark the Dask binning error against the number of rows and of score bins.

On a 2-worker ``distributed.LocalCluster``, scores with normal logits (mean -2, SD
1.2), four race groups crossed with sex, outcomes from the logits shifted by 0.3 in
one group, are evaluated by :func:`group_report` from Dask and from arrays (AUROC
and average precision, no bootstrap). Printed per size and ``n_score_bins``: the
largest difference over the groups, the reported bound of that group
(``GroupReport.binning_bound``), and whether every group's difference is within
its bound. The table of docs/user_guide/scaling.rst ("At which sizes the targets
hold") was made with the defaults; its 1,000,000-row line is from bench_dask.py.

Usage: python benchmarks/bench_dask_sizes.py [--n 10000 100000] [--bins 16384 65536]
"""

import argparse

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

from healthbalance.metrics import group_report

METRICS = ["roc_auc", "average_precision"]


def make_rows(n, seed=0):
    """Scores, outcomes and groups of ``n`` patients."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05])
    sex = rng.choice(["F", "M"], n)
    z = rng.normal(-2, 1.2, n)
    risk = 1 / (1 + np.exp(-(z + 0.3 * (race == "c"))))
    y = (rng.random(n) < risk).astype(int)
    return pd.DataFrame({"y": y, "p": 1 / (1 + np.exp(-z)), "race": race, "sex": sex})


def differences(rows, n_score_bins):
    """Per group and metric: the Dask estimate's difference and its bound."""
    options = {"metrics": METRICS, "threshold": 0.2, "n_bootstrap": 0}
    memory = group_report(
        rows["y"], rows["p"], sensitive_features=rows[["race", "sex"]], **options
    ).to_frame()
    parts = dd.from_pandas(rows, npartitions=7)
    report = group_report(
        parts["y"],
        parts["p"],
        sensitive_features=parts[["race", "sex"]],
        n_score_bins=n_score_bins,
        **options,
    )
    keys = ["attribute", "group", "metric"]
    frame = report.to_frame().merge(memory, on=keys)
    frame["difference"] = (frame["estimate_x"] - frame["estimate_y"]).abs()
    bounds = report.binning_bound.melt(
        id_vars=["attribute", "group"], var_name="metric", value_name="bound"
    )
    return frame.merge(bounds, on=keys)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--bins", type=int, nargs="+", default=[16_384, 65_536])
    args = parser.parse_args()
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        for n in args.n:
            rows = make_rows(n)
            for bins in args.bins:
                frame = differences(rows, bins)
                for metric, sub in frame.groupby("metric"):
                    worst = sub.loc[sub["difference"].idxmax()]
                    within = bool((sub["difference"] <= sub["bound"] + 1e-15).all())
                    print(
                        f"{n:>9} rows  {bins:>6} bins  {metric:<18} "
                        f"{worst['difference']:.2e} (bound {worst['bound']:.2e}, "
                        f"{worst['group']}); all within bound: {within}"
                    )


if __name__ == "__main__":
    main()
