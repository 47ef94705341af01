"""Benchmark group_report on Dask: rows made on the workers, never in the caller.

A 2-worker ``distributed.LocalCluster`` (one thread each, 2 GiB each) generates
``--n`` rows (10M; 50M with ``--large``) of make_icu_cohort scores in partitions of
500,000 (the true risk of death blurred on the logit scale, AUROC about 0.85, five
race/ethnicity groups), keeps them on the workers (``persist``), and evaluates the
benchmark's metric set (AUROC, AP, Brier, calibration intercept and slope, ECE,
sensitivity, specificity, PPV, NPV at 0.2) per group with 200 bootstrap replicates.
Printed: wall time of the generation and of ``group_report``, the peak resident
memory of each worker and the caller's growth above its level before the report.
Targets: 10M rows in < 180 s, each worker < 2 GB, the caller + < 500 MB.

Next to it, the in-memory path on ``--n-memory`` rows (1M; 0 to skip) made in the
caller from the same partitions, and the Dask report of those rows: the largest
difference of each point estimate (target: AUROC and AP within 1e-4) and the
reported bound.

Usage: python benchmarks/bench_dask.py [--n 10000000] [--large] [--boot 200]
       [--n-memory 1000000] [--n-score-bins 16384] [--scheduler ADDRESS]
"""

import argparse
import os
import threading
import time
import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import psutil
from distributed import Client, LocalCluster
from scipy.special import expit, logit

from healthbalance.datasets import make_icu_cohort
from healthbalance.metrics import SmallGroupWarning, group_report

METRICS = [
    "roc_auc",
    "average_precision",
    "brier_score",
    "calibration_intercept",
    "calibration_slope",
    "ece",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
]
THRESHOLD = 0.2
PARTITION = 500_000
RACES = ["Asian", "Black", "Hispanic", "Other/Unknown", "White"]


def make_partition(seed, n=PARTITION):
    """One partition of ICU stays and a model's scores (runs on a worker)."""
    cohort = make_icu_cohort(n, random_state=seed)
    risk = np.clip(cohort.oracle["latent_risk"].to_numpy(), 1e-6, 1 - 1e-6)
    noise = np.random.default_rng(seed + 10**6).normal(0.0, 0.7, n)
    return pd.DataFrame(
        {
            "y": cohort.target.to_numpy(np.int8),
            "score": expit(logit(risk) + noise),
            "race_ethnicity": pd.Categorical(
                cohort.sensitive_features["race_ethnicity"].astype(str),
                categories=RACES,
            ),
        }
    )


class PeakMemory:
    """Peak RSS of this process above its starting level, sampled by a thread."""

    def __enter__(self):
        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mb(self):
        return (self.peak - self.start) / 2**20


def start_worker_sampler(dask_worker):
    """Track the peak RSS of a worker process (runs on the worker)."""
    process = psutil.Process()
    dask_worker.peak_rss = process.memory_info().rss

    def sample():
        while True:
            dask_worker.peak_rss = max(dask_worker.peak_rss, process.memory_info().rss)
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()


def worker_peaks(client):
    peaks = client.run(lambda dask_worker: dask_worker.peak_rss)
    return [peak / 2**20 for peak in peaks.values()]


META = pd.DataFrame(
    {
        "y": np.zeros(0, np.int8),
        "score": np.zeros(0),
        "race_ethnicity": pd.Categorical([], categories=RACES),
    }
)


def data(n, offset=0):
    """Partitions made on the workers (``meta`` given, so none in the caller)."""
    seeds = range(offset, offset + n // PARTITION)
    return dd.from_map(make_partition, seeds, meta=META)


def report(frame, n_bootstrap, n_score_bins=None):
    options = {} if n_score_bins is None else {"n_score_bins": n_score_bins}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        return group_report(
            frame["y"],
            frame["score"],
            sensitive_features=frame["race_ethnicity"],
            metrics=METRICS,
            threshold=THRESHOLD,
            n_bootstrap=n_bootstrap,
            random_state=0,
            **options,
        )


def run_dask(client, n, n_bootstrap, n_score_bins):
    client.run(start_worker_sampler)
    start = time.perf_counter()
    frame = client.persist(data(n))
    frame["y"].sum().compute()  # wait for the generation
    generated = time.perf_counter() - start
    with PeakMemory() as caller:
        start = time.perf_counter()
        result = report(frame, n_bootstrap, n_score_bins)
        seconds = time.perf_counter() - start
    peaks = worker_peaks(client)
    del frame
    return result, generated, seconds, caller.mb, peaks


def accuracy(client, n, n_bootstrap, n_score_bins):
    """In-memory report of n rows and the Dask report of the same rows."""
    rows = pd.concat(
        [make_partition(seed) for seed in range(n // PARTITION)], ignore_index=True
    )
    with PeakMemory() as memory:
        start = time.perf_counter()
        exact = report(rows, n_bootstrap)
        seconds = time.perf_counter() - start
    binned = report(data(n), n_bootstrap, n_score_bins)
    a, b = exact.to_frame(), binned.to_frame()
    a["error"] = (b.estimate - a.estimate).abs()
    errors = a.groupby("metric", sort=False)["error"].max()
    return errors, binned.binning_bound, seconds, memory.mb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--large", action="store_true", help="50M rows")
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--n-memory", type=int, default=1_000_000)
    parser.add_argument("--n-score-bins", type=int, default=16384)
    parser.add_argument("--scheduler", default=None, help="address of a cluster")
    args = parser.parse_args()
    n = 50_000_000 if args.large else args.n
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit="2GiB",
            dashboard_address=None,
        )
        client = Client(cluster)
    print(f"{os.cpu_count()} cores, workers: {len(client.scheduler_info()['workers'])}")
    result, generated, seconds, caller, peaks = run_dask(
        client, n, args.boot, args.n_score_bins
    )
    print(f"\nDask: {n:,} rows made on the workers, {args.boot} replicates")
    print(f"  generation (on the workers)   {generated:8.1f} s")
    print(f"  group_report                  {seconds:8.1f} s   (target < 180 s)")
    print(f"  caller's peak growth          {caller:8.0f} MB  (target < 500 MB)")
    for k, peak in enumerate(peaks):
        print(f"  worker {k} peak RSS            {peak:8.0f} MB  (target < 2048 MB)")
    bound = result.binning_bound
    print(f"  binning bound, AUROC (max)    {bound.roc_auc.max():.1e}")
    print(f"  binning bound, AP (max)       {bound.average_precision.max():.1e}")
    if args.n_memory:
        errors, bound, seconds, memory = accuracy(
            client, args.n_memory, args.boot, args.n_score_bins
        )
        print(f"\nIn memory: {args.n_memory:,} rows, {args.boot} replicates")
        print(f"  group_report                  {seconds:8.1f} s, +{memory:.0f} MB")
        print("  largest |Dask - in memory| of the point estimates, over groups:")
        for name, error in errors.items():
            print(f"    {name:<24}{error:10.1e}")
        print(f"  bound, AUROC {bound.roc_auc.max():.1e}, AP "
              f"{bound.average_precision.max():.1e}")  # fmt: skip
    client.close()


if __name__ == "__main__":
    main()
