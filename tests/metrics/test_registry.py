"""The metric registry: one entry per metric, safe on merged groups, its texts."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from healthbalance.metrics import group_report
from healthbalance.metrics._count_batch import MetricParams
from healthbalance.metrics._engine import _why_undefined
from healthbalance.metrics._registry import METRICS, STATISTICS, MetricSpec


def _balanced_accuracy(b):
    """A new metric written like the built-ins, from the sorted counts."""
    kp, kn = b.group.threshold_index
    sensitivity = (b.n_pos - b.cum_pos[:, kp]) / b.n_pos
    specificity = b.cum_neg[:, kn] / b.n_neg
    return (sensitivity + specificity) / 2


def _cohort(rng, n=600):
    frame = pd.DataFrame(
        {"site": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n)}
    )
    y = rng.binomial(1, 0.3, n)
    p = np.clip(0.3 + 0.25 * (2 * y - 1) + rng.normal(0, 0.2, n), 0.01, 0.99)
    return y, p, frame


def test_new_metric_works_on_overall_and_attribute_rows(monkeypatch):
    spec = MetricSpec(_balanced_accuracy, ("sorted_scores",), "Balanced accuracy.")
    monkeypatch.setitem(METRICS, "balanced_accuracy", spec)
    y, p, frame = _cohort(np.random.default_rng(0))
    report = group_report(
        y,
        p,
        sensitive_features=frame,
        metrics=["balanced_accuracy"],
        threshold=0.4,
        n_bootstrap=20,
        random_state=0,
    ).to_frame()
    rows = {"overall": np.ones(y.size, bool), "a": frame["site"].eq("a").to_numpy()}
    for group, mask in rows.items():
        row = report[report["group"].eq(group)].iloc[0]
        expected = balanced_accuracy_score(y[mask], p[mask] >= 0.4)
        assert row["estimate"] == pytest.approx(expected, rel=1e-12)
        assert np.isfinite([row["ci_low"], row["ci_high"]]).all()


def test_mergeable_must_be_declared():
    spec = MetricSpec(_balanced_accuracy, ("confusion",), "Toy.")
    assert spec.mergeable is False
    declared = {name for name, s in METRICS.items() if s.mergeable}
    assert "calibration_slope" not in declared and "roc_auc" in declared


def test_every_entry_declares_its_statistics_and_docs_line():
    for name, spec in METRICS.items():
        assert spec.statistics and set(spec.statistics) <= set(STATISTICS), name
        assert spec.description.endswith("."), name


def test_unknown_statistic_is_refused():
    with pytest.raises(ValueError, match="statistics=.*'rows'"):
        MetricSpec(_balanced_accuracy, ("rows",), "Toy.")


class _Group:
    def __init__(self, n_events, n_non_events):
        self.p_pos, self.p_neg = np.zeros(n_events), np.zeros(n_non_events)


@pytest.mark.parametrize(
    ("metric", "group", "expected"),
    [
        ("roc_auc", _Group(0, 5), "AUC undefined: no events in the group"),
        ("specificity", _Group(4, 0), "AUC undefined: no non-events in the group"),
        ("ppv", _Group(4, 5), "AUC undefined: no predicted positives at threshold 0.7"),
        ("npv", _Group(4, 5), "AUC undefined: no predicted negatives at threshold 0.7"),
        ("calibration_slope", _Group(4, 5), "AUC undefined: the score separates"),
        ("roc_auc", _Group(4, 5), "AUC undefined for this group"),
        (lambda y, s: 0.0, _Group(0, 0), "AUC undefined for this group"),
    ],
)
def test_why_undefined_reads_the_registry(metric, group, expected):
    reason = _why_undefined("AUC", metric, group, MetricParams(threshold=0.7))
    assert reason.startswith(expected)


def test_why_undefined_reaches_the_report():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.15, 0.25])
    report = group_report(
        y,
        p,
        sensitive_features=np.zeros(6),
        metrics=["ppv"],
        n_bootstrap=0,
        min_group_size=1,
        min_events=1,
    ).to_frame()
    assert "no predicted positives at threshold 0.5" in report["reason"].iloc[0]


def test_docs_table_is_generated_from_the_registry(monkeypatch, tmp_path):
    conf_path = Path(__file__).parents[2] / "docs" / "conf.py"
    module_spec = importlib.util.spec_from_file_location("_docs_conf", conf_path)
    conf = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(conf)
    spec = MetricSpec(_balanced_accuracy, ("sorted_scores",), "Balanced accuracy.")
    monkeypatch.setitem(METRICS, "balanced_accuracy", spec)
    monkeypatch.setattr(conf, "DOCS", str(tmp_path))
    conf.write_metrics_table(None)
    table = (tmp_path / "generated" / "metrics_table.rst").read_text()
    for name, entry in METRICS.items():
        assert f"* - ``{name}``\n     - {entry.description}" in table
    assert "at ``threshold``." in table  # ppv's undefined text, formatted
