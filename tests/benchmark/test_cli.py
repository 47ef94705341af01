import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import healthbalance
from healthbalance.benchmark import STRATEGIES
from healthbalance.benchmark._cli import build_parser, main
from healthbalance.datasets import make_icu_cohort

QUICK = [
    "benchmark",
    "--quick",
    "--n-samples",
    "3000",
    "--models",
    "logistic",
    "--n-bootstrap",
    "20",
    "--no-cache",
]
FLAGS = {"--quick", "--no-cache", "--no-progress", "-h", "--help", "--version"}


def _benchmark_parser():
    (commands,) = [
        a
        for a in build_parser()._actions
        if a.__class__.__name__ == "_SubParsersAction"
    ]
    return commands.choices["benchmark"]


def test_every_option_has_help_and_a_default():
    for action in _benchmark_parser()._actions:
        name = action.option_strings[-1]
        assert action.help, name
        if name not in FLAGS:
            assert "(default: " in action.help or "(required with" in action.help, name


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["benchmark", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for markup in ["``", "**", ":func:", ":class:", ":doc:", "`", "{", "}"]:
        assert markup not in text, markup
    assert "--reference-population" in text and "race_ethnicity only" in text
    assert "(default: 11)" in text
    for name in STRATEGIES:
        assert name in text


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert (
        capsys.readouterr().out.strip() == f"healthbalance {healthbalance.__version__}"
    )


def test_python_dash_m_has_version_and_help_in_a_subprocess():
    root = Path(healthbalance.__file__).parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "healthbalance", "--version"],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    assert done.stdout.strip() == f"healthbalance {healthbalance.__version__}"


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    cohort = make_icu_cohort(3_000, random_state=0)
    frame = pd.concat(
        [cohort.data, cohort.sensitive_features[["race_ethnicity"]], cohort.target],
        axis=1,
    )
    path = tmp_path_factory.mktemp("data") / "cohort.csv"
    frame.to_csv(path, index=False)
    return path


def _data(csv, target="in_hospital_mortality", sensitive="race_ethnicity"):
    return ["--data", str(csv), "--target", target, "--sensitive", sensitive]


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--target", "died"], ["--target", "no column died", "heart_rate_mean"]),
        (["--sensitive", "race"], ["--sensitive", "no column race", "race_ethnicity"]),
        (["--attribute", "zodiac"], ["--attribute zodiac", "race_ethnicity"]),
        (["--exclude", "shoe_size"], ["--exclude", "shoe_size", "heart_rate_mean"]),
        (["--data", "absent.csv"], ["--data absent.csv: no such file"]),
        (
            ["--reference-population", "absent.csv"],
            ["--reference-population absent.csv: no such file", "census-us"],
        ),
        (
            ["--target", "heart_rate_mean"],
            ["--target heart_rate_mean", "exactly two values", "--pos-label"],
        ),
        (
            ["--target", "race_ethnicity"],
            ["--sensitive race_ethnicity", "cannot also be a sensitive attribute"],
        ),
        (["--pos-label", "yes"], ["--pos-label yes: not a value", "0, 1"]),
    ],
)
def test_a_wrong_name_is_one_line_with_the_valid_ones(
    csv, tmp_path, capsys, extra, expected
):
    argv = [*QUICK, "--no-progress", *_data(csv), "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as stop:
        main([*argv, *extra])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("healthbalance benchmark: error: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for text in expected:
        assert text in err
    assert not (tmp_path / "o").exists()


def test_a_wrong_attribute_in_a_subprocess_has_no_traceback(tmp_path):
    root = Path(healthbalance.__file__).parents[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "healthbalance",
            *QUICK,
            "--attribute",
            "zodiac",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "healthbalance benchmark: error: --attribute zodiac: not a sensitive "
        "attribute; use one of race_ethnicity, sex, age_group, insurance."
    ]


def test_progress_names_each_run_and_every_written_file_is_printed(tmp_path, capsys):
    out = tmp_path / "out"
    main([*QUICK, "--strategies", "erm", "jtt", "--out", str(out)])
    captured = capsys.readouterr()
    assert "run 1/2: erm (logistic, seed 0)" in captured.err
    assert "run 2/2: jtt (logistic, seed 0)" in captured.err
    # The bar advances by expected cost: erm is the cheaper part of the total.
    erm, jtt = STRATEGIES["erm"], STRATEGIES["jtt"]
    share = erm.cost["logistic"] / (
        erm.cost["logistic"] + len(jtt.grid[:1]) * jtt.cost["logistic"]
    )
    assert re.search(
        rf"run 2/2: jtt \(logistic, seed 0\) {share * 100:3.0f}%\|", captured.err
    )
    assert captured.out.startswith("Bottom line:\n- race_ethnicity, logistic: ")
    assert "\nTest-set results, worst group by race_ethnicity:\n" in captured.out
    assert not re.search(r"\bnan\b", captured.out, flags=re.IGNORECASE)
    printed = captured.out.split("Files written:\n")[1].strip().splitlines()
    files = sorted(str(p) for p in out.iterdir())
    assert sorted(printed) == files and len(files) == 4


def test_the_cost_table_spans_the_measured_range():
    # Measured in --quick with one thread: logistic fits take 0.03-1 s,
    # fairlearn_eg 5 s, hgb 0.6-61 s (group_dro the slowest).
    cheapest = min(c for s in STRATEGIES.values() for c in s.cost.values())
    assert STRATEGIES["fairlearn_eg"].cost["logistic"] / cheapest > 100
    assert STRATEGIES["group_dro"].cost["hgb"] / cheapest > 1000
    assert STRATEGIES["erm"].cost["logistic"] < STRATEGIES["erm"].cost["hgb"]
    for strategy in STRATEGIES.values():
        assert set(strategy.cost) == set(strategy.models), strategy.name


def _refused(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_target_and_sensitive_without_data_are_refused(tmp_path, capsys):
    err = _refused([*QUICK, "--sensitive", "sex", "--out", str(tmp_path)], capsys)
    assert "--target and --sensitive name columns of --data FILE" in err


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            "attribute,group,share\nrace_ethnicity,Whyte,0.5\n"
            "race_ethnicity,Black,0.5\n",
            ["race_ethnicity has no group 'Whyte'", "'White'", "'Black'"],
        ),
        ("", ["has no rows or lacks the columns attribute, group, share"]),
    ],
)
def test_a_reference_file_is_checked_against_the_data(
    csv, tmp_path, capsys, content, expected
):
    reference = tmp_path / "reference.csv"
    reference.write_text(content)
    argv = [*QUICK, *_data(csv), "--out", str(tmp_path / "o")]
    err = _refused([*argv, "--reference-population", str(reference)], capsys)
    for text in expected:
        assert text in err


def test_warnings_are_one_plain_line_each_without_a_source_path(monkeypatch, capsys):
    import healthbalance.benchmark._cli as cli

    def benchmark(args):
        for _ in range(4):
            message = "the smallest cell sets the size of the others"
            warnings.warn(message, UserWarning, stacklevel=2)

    monkeypatch.setattr(cli, "benchmark", benchmark)
    assert main(["benchmark", "--quick"]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "warning: UserWarning: the smallest cell sets the size of the others"
    ]
