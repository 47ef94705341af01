import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from healthbalance.benchmark import _protocol as protocol
from healthbalance.benchmark import run_benchmark, write_html_report
from healthbalance.benchmark._cli import main
from healthbalance.datasets import make_icu_cohort
from healthbalance.metrics._small_counts import suppress

STRATEGIES = ["erm", "random_over", "group_over"]


@pytest.fixture(scope="module")
def cohort():
    return make_icu_cohort(4_000, random_state=0)


@pytest.fixture(scope="module")
def results(cohort):
    return run_benchmark(
        cohort.data,
        cohort.target,
        cohort.sensitive_features[["race_ethnicity", "sex"]],
        strategies=STRATEGIES,
        models=["logistic"],
        quick=True,
        n_bootstrap=50,
        progress=False,
    )


def test_every_strategy_is_reported_per_group(results):
    metrics = results.metrics
    assert set(metrics["strategy"]) == set(STRATEGIES)
    assert {"overall", "race_ethnicity", "sex"} <= set(metrics["attribute"])
    for column in ["estimate", "ci_low", "ci_high", "n", "n_events", "reliable"]:
        assert column in metrics.columns
    assert set(results.deltas["strategy"]) >= {"random_over", "group_over"}
    assert set(results.fits["strategy"]) == set(STRATEGIES)


def test_reported_auroc_is_sklearn_on_the_test_rows(cohort, results):
    y = cohort.target.to_numpy()
    groups = cohort.sensitive_features[["race_ethnicity"]]
    splits = protocol.prepare_seed(cohort.data, y, groups, "race_ethnicity", 0)
    test = splits["test"]
    cell = protocol.run_cell(splits, _strategy("erm"), "logistic", 0, quick=True)
    expected = roc_auc_score(test["y"], cell["score"])
    rows = results.metrics
    overall = rows[
        (rows["strategy"] == "erm")
        & (rows["attribute"] == "overall")
        & (rows["metric"] == "roc_auc")
    ]
    assert overall["estimate"].iloc[0] == pytest.approx(expected, abs=1e-10)


def _strategy(name):
    from healthbalance.benchmark import STRATEGIES as registry

    return registry[name]


def test_random_oversampling_without_correction_miscalibrates(results):
    rows = results.metrics
    intercept = rows[
        (rows["attribute"] == "overall") & (rows["metric"] == "calibration_intercept")
    ]
    by_strategy = intercept.set_index("strategy")["estimate"]
    assert by_strategy["random_over"] < -1.0
    assert abs(by_strategy["group_over"]) < abs(by_strategy["random_over"]) - 0.5


def test_cache_skips_finished_cells(cohort, tmp_path, monkeypatch):
    kwargs = {
        "strategies": ["erm"],
        "models": ["logistic"],
        "quick": True,
        "n_bootstrap": 20,
        "cache_dir": tmp_path,
        "progress": False,
    }
    sf = cohort.sensitive_features[["race_ethnicity"]]
    first = run_benchmark(cohort.data, cohort.target, sf, **kwargs)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("a cached cell was fitted again")

    monkeypatch.setattr(protocol, "run_cell", fail)
    second = run_benchmark(cohort.data, cohort.target, sf, **kwargs)
    pd.testing.assert_frame_equal(first.metrics, second.metrics)


def test_bad_input_is_named(cohort):
    sf = cohort.sensitive_features
    with pytest.raises(ValueError, match="unknown strategies"):
        run_benchmark(cohort.data, cohort.target, sf, strategies=["magic"])
    with pytest.raises(ValueError, match="attribute"):
        run_benchmark(cohort.data, cohort.target, sf, attribute="zodiac")
    with pytest.raises(ValueError, match="pos_label"):
        run_benchmark(cohort.data, cohort.target * 2, sf)
    with pytest.raises(ValueError, match="single class"):
        run_benchmark(cohort.data, cohort.target * 0, sf)
    with pytest.raises(ValueError, match="rows"):
        run_benchmark(cohort.data.iloc[:10], cohort.target, sf)


def test_small_counts_are_suppressed():
    frame = pd.DataFrame(
        {
            "attribute": ["overall", "race", "race"],
            "group": ["overall", "A", "B"],
            "n": [55, 5, 50],
            "n_events": [22, 2, 20],
            "estimate": [0.85, 0.9, 0.8],
            "ci_low": [0.75, 0.1, 0.7],
        }
    )
    out = suppress(frame, 11)
    # B is masked too: its count is what reveals A's (55 - 50 = 5)
    assert out["n"].isna().tolist() == [False, True, True]
    assert out["n_events"].isna().tolist() == [False, True, True]
    assert out["estimate"].isna().tolist() == [False, True, True]


def test_html_report_is_self_contained_and_aggregate_only(results, tmp_path, cohort):
    path = tmp_path / "report.html"
    write_html_report(results, path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "data:image/png;base64," in page
    for name in STRATEGIES:
        assert name in page
    assert "Checks" in page
    stay_ids = cohort.frame["stay_id"].astype(str).tolist()
    assert not any(s in page for s in stay_ids[:200])


def test_command_line_writes_the_report_and_tables(tmp_path, capsys):
    out = tmp_path / "reports"
    main(
        [
            "benchmark",
            "--quick",
            "--n-samples",
            "3000",
            "--strategies",
            "erm",
            "reweighing",
            "--models",
            "logistic",
            "--n-bootstrap",
            "30",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert (out / "benchmark.html").exists()
    metrics = pd.read_csv(out / "benchmark_metrics.csv")
    assert set(metrics["strategy"]) == {"erm", "reweighing"}
    printed = capsys.readouterr().out
    assert "Checks:" in printed and "reweighing" in printed


def test_command_line_reads_a_csv_file(tmp_path, cohort):
    frame = pd.concat(
        [cohort.data, cohort.sensitive_features[["race_ethnicity"]], cohort.target],
        axis=1,
    )
    path = tmp_path / "cohort.csv"
    frame.iloc[:3000].to_csv(path, index=False)
    out = tmp_path / "out"
    main(
        [
            "benchmark",
            "--data",
            str(path),
            "--target",
            "in_hospital_mortality",
            "--sensitive",
            "race_ethnicity",
            "--quick",
            "--strategies",
            "erm",
            "--models",
            "logistic",
            "--n-bootstrap",
            "20",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    metrics = pd.read_csv(out / "benchmark_metrics.csv")
    assert set(metrics["attribute"]) == {"overall", "race_ethnicity"}
