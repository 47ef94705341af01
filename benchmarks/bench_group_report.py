"""Benchmark group_report against a naive scikit-learn loop and fairlearn MetricFrame.

Everything runs in one process on the same synthetic data (8 groups, ~11% events):

1. healthbalance ``group_report`` at scale: 1,000,000 rows, 1,000 bootstrap
   replicates (default design: within groups, outcomes free) of the core metrics
   (AUROC, AUPRC, Brier, ECE, sensitivity, specificity, PPV, NPV at one threshold).
   Target: < 20 s on 2 cores, < 2 GB.
2. Point estimates on the same 1,000,000 rows: group_report(n_bootstrap=0) vs
   fairlearn ``MetricFrame`` with the same metrics.
3. Bootstrap at a size fairlearn finishes (default 100,000 rows, 100 replicates):
   group_report vs a naive loop of scikit-learn metrics over the same resample
   indices vs fairlearn ``MetricFrame(n_boot=...)``. Target: >= 100x faster
   than fairlearn at equal replicates.

Peak memory is the peak resident set size above the level before each run (after
the memory freed by earlier runs is handed back), sampled every 5 ms by a background
thread. CPU time (all threads of the process) is printed
too: on a shared machine it shows the work done when wall time is inflated by load.

With ``--calibration`` the metric set of run 1 also has the calibration intercept and
slope (target < 30 s; their replicates are fitted on binned logits).

With ``--decision-curve``, run 1 is followed by ``decision_curve`` on the same rows:
net benefit per group at 50 thresholds (0.01 to 0.50) with ``--boot-large``
replicates (target < 30 s on 2 cores).

With ``--ici`` only the smooth calibration errors are timed (:func:`ici_timing`):
``ici``, ``e50``, ``e90`` and ``emax`` on ``--n-large`` rows, 8 groups, ``--boot-ici``
replicates (default 200; target < 60 s on 2 cores). Their replicates read the binned
logits (at most 512 bins per class) like the calibration fits.

Usage: python benchmarks/bench_group_report.py [--n-large 1000000] [--boot-large 1000]
       [--n-compare 100000] [--boot-compare 100] [--n-jobs 2] [--skip-fairlearn]
       [--calibration] [--decision-curve] [--skip-compare] [--ici] [--boot-ici 200]
"""

import argparse
import ctypes
import os
import threading
import time
import warnings

import numpy as np
from sklearn import metrics as skm

from healthbalance.metrics import decision_curve, group_report
from healthbalance.utils import stratified_bootstrap_indices

CORE = [
    "roc_auc",
    "average_precision",
    "brier_score",
    "ece",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
]
THRESHOLD = 0.2


def make_data(n, n_groups=8, seed=0):
    rng = np.random.default_rng(seed)
    groups = rng.choice([f"g{k}" for k in range(n_groups)], n)
    shift = rng.normal(0, 0.3, n_groups)[np.unique(groups, return_inverse=True)[1]]
    risk = rng.normal(-2.3 + shift, 1.0)
    y = rng.binomial(1, 1 / (1 + np.exp(-risk)))
    score = 1 / (1 + np.exp(-(risk + rng.normal(0, 0.8, n))))
    return y, score, groups


def ece(y, p, n_bins=10):
    bins = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p)
    total = 0.0
    for b in np.unique(bins):
        mask = bins == b
        total += abs(y[mask].sum() - p[mask].sum())
    return total / y.size


def sensitivity(y, p):
    return skm.recall_score(y, p >= THRESHOLD, zero_division=np.nan)


def specificity(y, p):
    return skm.recall_score(y, p >= THRESHOLD, pos_label=0, zero_division=np.nan)


def ppv(y, p):
    return skm.precision_score(y, p >= THRESHOLD, zero_division=np.nan)


def npv(y, p):
    return skm.precision_score(y, p >= THRESHOLD, pos_label=0, zero_division=np.nan)


SKLEARN_METRICS = {
    "roc_auc": skm.roc_auc_score,
    "average_precision": skm.average_precision_score,
    "brier_score": skm.brier_score_loss,
    "ece": ece,
    "sensitivity": sensitivity,
    "specificity": specificity,
    "ppv": ppv,
    "npv": npv,
}


class PeakMemory:
    """Peak RSS above the starting level, sampled by a thread (Linux /proc)."""

    def __enter__(self):
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mb(self):
        return (self.peak - self.start) / 2**20


