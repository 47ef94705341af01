import re

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from healthbalance._small_counts import suppress
from healthbalance.benchmark import _models as models
from healthbalance.benchmark import _protocol as protocol
from healthbalance.benchmark import _run_cache as run_cache
from healthbalance.benchmark import run_benchmark, run_checks, write_html_report
from healthbalance.benchmark._cli import main
from healthbalance.datasets import make_icu_cohort
from healthbalance.utils._cache import CacheWarning
from tests.benchmark._helpers import ERM_ONLY


def test_every_strategy_is_reported_per_group(results, strategies):
    metrics = results.metrics
    assert set(metrics["strategy"]) == set(strategies)
    assert {"overall", "race_ethnicity", "sex"} <= set(metrics["attribute"])
    for column in ["estimate", "ci_low", "ci_high", "n", "n_events", "reliable"]:
        assert column in metrics.columns
    assert set(results.deltas["strategy"]) >= {"random_over", "group_over"}
    assert set(results.fits["strategy"]) == set(strategies)


def test_reported_auroc_is_sklearn_on_the_test_rows(cohort, results):
    y = cohort.target.to_numpy()
    groups = cohort.sensitive_features[["race_ethnicity"]]
    splits = protocol.prepare_seed(cohort.data, y, groups, "race_ethnicity", 0)
    test = splits["test"]
    run = protocol.fit_run(splits, _strategy("erm"), "logistic", 0, quick=True)
    expected = roc_auc_score(test["y"], run["score"])
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


def _counting_fit_run(monkeypatch):
    fitted = []
    original = protocol.fit_run

    def fit_run(splits, strategy, model, seed, quick):
        fitted.append((seed, model, strategy.name))
        return original(splits, strategy, model, seed, quick)

    monkeypatch.setattr(protocol, "fit_run", fit_run)
    return fitted


CACHED = {
    "strategies": ["erm"],
    "models": ["logistic"],
    "quick": True,
    "n_bootstrap": 20,
    "progress": False,
}


def test_cache_skips_finished_runs(cohort, tmp_path, monkeypatch):
    sf = cohort.sensitive_features[["race_ethnicity"]]
    first = run_benchmark(cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED)
    assert len(list(tmp_path.glob("run_*.npz"))) == 1
    fitted = _counting_fit_run(monkeypatch)
    second = run_benchmark(cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED)
    assert fitted == []
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    run_benchmark(cohort.data, cohort.target, sf, cache_dir=False, **CACHED)
    assert fitted == [(0, "logistic", "erm")]


def test_a_damaged_run_file_is_named_and_refitted(cohort, tmp_path, monkeypatch):
    sf = cohort.sensitive_features[["race_ethnicity"]]
    first = run_benchmark(cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED)
    (path,) = tmp_path.glob("run_*.npz")
    path.write_bytes(path.read_bytes()[:100])  # truncated: BadZipFile before
    fitted = _counting_fit_run(monkeypatch)
    with pytest.warns(CacheWarning, match=f"{path}.*damaged") as record:
        second = run_benchmark(
            cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED
        )
    assert record[0].filename == __file__
    assert fitted == [(0, "logistic", "erm")]
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    # The refitted run replaced the damaged file: the next call reads it silently.
    run_benchmark(cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED)
    assert len(fitted) == 1


def test_an_upgrade_or_a_new_grid_refits(cohort, tmp_path, monkeypatch):
    sf = cohort.sensitive_features[["race_ethnicity"]]
    run_benchmark(cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED)
    fitted = _counting_fit_run(monkeypatch)
    monkeypatch.setattr(run_cache, "__version__", "99.0")
    run_benchmark(cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED)
    assert len(fitted) == 1

    def other_grid(name, quick):
        estimator, _ = models.base_model_grid(name, quick)
        return estimator, [{"C": 0.01}]

    monkeypatch.setattr(run_cache, "base_model_grid", other_grid)
    monkeypatch.setattr(protocol, "base_model_grid", other_grid)
    results = run_benchmark(
        cohort.data, cohort.target, sf, cache_dir=tmp_path, **CACHED
    )
    assert len(fitted) == 2
    assert results.fits["params"].tolist() == [str({"C": 0.01})]
    assert len(list(tmp_path.glob("run_*.npz"))) == 3


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
    n = len(cohort.target)
    # 10 rows is a small count, written through the small-count rule; 12 may be shown
    with pytest.raises(ValueError, match=f"X has fewer than 11 rows but y has {n}:"):
        run_benchmark(cohort.data.iloc[:10], cohort.target, sf)
    with pytest.raises(ValueError, match=f"X has 12 rows but y has {n}:"):
        run_benchmark(cohort.data.iloc[:12], cohort.target, sf)


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


