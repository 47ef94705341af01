import re

import pandas as pd
import pytest

from healthbalance.benchmark._cli import US_CENSUS_2020, main
from healthbalance.benchmark._reference import reference_population
from healthbalance.datasets import make_icu_cohort
from tests.benchmark._helpers import ERM_ONLY

ATTRIBUTES = ["race_ethnicity", "sex"]


def _write(tmp_path, rows, name="reference.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=["attribute", "group", "share"]).to_csv(
        path, index=False
    )
    return path


def test_a_file_is_read_per_attribute(tmp_path):
    path = _write(
        tmp_path,
        [
            ("race_ethnicity", "White", 0.6),
            ("race_ethnicity", "Black", 0.3),
            ("race_ethnicity", "Asian", 0.1),
            ("sex", "F", 0.51),
            ("sex", "M", 0.49),
        ],
    )
    reference = reference_population(path, ATTRIBUTES)
    assert reference == {
        "race_ethnicity": {"White": 0.6, "Black": 0.3, "Asian": 0.1},
        "sex": {"F": 0.51, "M": 0.49},
    }


def test_census_us_is_race_only():
    assert reference_population("census-us", ATTRIBUTES) == US_CENSUS_2020
    assert sum(US_CENSUS_2020["race_ethnicity"].values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="race_ethnicity only"):
        reference_population("census-us", ["race"])


@pytest.mark.parametrize(
    "rows, match",
    [
        (
            [("sex", "F", 51.0), ("sex", "M", 49.0)],
            "percentages .* divide the share column by 100",
        ),
        ([("sex", "F", 0.5), ("sex", "M", 0.4)], "'sex' sum to 0.9, not 1"),
        ([("sex", "F", 0.5), ("sex", "M", 0.5000011)], "not 1 .within 1e-06"),
        ([("sex", "F", 1.5), ("sex", "M", -0.5)], r"proportion in \[0, 1\]"),
        ([("sex", "F", 0.5), ("sex", "F", 0.5)], "more than once"),
        ([("zodiac", "Leo", 1.0)], "zodiac not a sensitive attribute of the data"),
    ],
)
def test_a_bad_file_is_refused_with_the_fix(tmp_path, rows, match):
    path = _write(tmp_path, rows)
    with pytest.raises(ValueError, match=match):
        reference_population(path, ATTRIBUTES)


def test_a_file_within_the_tolerance_is_accepted(tmp_path):
    path = _write(tmp_path, [("sex", "F", 0.5), ("sex", "M", 0.5000004)])
    assert reference_population(path, ATTRIBUTES)["sex"]["M"] == 0.5000004


def test_wrong_columns_or_no_file_are_named(tmp_path):
    path = tmp_path / "wrong.csv"
    pd.DataFrame({"attribute": ["sex"], "level": ["F"], "pct": [1.0]}).to_csv(
        path, index=False
    )
    with pytest.raises(ValueError, match="lacks the columns group, share"):
        reference_population(path, ATTRIBUTES)
    with pytest.raises(ValueError, match="no such file"):
        reference_population(tmp_path / "absent.csv", ATTRIBUTES)


CLI = [
    "benchmark",
    "--n-samples",
    "3000",
    *ERM_ONLY,
    "--no-cache",
]


def _representation(out):
    """Group -> (attribute, share %, reference %) printed as under-represented."""
    sentences = [line for line in out.splitlines() if "Under-represented" in line]
    assert len(sentences) <= 1
    pattern = r"(?:: | and |, )([^,:]+?) \((\w+)\) ([0-9.]+)% against ([0-9.]+)%"
    return {
        group: (attribute, float(share), float(reference))
        for sentence in sentences
        for group, attribute, share, reference in re.findall(pattern, sentence)
    }


def test_command_line_census_us_checks_race(tmp_path, capsys):
    main([*CLI, "--out", str(tmp_path), "--reference-population", "census-us"])
    named = _representation(capsys.readouterr().out)
    # Brute force: the cohort's shares against the census, ratio below 0.8.
    race = make_icu_cohort(3000, random_state=0).sensitive_features["race_ethnicity"]
    share = race.value_counts(normalize=True)
    census = US_CENSUS_2020["race_ethnicity"]
    expected = {g for g, s in census.items() if share.get(g, 0) / s < 0.8}
    assert expected and set(named) == expected
    for group in expected:
        assert named[group][0] == "race_ethnicity"
        assert named[group][1] == pytest.approx(100 * share[group], abs=0.05)
        assert named[group][2] == pytest.approx(100 * census[group], abs=0.05)


def test_command_line_reads_a_reference_file(tmp_path, capsys):
    path = _write(tmp_path, [("sex", "F", 0.8), ("sex", "M", 0.2)])
    main([*CLI, "--out", str(tmp_path / "out"), "--reference-population", str(path)])
    named = _representation(capsys.readouterr().out)
    assert list(named) == ["F"]
    assert named["F"][0] == "sex" and named["F"][2] == 80.0


def test_command_line_refuses_a_percent_table_in_one_line(tmp_path, capsys):
    path = _write(tmp_path, [("sex", "F", 51), ("sex", "M", 49)])
    with pytest.raises(SystemExit) as stop:
        main(
            [*CLI, "--out", str(tmp_path / "out"), "--reference-population", str(path)]
        )
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "divide the share column by 100" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
