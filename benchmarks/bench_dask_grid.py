"""Wall time of the benchmark grid on a 2-worker Dask cluster against a local run.

The same grid (``--strategies`` x logistic regression x ``--seeds``, ``--quick``, the
synthetic ICU cohort) is run by :func:`~healthbalance.benchmark.run_benchmark` with
``n_jobs=2`` (joblib's default backend, loky: two local worker processes) and inside
``joblib.parallel_config(backend="dask")`` on a ``distributed.LocalCluster`` of two
single-threaded worker processes, alternately (local, cluster, local, ...), so that
both see the same machine load. Time is the median of ``--repeat`` runs after one
untimed warm-up of each (worker start-up and imports); the cluster's own start-up is
reported apart. The ratio is cluster / local (above 1: the cluster is slower).

The script also records what the caller sent the cluster in one grid: the bytes of
each seed's splits scattered to it and the largest task (a run refers to its seed's
data instead of carrying it), next to what pickling the splits into every run would
have sent; and it checks that both backends give the same results, exactly.

Run it from the repository root with the package importable by the workers, for
example ``PYTHONPATH=. python benchmarks/bench_dask_grid.py``.

Usage: python benchmarks/bench_dask_grid.py [--n-samples 20000] [--repeat 3]
       [--strategies erm reweighing random_over group_over] [--seeds 0 1]
"""

import argparse
import pickle
import statistics
import time
import warnings

import cloudpickle
import distributed
import joblib
from pandas.testing import assert_frame_equal

import healthbalance
from healthbalance.benchmark import run_benchmark
from healthbalance.benchmark._protocol import Splits
from healthbalance.datasets import make_icu_cohort


def grid(cohort, args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_benchmark(
            cohort.data,
            cohort.target,
            cohort.sensitive_features[["race_ethnicity"]],
            strategies=args.strategies,
            models=["logistic"],
            seeds=args.seeds,
            quick=True,
            n_bootstrap=args.n_bootstrap,
            cache_dir=False,
            progress=False,
            **kwargs,
        )


def local(cohort, args):
    return grid(cohort, args, n_jobs=2)


def on_cluster(cohort, args):
    with joblib.parallel_config(backend="dask"):
        return grid(cohort, args, n_jobs=-1)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def sent(client, cohort, args):
    """Run the grid once on the cluster; return (scattered bytes, task bytes)."""
    scattered, tasks = [], []
    submit, scatter = client.submit, client.scatter

    def recording_submit(*a, **kw):
        tasks.append(kw["tasks"])
        return submit(*a, **kw)

    def recording_scatter(data, **kw):
        scattered.append(data)
        return scatter(data, **kw)

    client.submit, client.scatter = recording_submit, recording_scatter
    try:
        on_cluster(cohort, args)
    finally:
        del client.submit, client.scatter
    # measured here, not in the hooks, which run in the client's event loop
    splits = [len(pickle.dumps(dict(s))) for s in scattered if isinstance(s, Splits)]
    return splits, [task_bytes(batch) for batch in tasks]


def task_bytes(batch):
    """Return the pickled size of a batch of tasks, a scattered future as its key."""
    return len(
        cloudpickle.dumps(
            [
                (function, [_key(a) for a in args], {k: _key(v) for k, v in kw.items()})
                for function, args, kw in batch
            ]
        )
    )


def _key(value):
    return value.key if isinstance(value, distributed.Future) else value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-bootstrap", type=int, default=50)
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=["erm", "reweighing", "random_over", "group_over"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    args = parser.parse_args()
    cohort = make_icu_cohort(args.n_samples, random_state=0)
    n_runs = len(args.strategies) * len(args.seeds)

    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    startup = time.perf_counter() - start
    with cluster, client:
        workers = set(client.run(lambda: healthbalance.__file__).values())
        assert workers == {healthbalance.__file__}, (
            f"the workers import {workers}, this process {healthbalance.__file__}: "
            "set PYTHONPATH"
        )
        expected, got = local(cohort, args), on_cluster(cohort, args)  # warm-up
        assert_frame_equal(got.metrics, expected.metrics, check_exact=True)
        assert_frame_equal(got.deltas, expected.deltas, check_exact=True)
        times = {"local": [], "cluster": []}
        for _ in range(args.repeat):
            times["local"].append(timed(local, cohort, args)[0])
            times["cluster"].append(timed(on_cluster, cohort, args)[0])
        scattered, tasks = sent(client, cohort, args)

    median = {name: statistics.median(t) for name, t in times.items()}
    print(
        f"{n_runs} runs ({len(args.strategies)} strategies x logistic x "
        f"{len(args.seeds)} seeds, quick), {args.n_samples} patients, "
        f"{args.n_bootstrap} replicates, median of {args.repeat}:"
    )
    print(f"  local, n_jobs=2 (loky)       {median['local']:7.2f} s")
    print(f"  LocalCluster, 2 workers      {median['cluster']:7.2f} s")
    print(f"  ratio cluster / local        {median['cluster'] / median['local']:7.2f}")
    print(f"  cluster start-up (once)      {startup:7.2f} s")
    print("results identical: metrics and deltas frames equal, exactly")
    print(
        f"sent to the cluster: {len(scattered)} seed splits of "
        f"{', '.join(f'{b / 1e6:.1f} MB' for b in scattered)} once; "
        f"{len(tasks)} task batches of at most {max(tasks)} bytes for {n_runs} runs "
        f"(the splits pickled into every run: {n_runs * min(scattered) / 1e6:.0f} MB "
        "or more)"
    )


if __name__ == "__main__":
    main()
