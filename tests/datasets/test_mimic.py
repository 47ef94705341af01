import json
import os
import shutil
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils._param_validation import InvalidParameterError

import healthbalance
from healthbalance._sensitive import group_labels, resolve_sensitive_features
from healthbalance.datasets import _mimic as mimic_loader
from healthbalance.datasets import _mimic_sql as mimic_sql
from healthbalance.datasets import load_mimic_iv, make_icu_cohort
from healthbalance.datasets._mimic_items import map_age_group, map_race
from healthbalance.utils._cache import CacheWarning
from tests.datasets import _mimic_fixture as fixture
from tests.datasets import _mimic_reference as reference

NUMERIC = [
    name
    for name in make_icu_cohort(10, random_state=0).feature_names
    if name not in ("admission_type", "age", "sex")
]
RACE = {
    "WHITE": "White",
    "WHITE - OTHER EUROPEAN": "White",
    "WHITE - RUSSIAN": "White",
    "BLACK/AFRICAN AMERICAN": "Black",
    "BLACK/CAPE VERDEAN": "Black",
    "HISPANIC/LATINO - PUERTO RICAN": "Hispanic",
    "HISPANIC OR LATINO": "Hispanic",
    "SOUTH AMERICAN": "Hispanic",
    "ASIAN": "Asian",
    "ASIAN - CHINESE": "Asian",
    "AMERICAN INDIAN/ALASKA NATIVE": "Other/Unknown",
    "OTHER": "Other/Unknown",
    "UNKNOWN": "Other/Unknown",
    "UNABLE TO OBTAIN": "Other/Unknown",
    "PATIENT DECLINED TO ANSWER": "Other/Unknown",
    "PORTUGUESE": "Other/Unknown",
}


@pytest.fixture(scope="module", params=["3.1", "2.0"])
def mimic(request, tmp_path_factory):
    tables = fixture.make_tables(request.param, seed=1)
    root = tmp_path_factory.mktemp(f"mimic-iv-{request.param}")
    return tables, fixture.write_tables(root, tables)


@pytest.fixture(scope="module")
def tables():
    return fixture.make_tables("3.1", seed=2)


@pytest.fixture(scope="module")
def root(tables, tmp_path_factory):
    """A fixture folder the tests only read."""
    return fixture.write_tables(tmp_path_factory.mktemp("mimic-iv"), tables)


@pytest.fixture
def fresh_root(tables, tmp_path):
    """A fixture folder a test may change."""
    return fixture.write_tables(tmp_path / "mimic-iv", tables)


def test_bunch_matches_make_icu_cohort(mimic):
    synthetic = make_icu_cohort(2_000, random_state=0)
    cohort = load_mimic_iv(mimic[1])
    assert set(cohort) == set(synthetic) - {"oracle"}  # no truth in real data
    assert cohort.feature_names == synthetic.feature_names
    pd.testing.assert_series_equal(cohort.data.dtypes, synthetic.data.dtypes)
    pd.testing.assert_series_equal(
        cohort.sensitive_features.dtypes, synthetic.sensitive_features.dtypes
    )
    assert cohort.target.name == synthetic.target.name
    assert cohort.target.dtype == synthetic.target.dtype
    for column in ["race_ethnicity", "sex", "age_group", "insurance"]:
        assert set(cohort.sensitive_features[column]) <= set(
            synthetic.sensitive_features[column]
        )
    assert set(cohort.data["admission_type"]) <= {"emergency", "urgent", "elective"}
    expected = ["subject_id", "hadm_id", "stay_id"]
    expected += [c for c in synthetic.frame.columns if c != "stay_id"]
    assert list(cohort.frame.columns) == expected
    labels = group_labels(
        resolve_sensitive_features(
            cohort.data, cohort.sensitive_features, None, caller="test"
        )
    )
    assert len(labels) == cohort.data.shape[0]


@pytest.mark.parametrize("stays", ["first", "all"])
@pytest.mark.parametrize("min_age", [18, 65])
def test_cohort_and_labels(tables, root, stays, min_age):
    expected = reference.cohort(tables, min_age=min_age, stays=stays)
    cohort = load_mimic_iv(root, stays=stays, min_age=min_age)
    np.testing.assert_array_equal(cohort.frame["stay_id"], expected["stay_id"])
    np.testing.assert_array_equal(cohort.frame["hadm_id"], expected["hadm_id"])
    np.testing.assert_array_equal(cohort.target, expected["hospital_expire_flag"])
    np.testing.assert_allclose(cohort.data["age"], expected["age"])
    assert (cohort.data["age"] >= min_age).all()


