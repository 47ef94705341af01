import sys

import matplotlib
import numpy as np
import pytest

from healthbalance.metrics import group_report
from tests.metrics._data import make_scores

matplotlib.use("Agg")


@pytest.fixture
def report():
    y, p, sf = make_scores(400, seed=0)
    return group_report(
        y,
        p,
        sensitive_features=sf,
        metrics=["roc_auc", "n"],
        n_bootstrap=20,
        random_state=0,
        min_group_size=1,
        min_events=1,
    )


def test_forest_plot_draws_overall_and_the_first_attribute_by_default(report):
    import matplotlib.pyplot as plt

    ax = report.plot("roc_auc")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["overall", "race: Asian", "race: Black", "race: White"]
    plt.close("all")
    ax = report.plot("roc_auc", attribute="sex")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "overall",
        "sex: F",
        "sex: M",
    ]
    plt.close("all")
    ax = report.plot("roc_auc", attribute="race & sex")
    expected = report.to_frame().query("attribute == 'race & sex'").shape[0] // 2
    assert len(ax.get_yticks()) == 1 + expected
    plt.close("all")
    with pytest.raises(ValueError, match=r"attribute 'nope' is not in this report"):
        report.plot("roc_auc", attribute="nope")


def test_forest_plot_draws_roc_auc_without_a_metric(report):
    import matplotlib.pyplot as plt

    ax = report.plot()
    assert "roc_auc" in ax.get_xlabel().lower() or "auroc" in ax.get_xlabel().lower()
    assert len(ax.get_yticks()) == 4  # overall and the three race groups
    plt.close("all")


def test_calibration_plot_draws_each_group(report):
    import matplotlib.pyplot as plt

    ax = report.plot_calibration(attribute="race")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["perfect", "Asian", "Black", "White"]
    observed = ax.get_lines()[1].get_ydata()
    assert np.all((0 <= observed) & (observed <= 1))
    plt.close("all")
    with pytest.raises(ValueError, match="attribute"):
        report.plot_calibration(attribute="nope")


def test_missing_matplotlib_gives_clear_import_error(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"healthbalance\[plot\]"):
        report.plot("roc_auc")
    with pytest.raises(ImportError, match="requires matplotlib"):
        report.plot_calibration()


@pytest.mark.parametrize("min_bin_size", [1, 11, 40])
def test_calibration_plot_hides_bins_with_few_patients(min_bin_size):
    import matplotlib.pyplot as plt

    y, p, sf = make_scores(400, seed=0)
    report = group_report(y, p, sensitive_features=sf, n_bootstrap=0)
    ax = report.plot_calibration(attribute="race", min_bin_size=min_bin_size)
    race = sf["race"].to_numpy()
    for line in ax.get_lines()[1:]:
        rows = race == line.get_label()
        counts = np.bincount(np.minimum((p[rows] * 10).astype(int), 9), minlength=10)
        assert len(line.get_xdata()) == int((counts >= min_bin_size).sum())
    plt.close("all")


def test_forest_plot_leaves_out_a_rate_masked_for_a_small_confusion_count():
    import matplotlib.pyplot as plt

    y, p, sf = make_scores(400, seed=0)
    report = group_report(
        y, p, sensitive_features=sf.race, metrics="ppv", n_bootstrap=0, threshold=0.7
    )
    full, masked = report.to_frame(), report.to_frame(11)
    dropped = masked.estimate.isna() & full.estimate.notna() & masked.n_events.notna()
    assert dropped.any()
    ax = report.plot("ppv", suppress_below=11)
    labels = {t.get_text() for t in ax.get_yticklabels()}
    for group in full.group[dropped]:
        assert f"race: {group}" not in labels and group not in labels
    assert len(labels) == masked.estimate.notna().sum()
    plt.close("all")
