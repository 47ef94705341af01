"""Benchmark results built by hand, where the right answers are known."""

import pandas as pd

from healthbalance.benchmark import BenchmarkResults

# Command-line options of the smallest real run: plain training, one model, few
# replicates, no progress bar.
ERM_ONLY = [
    "--quick",
    "--strategies",
    "erm",
    "--models",
    "logistic",
    "--n-bootstrap",
    "20",
    "--no-progress",
]

# (group, n, n_events, erm AUROC, reliable)
GROUPS = [
    ("overall", 1000, 200, 0.80, True),
    ("A", 600, 120, 0.85, True),
    ("B", 340, 70, 0.70, True),  # the worst-off reliable group
    ("Tiny", 25, 5, 0.50, False),  # lower, but too small to rank
    ("Small", 35, 5, 0.60, False),
]


def _metric_rows(strategy, metric, values):
    rows = []
    for (group, n, events, _, reliable), value in zip(GROUPS, values, strict=True):
        rows.append(
            {
                "seed": 0,
                "model": "logistic",
                "strategy": strategy,
                "attribute": "overall" if group == "overall" else "race",
                "group": group,
                "metric": metric,
                "estimate": value,
                "ci_low": value - 0.05,
                "ci_high": value + 0.05,
                "n": n,
                "n_events": events,
                "n_failed": 0,
                "reliable": reliable,
                "reason": "" if reliable else "fewer than 30 patients",
            }
        )
    return rows


def _delta_rows(strategy, metric, differences, reference, width=0.02):
    rows = []
    for (group, n, events, _, reliable), d, ref in zip(
        GROUPS, differences, reference, strict=True
    ):
        rows.append(
            {
                "seed": 0,
                "model": "logistic",
                "strategy": strategy,
                "attribute": "overall" if group == "overall" else "race",
                "group": group,
                "metric": metric,
                "reference": "erm",
                "estimate": ref + d,
                "reference_estimate": ref,
                "difference": d,
                "ci_low": d - width,
                "ci_high": d + width,
                "n": n,
                "n_events": events,
                "reliable": reliable,
            }
        )
    return rows


def hand_built(auroc_deltas, intercepts=None, width=0.02):
    """Results where the answer is known: every difference is the same in all groups.

    ``auroc_deltas``: strategy -> its AUROC difference to erm; ``intercepts``:
    strategy -> its calibration-intercept difference to erm.
    """
    erm_auroc = [g[3] for g in GROUPS]
    erm_intercept = [0.05] * len(GROUPS)
    metrics = _metric_rows("erm", "roc_auc", erm_auroc)
    metrics += _metric_rows("erm", "calibration_intercept", erm_intercept)
    deltas = []
    for strategy, d in auroc_deltas.items():
        metrics += _metric_rows(strategy, "roc_auc", [a + d for a in erm_auroc])
        deltas += _delta_rows(strategy, "roc_auc", [d] * len(GROUPS), erm_auroc, width)
        shift = (intercepts or {}).get(strategy, 0.0)
        deltas += _delta_rows(
            strategy,
            "calibration_intercept",
            [shift] * len(GROUPS),
            erm_intercept,
            width=0.05,
        )
    return BenchmarkResults(
        metrics=pd.DataFrame(metrics),
        deltas=pd.DataFrame(deltas),
        fits=pd.DataFrame(),
        reports={},
        representation=None,
        settings={
            "attribute": "race",
            "seeds": [0],
            "models": ["logistic"],
            "strategies": ["erm", *auroc_deltas],
        },
    )