def test_cohort_excludes_short_stays_minors_and_later_stays(tables, root):
    everything = tables["icustays"]
    cohort = load_mimic_iv(root)
    assert 100 < cohort.frame.shape[0] < everything.shape[0]
    assert cohort.frame["hadm_id"].is_unique
    stays = everything.set_index("stay_id").loc[cohort.frame["stay_id"]]
    assert ((stays["outtime"] - stays["intime"]) >= pd.Timedelta(hours=24)).all()
    all_stays = load_mimic_iv(root, stays="all")
    assert not all_stays.frame["hadm_id"].is_unique


@pytest.mark.parametrize("window_hours", [24, 12])
def test_features_match_brute_force(mimic, window_hours):
    tables, root = mimic
    expected_cohort = reference.cohort(tables, window_hours=window_hours)
    expected = reference.features(tables, expected_cohort, window_hours)
    cohort = load_mimic_iv(root, window_hours=window_hours)
    data = cohort.data.set_index(cohort.frame["stay_id"])
    for name in NUMERIC:
        np.testing.assert_allclose(
            data[name].to_numpy(float),
            expected[name].reindex(data.index).to_numpy(float),
            rtol=1e-9,
            err_msg=name,
        )
        assert data[name].notna().any(), name


def test_all_stays_features_match_brute_force(tables, root):
    expected_cohort = reference.cohort(tables, stays="all")
    expected = reference.features(tables, expected_cohort)
    cohort = load_mimic_iv(root, stays="all")
    data = cohort.data.set_index(cohort.frame["stay_id"])
    for name in NUMERIC:
        np.testing.assert_allclose(
            data[name].to_numpy(float),
            expected[name].reindex(data.index).to_numpy(float),
            rtol=1e-9,
            err_msg=name,
        )


def test_a_model_fitted_on_the_synthetic_cohort_scores_mimic(root):
    # Same columns, order and dtypes: a pipeline built for make_icu_cohort runs as is.
    synthetic = make_icu_cohort(500, random_state=0)
    encode = make_column_transformer(
        (OrdinalEncoder(), ["admission_type", "sex"]), remainder="passthrough"
    )
    model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=20))
    model.fit(synthetic.data, synthetic.target)
    proba = model.predict_proba(load_mimic_iv(root).data)[:, 1]
    assert np.all((proba >= 0) & (proba <= 1))


def test_sensitive_attributes_follow_the_documented_mappings(tables, root):
    cohort = load_mimic_iv(root)
    expected = reference.cohort(tables)
    sensitive = cohort.sensitive_features
    np.testing.assert_array_equal(
        sensitive["race_ethnicity"], expected["race"].map(RACE)
    )
    np.testing.assert_array_equal(sensitive["sex"], expected["gender"])
    insurance = expected["insurance"].where(
        expected["insurance"].isin(["Medicare", "Medicaid"]), "Other"
    )
    np.testing.assert_array_equal(sensitive["insurance"], insurance)
    bins = pd.cut(
        expected["age"], [0, 44, 64, 79, 200], labels=["18-44", "45-64", "65-79", "80+"]
    )
    np.testing.assert_array_equal(sensitive["age_group"], bins.astype(str))


def test_no_planted_value_reaches_a_feature(mimic):
    cohort = load_mimic_iv(mimic[1])
    # 44.9 degC is charted at intime - 1 s, at intime + 24 h and 1 min after death.
    assert cohort.data["temperature_max"].max() < fixture.PLANTED["temperature"] - 0.5
    # Lactate 39.5 at intime + 24 h, urine 4999 mL at intime + 24 h 1 min.
    assert cohort.data["lactate_max"].max() < fixture.PLANTED["lactate"] - 1
    assert cohort.data["urine_output_24h"].max() < fixture.PLANTED["urine"]


def test_planted_values_inside_the_window_are_found(mimic):
    # The same planted values count once the window covers them.
    cohort = load_mimic_iv(mimic[1], window_hours=24.5)
    assert (cohort.data["temperature_max"] == fixture.PLANTED["temperature"]).any()
    assert (cohort.data["lactate_max"] == fixture.PLANTED["lactate"]).any()