def test_html_report_is_self_contained_and_aggregate_only(
    results, tmp_path, cohort, strategies
):
    path = tmp_path / "report.html"
    write_html_report(results, path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "data:image/png;base64," in page
    for name in strategies:
        assert name in page
    assert "Checks" in page
    stay_ids = cohort.frame["stay_id"].astype(str).tolist()
    assert not any(s in page for s in stay_ids[:200])


CLI = [
    "benchmark",
    "--quick",
    "--n-samples",
    "3000",
    "--models",
    "logistic",
    "--n-bootstrap",
    "30",
    "--no-progress",
]


def test_command_line_writes_the_report_and_tables(tmp_path, capsys):
    out, cache = tmp_path / "reports", tmp_path / "cache"
    argv = [*CLI, "--strategies", "erm", "reweighing"]
    main([*argv, "--out", str(out), "--cache-dir", str(cache)])
    assert (out / "benchmark.html").exists()
    metrics = pd.read_csv(out / "benchmark_metrics.csv")
    assert set(metrics["strategy"]) == {"erm", "reweighing"}
    printed = capsys.readouterr().out
    assert "Checks:" in printed and "reweighing" in printed
    # Per-patient predictions went to the cache, and nothing patient-level to --out.
    assert len(list(cache.glob("run_*.npz"))) == 2
    _assert_aggregate_only(out, n_strategies=2)


def _assert_aggregate_only(out, n_strategies):
    """Every file under ``out`` is a report or a table with one row per group."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {
        "benchmark.html",
        "benchmark_metrics.csv",
        "benchmark_deltas.csv",
        "benchmark_fits.csv",
    }
    assert not any(p.suffix in {".npz", ".npy", ".joblib", ".pkl"} for p in files)
    sensitive = make_icu_cohort(3000, random_state=0).sensitive_features
    n_groups = 1 + sum(sensitive[c].nunique() for c in sensitive.columns)
    # the ICI of erm and the best strategy, per group of the training attribute
    n_ici = min(n_strategies, 2) * (1 + sensitive["race_ethnicity"].nunique())
    expected = {
        "metrics": n_strategies * 10 * n_groups + n_ici,
        "deltas": (n_strategies - 1) * 4 * n_groups,
        "fits": n_strategies,
    }
    for name, rows in expected.items():
        assert len(pd.read_csv(out / f"benchmark_{name}.csv")) == rows, name


def test_the_run_cache_defaults_to_the_user_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    out = tmp_path / "reports"
    main([*CLI, "--strategies", "erm", "--out", str(out)])
    assert len(list((tmp_path / "xdg/healthbalance/benchmark").glob("run_*.npz"))) == 1
    _assert_aggregate_only(out, n_strategies=1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    main([*CLI, "--strategies", "erm", "--out", str(out), "--no-cache"])
    assert not (tmp_path / "other").exists()
    _assert_aggregate_only(out, n_strategies=1)


def test_a_cache_inside_the_report_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "reports"
    with pytest.raises(SystemExit) as stop:
        main([*CLI, "--out", str(out), "--cache-dir", str(out / "cache")])
    assert stop.value.code == 2
    assert re.search("--cache-dir .* is inside --out", capsys.readouterr().err)
    assert not out.exists()


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
            *ERM_ONLY,
            "--out",
            str(out),
        ]
    )
    metrics = pd.read_csv(out / "benchmark_metrics.csv")
    assert set(metrics["attribute"]) == {"overall", "race_ethnicity"}


def test_groups_left_out_of_model_selection_are_named_without_counts(cohort, results):
    sf = cohort.sensitive_features[["race_ethnicity"]]
    val = protocol.prepare_seed(
        cohort.data, cohort.target.to_numpy(), sf, "race_ethnicity", 0
    )["val"]
    # Brute force: the report's rule on each validation group.
    expected = sorted(
        g
        for g in set(val["groups"])
        if (n := (val["groups"] == g).sum()) < 30
        or min(e := val["y"][val["groups"] == g].sum(), n - e) < 10
    )
    assert expected and results.settings["selection_unreliable"] == expected
    sentences = [s for s, _ in run_checks(results, 11) if "Model selection" in s]
    assert len(sentences) == 1
    for group in expected:
        assert group in sentences[0]
    numbers = {int(x) for x in re.findall(r"\d+", sentences[0])}
    assert numbers <= {30, 10}
    scope = [s for s, _ in run_checks(results, 11) if "worst-group AUROC" in s]
    assert len(scope) == 1 and "Asian" in scope[0]


def test_selection_scores_group_aware_models_with_their_groups(cohort):
    sf = cohort.sensitive_features[["race_ethnicity"]]
    y = cohort.target.to_numpy()
    splits = protocol.prepare_seed(cohort.data, y, sf, "race_ethnicity", 0)
    strategy = _strategy("group_over")
    base, _ = models.base_model_grid("logistic", quick=True)
    model = strategy.build(base, strategy.grid[0], 0)
    train, val = splits["train"], splits["val"]
    model.fit(train["X"], train["y"], sensitive_features=train["groups"])
    score = model.predict_proba(val["X"], sensitive_features=val["groups"])[:, 1]
    reliable = [
        g
        for g in set(val["groups"])
        if g not in protocol.unreliable_groups(val["y"], val["groups"])
    ]
    expected = min(
        roc_auc_score(val["y"][val["groups"] == g], score[val["groups"] == g])
        for g in reliable
    )
    assert protocol.validation_score(model, val) == pytest.approx(expected)


def test_released_tables_mask_rates_that_give_back_a_small_confusion_count(results):
    """Issue 12: Other/Unknown's sensitivity 16/17 said one event was missed."""
    from healthbalance.benchmark import _report_tables as tables
    from healthbalance.benchmark._checks import released

    metrics = results.metrics
    confusion = metrics["metric"].isin(["sensitivity", "specificity", "ppv", "npv"])
    smallest = metrics["smallest_confusion_count"]
    assert smallest[confusion].notna().all() and smallest[~confusion].isna().all()
    few = confusion & (smallest < 11).fillna(False).to_numpy(bool)
    assert few.any()  # the small run has such groups: the test can fail
    shown, _ = released(results, 11)
    assert shown.loc[few, ["estimate", "ci_low", "ci_high"]].isna().all().all()
    released_counts = shown["smallest_confusion_count"].dropna()
    assert (released_counts >= 11).all()
    table = tables.group_table(results, 11)
    erm = metrics[few & (metrics["strategy"] == "erm")]
    erm = erm[erm["metric"] == "sensitivity"]
    for attribute, group in zip(erm["attribute"], erm["group"], strict=True):
        row = table[(table["attribute"] == attribute) & (table["group"] == group)]
        assert row["erm sensitivity"].tolist() == ["n/a"]
