"""ICI, E50, E90 and Emax against the known truth of simulated models."""

import warnings

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm

from healthbalance.metrics import SmallGroupWarning, group_report

SMOOTH = ["ici", "e50", "e90", "emax"]
MU = -1.5  # mean logit of the predictions (about 22% events)


def _truth(a, b):
    """Population ICI, E50, E90, Emax of p = expit(MU + z), risk expit(a + b logit p).

    By numerical integration over z ~ N(0, 1) (trapezoid rule, scipy's density).
    """
    z = np.linspace(-8, 8, 400_001)
    density = norm.pdf(z)
    d = np.abs(expit(a + b * (MU + z)) - expit(MU + z))
    order = np.argsort(d)
    cdf = np.cumsum(density[order]) / density.sum()
    quantile = {q: d[order][np.searchsorted(cdf, q)] for q in (0.5, 0.9)}
    return {
        "ici": np.trapezoid(d * density, z),
        "e50": quantile[0.5],
        "e90": quantile[0.9],
        "emax": d[np.abs(z) <= 4].max(),  # the support of 50,000 draws
    }


def _sample(rng, n, a, b):
    logits = MU + rng.standard_normal(n)
    return rng.binomial(1, expit(a + b * logits)), expit(logits)


def _overall(y, p, metrics, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        frame = group_report(
            y, p, sensitive_features=np.full(y.size, "all"), metrics=metrics, **kwargs
        ).to_frame()
    return frame[frame.group == "overall"].set_index("metric")


@pytest.mark.parametrize(("a", "b"), [(0.3, 0.7), (-0.4, 1.3), (0.5, 1.0)])
def test_miscalibrated_model_recovers_the_truth_at_50000_patients(a, b):
    y, p = _sample(np.random.default_rng(7), 50_000, a, b)
    estimates = _overall(y, p, SMOOTH, n_bootstrap=0)["estimate"]
    truth = _truth(a, b)
    for name in ("ici", "e50", "e90"):
        assert estimates[name] == pytest.approx(truth[name], abs=0.01), name
    assert estimates["emax"] == pytest.approx(truth["emax"], abs=0.02)


def test_calibrated_model_is_about_zero():
    """Bias of a calibrated model's estimates at 50,000 patients (user guide)."""
    y, p = _sample(np.random.default_rng(8), 50_000, 0.0, 1.0)
    estimates = _overall(y, p, SMOOTH, n_bootstrap=0)["estimate"]
    assert estimates["ici"] < 0.006 and estimates["e50"] < 0.006
    assert estimates["e90"] < 0.013 and estimates["emax"] < 0.08


def test_replicates_read_the_binned_cells_with_a_small_error():
    """Unit counts through the bootstrap path (binned logits) equal the rows' fit."""
    from healthbalance.metrics._calibration_error import e50, e90, emax, ici
    from healthbalance.metrics._count_batch import CountBatch, MetricParams, SortedGroup

    y, p = _sample(np.random.default_rng(9), 20_000, 0.3, 0.7)
    group = SortedGroup(np.arange(y.size), y, p, MetricParams())
    rows = CountBatch(group)
    binned = CountBatch(group, np.ones((1, y.size), dtype=np.uint16))
    for f, tolerance in ((ici, 2e-4), (e50, 2e-4), (e90, 2e-4), (emax, 5e-4)):
        assert f(binned)[0] == pytest.approx(f(rows)[0], abs=tolerance)


def test_ici_intervals_cover_the_truth():
    """20 data sets of 1,500 patients, miscalibrated model: 95% intervals cover.

    The full table is in benchmarks/bench_coverage.py (scenario ``ici``).
    """
    a, b = 0.3, 0.7
    truth, rng, hits = _truth(a, b)["ici"], np.random.default_rng(10), 0
    for seed in range(20):
        y, p = _sample(rng, 1500, a, b)
        row = _overall(y, p, ["ici"], n_bootstrap=60, random_state=seed).loc["ici"]
        hits += row["ci_low"] <= truth <= row["ci_high"]
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    assert hits >= 16, hits  # 0.8; nominal 0.95 (0.93 in the benchmark)