def test_fahrenheit_is_converted_to_celsius(tables, root):
    cohort = load_mimic_iv(root)
    expected = reference.cohort(tables)
    chart = tables["chartevents"].merge(expected[["stay_id", "start", "end"]])
    chart = chart[
        (chart["charttime"] >= chart["start"]) & (chart["charttime"] < chart["end"])
    ]
    only_f = chart.groupby("stay_id")["itemid"].agg(
        lambda s: 223762 not in set(s) and 223761 in set(s)
    )
    stays = only_f.index[only_f]
    assert len(stays) > 0 or (chart["itemid"] == 223761).sum() == 0
    data = cohort.data.set_index(cohort.frame["stay_id"])
    for stay in stays:
        f = chart.loc[
            (chart["stay_id"] == stay) & (chart["itemid"] == 223761), "valuenum"
        ]
        c = (f[f > 0] - 32) * 5 / 9
        assert data.loc[stay, "temperature_max"] == pytest.approx(c.max())
    assert data["temperature_max"].dropna().between(30, 43).all()


def test_plain_csv_gives_the_same_cohort(tables, tmp_path):
    gz = load_mimic_iv(fixture.write_tables(tmp_path / "gz", tables))
    csv = load_mimic_iv(fixture.write_tables(tmp_path / "csv", tables, compress=False))
    pd.testing.assert_frame_equal(gz.frame, csv.frame)


def test_cache_is_reused_and_invalidated(fresh_root, tmp_path, monkeypatch):
    root = fresh_root
    cache = tmp_path / "cache"
    first = load_mimic_iv(root, cache_dir=cache)
    assert len(list(cache.glob("*.parquet"))) == 1
    _no_extraction(monkeypatch)
    second = load_mimic_iv(root, cache_dir=cache)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    pd.testing.assert_series_equal(first.data.dtypes, second.data.dtypes)
    with pytest.raises(AssertionError, match="extraction ran"):
        load_mimic_iv(root, cache_dir=cache, window_hours=12)
    path = root / "icu" / "chartevents.csv.gz"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="extraction ran"):
        load_mimic_iv(root, cache_dir=cache)


def _cached(cache):
    files = sorted(p.name for p in cache.iterdir())
    assert all(name.startswith("mimic_iv_") for name in files), files
    return files


def _no_extraction(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("extraction ran although the cache was valid")

    monkeypatch.setattr(mimic_sql, "chart_features", fail)


def test_the_cache_is_stamped_and_written_atomically(fresh_root, tmp_path):
    cache = tmp_path / "cache"
    before = sorted(p for p in tmp_path.rglob("*") if cache not in p.parents)
    load_mimic_iv(fresh_root, cache_dir=cache)
    (name,) = _cached(cache)  # no temporary file left behind
    after = sorted(p for p in tmp_path.rglob("*") if cache not in p.parents)
    assert after == sorted([*before, cache])
    stamp = json.loads(pq.read_schema(cache / name).metadata[mimic_loader.STAMP_KEY])
    assert stamp["library"] == healthbalance.__version__
    assert stamp["params"] == {
        "task": "in_hospital_mortality",
        "window_hours": 24.0,
        "min_age": 18.0,
        "stays": "first",
    }
    chart = fresh_root / "icu" / "chartevents.csv.gz"
    assert stamp["files"]["chartevents"] == [
        "chartevents.csv.gz",
        chart.stat().st_size,
        chart.stat().st_mtime_ns,
    ]
    assert oct((cache / name).stat().st_mode & 0o777) == oct(0o600)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])


def _foreign(path):
    pd.DataFrame({"stay_id": [1, 2], "other": [0.5, 0.7]}).to_parquet(path)


def _restamped(path):
    table = pq.read_table(path)
    stamp = json.loads(table.schema.metadata[mimic_loader.STAMP_KEY])
    metadata = {
        **table.schema.metadata,
        mimic_loader.STAMP_KEY: json.dumps({**stamp, "x": 1}),
    }
    pq.write_table(table.replace_schema_metadata(metadata), path)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_truncate, "is damaged"),
        (_foreign, "was written for other"),
        (_restamped, "was written for other"),
    ],
)
def test_an_unusable_cache_is_named_and_rebuilt(fresh_root, tmp_path, damage, reason):
    cache = tmp_path / "cache"
    first = load_mimic_iv(fresh_root, cache_dir=cache)
    (name,) = _cached(cache)
    damage(cache / name)
    with pytest.warns(CacheWarning, match=f"{cache / name} {reason}") as record:
        second = load_mimic_iv(fresh_root, cache_dir=cache)
    assert record[0].filename == __file__
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert _cached(cache) == [name]
    third = load_mimic_iv(fresh_root, cache_dir=cache)  # repaired: no warning
    pd.testing.assert_frame_equal(first.frame, third.frame)