def release_freed_memory():
    """Hand the memory freed by earlier runs back to the system (glibc).

    The allocator keeps freed arrays for reuse: without this, an earlier run's freed
    memory would hide the next run's peak.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        print("  (not glibc: the peaks of later runs may read low)")


def run(label, function):
    release_freed_memory()
    with PeakMemory() as memory:
        start, cpu = time.perf_counter(), time.process_time()
        function()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"  {label:<44s} {seconds:8.2f} s wall {cpu:8.2f} s cpu {memory.mb:7.0f} MB",
        flush=True,
    )
    return seconds, memory.mb


def ours(y, score, groups, n_boot, n_jobs, metrics=CORE):
    return group_report(
        y,
        score,
        sensitive_features=groups,
        metrics=metrics,
        threshold=THRESHOLD,
        n_bootstrap=n_boot,
        random_state=0,
        n_jobs=n_jobs,
    )


def curves(y, score, groups, n_boot, n_jobs):
    return decision_curve(
        y,
        score,
        sensitive_features=groups,
        thresholds=np.arange(1, 51) / 100,
        n_bootstrap=n_boot,
        random_state=0,
        n_jobs=n_jobs,
    )


def naive_loop(y, score, groups, n_boot):
    strata = np.unique(groups, return_inverse=True)[1]
    members = [np.arange(y.size)] + [
        np.flatnonzero(groups == g) for g in np.unique(groups)
    ]
    for indices in stratified_bootstrap_indices(strata, n_boot, random_state=0):
        yb, sb, gb = y[indices], score[indices], groups[indices]
        for g in [None, *np.unique(groups)]:
            mask = slice(None) if g is None else gb == g
            for metric in SKLEARN_METRICS.values():
                metric(yb[mask], sb[mask])
    return members


def fairlearn_frame(y, score, groups, n_boot):
    from fairlearn.metrics import MetricFrame

    kwargs = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 0}
    return MetricFrame(
        metrics=SKLEARN_METRICS,
        y_true=y,
        y_pred=score,
        sensitive_features=groups,
        **(kwargs if n_boot else {}),
    )


SMOOTH_CALIBRATION = ["ici", "e50", "e90", "emax"]


def ici_timing(n, n_boot, n_jobs):
    """Time the smooth calibration errors on ``n`` rows, 8 groups (< 60 s target)."""
    print(f"{n:,} rows, 8 groups, {n_boot} replicates of the smooth calibration")
    y, score, groups = make_data(n)
    seconds, mb = run(
        f"group_report({', '.join(SMOOTH_CALIBRATION)})",
        lambda: ours(y, score, groups, n_boot, n_jobs, SMOOTH_CALIBRATION),
    )
    print(f"| {n:,} rows x {n_boot} reps, ici/e50/e90/emax | {seconds:.1f} s, ", end="")
    print(f"{mb:.0f} MB | < 60 s |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-large", type=int, default=1_000_000)
    parser.add_argument("--boot-large", type=int, default=1000)
    parser.add_argument("--n-compare", type=int, default=100_000)
    parser.add_argument("--boot-compare", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--skip-fairlearn", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--decision-curve", action="store_true")
    parser.add_argument("--ici", action="store_true")
    parser.add_argument("--boot-ici", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # fairlearn and sklearn warnings are not timed

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    if args.ici:
        ici_timing(args.n_large, args.boot_ici, args.n_jobs)
        return
    print(f"1. {args.n_large:,} rows, 8 groups, {args.boot_large} replicates")
    y, score, groups = make_data(args.n_large)
    metrics = CORE + ["calibration_intercept", "calibration_slope"] * args.calibration
    t_large, m_large = run(
        f"healthbalance group_report ({len(metrics)} metrics)",
        lambda: ours(y, score, groups, args.boot_large, args.n_jobs, metrics),
    )
    if args.decision_curve:
        t_curve, m_curve = run(
            "healthbalance decision_curve (50 thresholds)",
            lambda: curves(y, score, groups, args.boot_large, args.n_jobs),
        )
        print(f"  target < 30 s: {'met' if t_curve < 30 else 'MISSED'}")
    if args.skip_compare:
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return
    print(f"2. point estimates on {args.n_large:,} rows")
    t_point, _ = run(
        "healthbalance group_report(n_bootstrap=0)",
        lambda: ours(y, score, groups, 0, 1),
    )
    if not args.skip_fairlearn:
        t_fl_point, _ = run(
            "fairlearn MetricFrame", lambda: fairlearn_frame(y, score, groups, None)
        )
    del y, score, groups

    n, b = args.n_compare, args.boot_compare
    print(f"3. {n:,} rows, 8 groups, {b} replicates")
    y, score, groups = make_data(n, seed=1)
    t_ours, m_ours = run(
        "healthbalance group_report", lambda: ours(y, score, groups, b, args.n_jobs)
    )
    t_naive, m_naive = run(
        "naive scikit-learn loop (same indices)",
        lambda: naive_loop(y, score, groups, b),
    )
    if not args.skip_fairlearn:
        t_fl, m_fl = run(
            "fairlearn MetricFrame(n_boot)",
            lambda: fairlearn_frame(y, score, groups, b),
        )

    print("\nsummary")
    print("| case | healthbalance | peer | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.n_large:,} rows x {args.boot_large} reps | {t_large:.1f} s, "
        f"{m_large:.0f} MB | - | - | < 20 s, < 2048 MB |"
    )
    print(
        f"| {n:,} rows x {b} reps vs naive loop | {t_ours:.2f} s | {t_naive:.1f} s "
        f"| {t_naive / t_ours:.0f}x | - |"
    )
    if not args.skip_fairlearn:
        print(
            f"| {n:,} rows x {b} reps vs fairlearn | {t_ours:.2f} s, {m_ours:.0f} MB "
            f"| {t_fl:.1f} s, {m_fl:.0f} MB | {t_fl / t_ours:.0f}x | >= 100x |"
        )
        print(
            f"| {args.n_large:,} rows point estimates vs fairlearn | {t_point:.2f} s "
            f"| {t_fl_point:.1f} s | {t_fl_point / t_point:.0f}x | - |"
        )


if __name__ == "__main__":
    main()
