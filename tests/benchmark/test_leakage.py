import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from healthbalance.benchmark import run_benchmark, run_checks
from healthbalance.benchmark._cli import main
from healthbalance.benchmark._leakage import (
    LeakageError,
    check_leakage,
    column_aurocs,
)
from healthbalance.datasets import make_icu_cohort
from tests.benchmark._helpers import ERM_ONLY


def _folded(y, x):
    auroc = roc_auc_score(y, x)
    return abs(auroc - 0.5) + 0.5


def _toy(n=3_000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    X = pd.DataFrame(
        {
            "weak": rng.normal(size=n) + 0.5 * y,
            "reversed": -rng.normal(size=n) - 1.5 * y,
            "ties": np.round(rng.normal(size=n) + y, 0),
            "constant": np.ones(n),
            "flag": rng.random(n) < 0.3,
        }
    )
    return X, y


def test_numeric_aurocs_match_sklearn_column_by_column():
    X, y = _toy()
    aurocs = column_aurocs(X, y)
    assert list(aurocs.index) == list(X.columns)
    for column in X.columns:
        expected = _folded(y, X[column].astype(float))
        assert aurocs[column] == pytest.approx(expected, abs=1e-12), column


def test_a_missingness_that_gives_the_outcome_away_is_caught():
    X, y = _toy()
    lactate = X["weak"].where(y == 0)  # measured only in survivors
    aurocs = column_aurocs(pd.DataFrame({"lactate": lactate}), y)
    assert aurocs["lactate"] == pytest.approx(_folded(y, lactate.isna()), abs=1e-12)
    assert aurocs["lactate"] >= 0.95


def test_categorical_copy_is_caught_and_an_identifier_is_not():
    X, y = _toy()
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "status": np.where(y == 1, "died", "alive"),
            "patient": [f"p{i}" for i in rng.permutation(len(y))],
            "ward": rng.choice(["A", "B", None], size=len(y)),
        }
    )
    aurocs = column_aurocs(frame, y)
    assert aurocs["status"] == pytest.approx(1.0, abs=1e-9)
    assert aurocs["patient"] < 0.6  # one patient per value: nothing out of fold
    assert aurocs["ward"] < 0.6


def test_check_leakage_names_every_leaky_column_and_the_fix():
    X, y = _toy()
    X = X.assign(copy=y, dead_flag=y.astype(bool))
    with pytest.raises(LeakageError, match="'copy'.*'dead_flag'") as error:
        check_leakage(X, y)
    assert isinstance(error.value, ValueError)
    assert "--exclude copy dead_flag" in str(error.value)
    assert "allow_leaky=True" in str(error.value)
    assert set(check_leakage(X, y, allow_leaky=True)) == {"copy", "dead_flag"}
    assert check_leakage(X[["weak", "ties"]], y) == {}


def test_the_synthetic_cohort_has_no_leaky_feature_and_its_oracle_is_leaky():
    cohort = make_icu_cohort(5_000, random_state=0)
    assert check_leakage(cohort.data, cohort.target) == {}
    oracle = cohort.oracle[["latent_risk", "true_mortality"]]
    aurocs = column_aurocs(oracle, cohort.target)
    assert aurocs["true_mortality"] >= 0.95


@pytest.fixture(scope="module")
def cohort():
    return make_icu_cohort(3_000, random_state=0)


RUN = {
    "strategies": ["erm"],
    "models": ["logistic"],
    "quick": True,
    "n_bootstrap": 20,
    "progress": False,
    "cache_dir": False,
}


def test_run_benchmark_refuses_a_copy_of_the_outcome(cohort):
    X = cohort.data.assign(outcome_copy=cohort.target)
    sf = cohort.sensitive_features[["race_ethnicity"]]
    with pytest.raises(LeakageError, match="'outcome_copy'"):
        run_benchmark(X, cohort.target, sf, **RUN)
    kept = run_benchmark(X, cohort.target, sf, exclude=["outcome_copy"], **RUN)
    assert kept.settings["excluded"] == ["outcome_copy"]
    assert kept.settings["leaky_columns"] == {}
    allowed = run_benchmark(X, cohort.target, sf, allow_leaky=True, **RUN)
    sentences = [text for text, _ in run_checks(allowed, 11)]
    assert any("'outcome_copy' alone predicts" in s for s in sentences)
    with pytest.raises(ValueError, match=r"exclude.*\['nope'\]"):
        run_benchmark(X, cohort.target, sf, exclude=["nope"], **RUN)


def _csv(cohort, path):
    frame = pd.concat(
        [cohort.data, cohort.sensitive_features[["race_ethnicity"]], cohort.target],
        axis=1,
    ).assign(discharge_dead=cohort.target)
    frame.to_csv(path, index=False)
    return path


def _argv(path, out):
    return [
        "benchmark",
        "--data",
        str(path),
        "--target",
        "in_hospital_mortality",
        "--sensitive",
        "race_ethnicity",
        *ERM_ONLY,
        "--no-cache",
        "--out",
        str(out),
    ]


def test_command_line_refuses_a_leaky_csv_and_names_the_column(
    cohort, tmp_path, capsys
):
    argv = _argv(_csv(cohort, tmp_path / "cohort.csv"), tmp_path / "out")
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "'discharge_dead'" in err and "--exclude discharge_dead" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "benchmark.html").exists()


@pytest.mark.parametrize("flag", [["--exclude", "discharge_dead"], ["--allow-leaky"]])
def test_command_line_exclude_and_allow_leaky_let_the_run_go_on(
    cohort, tmp_path, capsys, flag
):
    out = tmp_path / "out"
    main([*_argv(_csv(cohort, tmp_path / "cohort.csv"), out), *flag])
    assert (out / "benchmark.html").exists()
    printed = capsys.readouterr().out
    named = "'discharge_dead' alone predicts" in printed
    assert named == (flag == ["--allow-leaky"])