def test_a_cache_of_a_previous_version_is_not_reused(fresh_root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(mimic_loader, "__version__", "0.0.1")
    old = load_mimic_iv(fresh_root, cache_dir=cache)
    (old_name,) = _cached(cache)
    monkeypatch.undo()
    new = load_mimic_iv(fresh_root, cache_dir=cache)  # another key: extracted again
    pd.testing.assert_frame_equal(old.frame, new.frame)
    (new_name,) = set(_cached(cache)) - {old_name}
    # Copied over the current file, the old cache is recognised by its stamp.
    shutil.copy(cache / old_name, cache / new_name)
    _no_extraction(monkeypatch)
    with pytest.raises(AssertionError, match="extraction ran"):
        with pytest.warns(CacheWarning, match="library version"):
            load_mimic_iv(fresh_root, cache_dir=cache)


def test_missing_folder_and_file_are_named(fresh_root, tmp_path):
    root = fresh_root
    with pytest.raises(FileNotFoundError, match="is not a folder.*v2.0-v2.2"):
        load_mimic_iv(tmp_path / "nowhere")
    (root / "icu" / "chartevents.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"icu/chartevents.csv.gz \(or .csv\)"):
        load_mimic_iv(root)


def test_unexpected_columns_are_named(tables, tmp_path):
    tables = {**tables, "chartevents": tables["chartevents"].drop(columns="valuenum")}
    root = fixture.write_tables(tmp_path, tables)
    with pytest.raises(
        ValueError, match=r"chartevents.csv.gz lacks the columns \['valuenum'\]"
    ):
        load_mimic_iv(root)


def test_admissions_needs_race_or_ethnicity(tables, tmp_path):
    admissions = tables["admissions"].rename(columns={"race": "origin"})
    root = fixture.write_tables(tmp_path, {**tables, "admissions": admissions})
    with pytest.raises(ValueError, match="race or ethnicity"):
        load_mimic_iv(root)


def test_empty_cohort_is_an_error(root):
    with pytest.raises(ValueError, match="no ICU stay .* meets the cohort"):
        load_mimic_iv(root, min_age=120)


@pytest.mark.parametrize(
    "params", [{"window_hours": 0}, {"stays": "last"}, {"task": "los"}, {"threads": 0}]
)
def test_invalid_parameters(root, params):
    with pytest.raises(InvalidParameterError):
        load_mimic_iv(root, **params)


def test_missing_duckdb_says_how_to_install(root, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(ImportError, match=r"pip install healthbalance\[mimic\]"):
        load_mimic_iv(root)


def test_verbose_prints_the_stages(root, capsys):
    load_mimic_iv(root, verbose=True, threads=1, memory_limit="256MB")
    out = capsys.readouterr().out
    for stage in ["cohort", "chartevents", "labevents", "outputevents", "inputevents"]:
        assert stage in out


def test_label_cross_check_is_logged_without_row_level_data(tables, root, caplog):
    expected = reference.cohort(tables)
    flag = expected["hospital_expire_flag"] == 1
    disagree = int((flag != expected["deathtime"].notna()).sum())
    assert disagree >= 1  # the fixture plants a death without deathtime
    with caplog.at_level("WARNING", logger="healthbalance.datasets.mimic"):
        cohort = load_mimic_iv(root)
    # counts below 11 are written "fewer than 11" (the small-count rule)
    shown = [
        f"{n}" if n >= 11 else "fewer than 11" for n in (disagree, len(cohort.frame))
    ]
    assert f"disagree for {shown[0]} of {shown[1]} stays" in caplog.text
    for stay in expected["stay_id"]:
        assert str(stay) not in caplog.text


@given(st.lists(st.floats(18, 120), min_size=1, max_size=30))
def test_age_groups_follow_the_thresholds(ages):
    expected = [
        "18-44" if a < 45 else "45-64" if a < 65 else "65-79" if a < 80 else "80+"
        for a in ages
    ]
    assert map_age_group(ages).tolist() == expected


PREFIXES = {
    "WHITE": "White",
    "BLACK": "Black",
    "HISPANIC": "Hispanic",
    "ASIAN": "Asian",
}


@given(st.sampled_from(sorted(PREFIXES)), st.text(max_size=20))
def test_race_prefixes_decide_the_group(prefix, rest):
    assert map_race([prefix + rest]).tolist() == [PREFIXES[prefix]]


@given(st.text(max_size=30))
def test_other_race_strings_are_other_or_unknown(text):
    upper = text.strip().upper()
    assume(not upper.startswith(tuple(PREFIXES)) and upper != "SOUTH AMERICAN")
    assert map_race([text]).tolist() == ["Other/Unknown"]
