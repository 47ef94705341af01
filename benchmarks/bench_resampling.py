"""Time and peak memory of the group-aware samplers against imbalanced-learn.

On the same data (n rows x 30 features, 5% positives, 5 groups):

- ``GroupBalancedSampler(target="class_within_group")`` (random over-sampling that
  balances classes within each group) against ``RandomOverSampler()``;
- ``GroupSMOTE()`` (SMOTE within each group) against ``SMOTE()``.

Both sides of a pair produce about the same number of rows and run in the same
process, alternately (ours, theirs, ours, ...), so that both see the same machine
load. Time is the median of ``--repeat`` runs of each; the ratio is ours / theirs
(below 1: we are faster). Peak memory is measured in a separate run with
``tracemalloc`` (numpy reports its buffers to it), so that tracing does not slow the
timed runs.

Usage: python benchmarks/bench_resampling.py [--n-samples 400000] [--repeat 7]
       [--task {random over-sampling,SMOTE}]
"""

import argparse
import gc
import time
import tracemalloc
import warnings

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler

from healthbalance.resampling import GroupBalancedSampler, GroupSMOTE


def make_data(n_samples, n_features=30, n_groups=5, prevalence=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    y = (rng.random(n_samples) < prevalence).astype(np.int64)
    groups = rng.integers(0, n_groups, size=n_samples)
    X[:, 0] += y + 0.5 * groups  # some signal, so neighbours are not all noise
    return X, y, np.array([f"group {g}" for g in range(n_groups)])[groups]


def run(sampler, X, y, groups):
    if groups is None:
        return sampler.fit_resample(X, y)
    return sampler.fit_resample(X, y, sensitive_features=groups)


def one_time(make, X, y, groups):
    gc.collect()
    start = time.perf_counter()
    X_res, _ = run(make(), X, y, groups)
    seconds = time.perf_counter() - start
    return seconds, X_res.shape[0]


def median_times(sides, X, y, groups, repeat):
    """Time each side ``repeat`` times, alternating; return medians and row counts."""
    times = {name: [] for name, _, _ in sides}
    rows = {}
    for _ in range(repeat):
        for name, make, grouped in sides:
            seconds, rows[name] = one_time(make, X, y, groups if grouped else None)
            times[name].append(seconds)
    return {name: float(np.median(t)) for name, t in times.items()}, rows


def peak_memory(make, X, y, groups):
    gc.collect()
    tracemalloc.start()
    X_res, y_res = run(make(), X, y, groups)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del X_res, y_res
    return peak / 2**20


PAIRS = [
    (
        "random over-sampling",
        (
            "GroupBalancedSampler",
            lambda: GroupBalancedSampler(target="class_within_group", random_state=0),
            True,
        ),
        ("RandomOverSampler", lambda: RandomOverSampler(random_state=0), False),
    ),
    (
        "SMOTE",
        ("GroupSMOTE", lambda: GroupSMOTE(random_state=0), True),
        ("SMOTE", lambda: SMOTE(random_state=0), False),
    ),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--task",
        choices=[task for task, _, _ in PAIRS],
        help="run only this pair (default: all)",
    )
    args = parser.parse_args()
    X, y, groups = make_data(args.n_samples)
    print(
        f"data: {X.shape[0]:,} rows x {X.shape[1]} features, "
        f"{y.mean():.1%} positives, {len(np.unique(groups))} groups"
    )
    print(f"time: median of {args.repeat} alternating runs per sampler")
    header = f"{'task':<22}{'sampler':<22}{'rows out':>11}{'time s':>9}{'peak MiB':>10}"
    print(header)
    print("-" * len(header))
    for task, ours, theirs in PAIRS:
        if args.task not in (None, task):
            continue
        seconds, rows = median_times((ours, theirs), X, y, groups, args.repeat)
        results = {}
        for name, make, grouped in (ours, theirs):
            memory = peak_memory(make, X, y, groups if grouped else None)
            results[name] = seconds[name], memory
            print(
                f"{task:<22}{name:<22}{rows[name]:>11,}{seconds[name]:>9.2f}"
                f"{memory:>10.0f}"
            )
        (t_ours, m_ours), (t_theirs, m_theirs) = results[ours[0]], results[theirs[0]]
        print(
            f"{task:<22}{'ratio ours / imblearn':<22}{'':>11}"
            f"{t_ours / t_theirs:>9.2f}{m_ours / m_theirs:>10.2f}"
        )


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        main()
