"""Coverage of the bootstrap intervals on a known population, in seconds.

The full table is benchmarks/bench_coverage.py; this test guards the design.
"""

import warnings

import numpy as np
from scipy.special import expit

from healthbalance.metrics import SmallGroupWarning, group_report

THRESHOLD = 0.2


def _population(rng, n):
    """Calibrated model: the score is the true risk, so the truths are known."""
    p = expit(-2.6 + rng.standard_normal(n))
    return rng.binomial(1, p), p


def _truths():
    """Population values without our code: for a calibrated model the intercept is
    0, the Brier score ``E[p (1 - p)]`` and the PPV ``E[p | p >= t]``."""
    p = expit(-2.6 + np.random.default_rng(99).standard_normal(4_000_000))
    return {
        "calibration_intercept": 0.0,
        "brier_score": np.mean(p * (1 - p)),
        "ppv": p[p >= THRESHOLD].mean(),
    }


def test_intervals_of_prevalence_driven_metrics_cover():
    """200 data sets of 1,000 patients, ~10% events: 95% intervals cover >= 0.9.

    Under the old group x outcome design these covered about 0.45 (intercept and
    Brier) and 0.9 (PPV) at 2,000 patients.
    """
    truths, rng = _truths(), np.random.default_rng(0)
    hits = dict.fromkeys(truths, 0)
    for seed in range(200):
        y, p = _population(rng, 1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallGroupWarning)
            frame = group_report(
                y,
                p,
                sensitive_features=np.full(y.size, "all"),
                metrics=list(truths),
                threshold=THRESHOLD,
                n_bootstrap=100,
                random_state=seed,
            ).to_frame()
        overall = frame[frame.group == "overall"].set_index("metric")
        for name, truth in truths.items():
            hits[name] += (
                overall.loc[name, "ci_low"] <= truth <= overall.loc[name, "ci_high"]
            )
    coverage = {name: h / 200 for name, h in hits.items()}
    assert min(coverage.values()) >= 0.9, coverage


def test_wilson_intervals_cover_a_sensitivity_near_one():
    """200 data sets of 300 patients, true sensitivity about 0.99 at threshold 0.05.

    Most data sets have no false negative, so the percentile interval collapses to
    [1, 1] and misses; the Wilson interval must still cover at least 0.9.
    """
    z = np.random.default_rng(99).standard_normal(4_000_000)
    p = expit(-1.5 + z)
    truth = np.sum(p * (p >= 0.05)) / np.sum(p)  # E[p 1(p >= t)] / E[p]
    rng, hits = np.random.default_rng(1), {"percentile": 0, "wilson": 0}
    for seed in range(200):
        score = expit(-1.5 + rng.standard_normal(300))
        y = rng.binomial(1, score)
        for interval in hits:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SmallGroupWarning)
                row = group_report(
                    y,
                    score,
                    sensitive_features=np.full(y.size, "all"),
                    metrics=["sensitivity"],
                    threshold=0.05,
                    n_bootstrap=50 if interval == "percentile" else 0,
                    proportion_interval=interval,
                    random_state=seed,
                ).to_frame()
            row = row[row.group == "overall"].iloc[0]
            hits[interval] += row.ci_low <= truth <= row.ci_high
    assert hits["wilson"] / 200 >= 0.9, hits
    assert hits["percentile"] / 200 < 0.8, hits  # why the option exists
