"""GroupReport.summary(): the bottom line in plain words, shown by the notebook."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from healthbalance.metrics import group_report


def _data(n_small=20, auc_gap=True, n=6000, seed=0):
    """Groups A (large), B (large, scores noisier if auc_gap) and C (small)."""
    rng = np.random.default_rng(seed)
    groups = np.array(["A"] * (n // 2) + ["B"] * (n // 2 - n_small) + ["C"] * n_small)
    y = rng.integers(0, 2, n)
    noise = np.where((groups == "B") & auc_gap, 1.2, 0.5)
    p = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, 1, n) * noise)))
    return y, p, groups


def _report(y, p, groups, **kwargs):
    with pytest.warns(UserWarning, match="reliable=False"):
        return group_report(
            y,
            p,
            sensitive_features=pd.Series(groups, name="site"),
            metrics=["roc_auc", "sensitivity", "n"],
            n_bootstrap=200,
            random_state=0,
            **kwargs,
        )


def test_summary_names_the_worst_reliable_group_found_by_brute_force():
    y, p, groups = _data()
    summary = _report(y, p, groups).summary()
    aucs = {g: roc_auc_score(y[groups == g], p[groups == g]) for g in ("A", "B")}
    worst = min(aucs, key=aucs.get)
    line = next(s for s in summary.splitlines() if s.startswith("site:"))
    assert f"worst reliable group {worst}, roc_auc {aucs[worst]:.3f}" in line
    overall = roc_auc_score(y, p)
    assert summary.splitlines()[0].startswith(f"roc_auc overall: {overall:.3f} [")


def test_small_group_is_named_without_its_counts_or_estimate():
    y, p, groups = _data(n_small=17)
    summary = _report(y, p, groups).summary()
    small = groups == "C"
    assert "Too small to rank: C." in summary
    numbers = set(re.findall(r"\d+(?:\.\d+)?", summary))
    assert str(int(small.sum())) not in numbers
    assert str(int(y[small].sum())) not in numbers
    assert f"{roc_auc_score(y[small], p[small]):.3f}" not in numbers


@pytest.mark.parametrize("auc_gap", [True, False])
def test_gap_verdict_follows_the_truth(auc_gap):
    """A real AUROC gap of about 0.15 is called real; no gap is called not distinct.

    With no true gap, a 95% interval excludes 0 in about 5% of data sets: over 20
    data sets the verdict "includes 0" must win by far.
    """
    verdicts = []
    for seed in range(20 if not auc_gap else 5):
        y, p, groups = _data(auc_gap=auc_gap, n=2000, seed=seed)
        line = _report(y, p, groups).summary().splitlines()[1]
        verdicts.append("interval excludes 0" in line)
    if auc_gap:
        assert all(verdicts)
    else:
        assert sum(verdicts) <= 4


def test_summary_of_another_metric_and_bad_metric():
    y, p, groups = _data()
    report = _report(y, p, groups)
    assert report.summary("sensitivity").startswith("sensitivity overall: ")
    with pytest.raises(ValueError, match="'ppv' is not in this report"):
        report.summary("ppv")


def test_notebook_display_and_str_show_the_summary_without_numpy_wrappers():
    y, p, groups = _data()
    report = _report(y, p, groups)
    html = report._repr_html_()
    assert "worst reliable group" in html and "<table" in html
    assert str(report) == report.summary()
    texts = [html, str(report), repr(report)]
    texts += [str(v) for v in report.disparity("roc_auc").iloc[0].to_dict().values()]
    assert not any("np." in t for t in texts)
    assert "nan" not in html.lower().replace("n/a", "")


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"threshold": np.float64(1.5)}, "got 1.5;"),
        ({"n_bootstrap": np.int64(-1)}, "got -1;"),
        ({"confidence_level": np.float64(2.0)}, "got 2.0;"),
        ({"target_specificity": np.float64(1.5)}, "got 1.5;"),
        ({"n_bins": np.int64(0)}, "got 0."),
        ({"pos_label": np.int64(7)}, "pos_label=7 is not"),
    ],
)
def test_error_messages_show_plain_numbers(kwargs, shown):
    y, p, groups = _data(n=200)
    with pytest.raises(ValueError) as error:
        group_report(y, p, sensitive_features=groups, **kwargs)
    assert shown in str(error.value)
    assert "np." not in str(error.value)
