import re
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import SMOTE

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance.resampling import GroupSMOTE, SmallCellWarning
from tests._strategies import cohorts


def _numeric(seed, n=90):
    rng = np.random.default_rng(seed)
    groups = np.repeat(["A", "B", "C"], n // 3)
    # Groups far apart: a neighbour from another group would be visible.
    X = rng.normal(size=(n, 2)) + np.repeat([[0, 0], [50, 0], [0, 50]], n // 3, axis=0)
    y = (rng.random(n) < 0.25).astype(int)
    y[:: n // 3] = 1
    y[1 :: n // 3] = 1
    y[2 :: n // 3] = 0
    return X, y, groups


def _mixed_features(rng, n):
    return pd.DataFrame(
        {
            "age": rng.normal(65, 10, n),
            "admission": pd.Series(
                rng.choice(["emergency", "urgent", "elective"], n), dtype="str"
            ),
            "ward": pd.Categorical(rng.choice(["icu", "hdu"], n)),
            "vent": rng.integers(0, 2, n).astype(np.int64),
            "lactate": rng.gamma(2.0, 1.0, n).astype(np.float32),
        }
    )


def _mixed(seed, n=120):
    rng = np.random.default_rng(seed)
    X = _mixed_features(rng, n)
    y = pd.Series((rng.random(n) < 0.3).astype(int), name="death")
    y.iloc[:6] = [1, 1, 1, 1, 0, 0]
    groups = np.where(np.arange(n) % 2 == 0, "F", "M")
    return X, y, groups


def _on_a_segment(point, members):
    """Brute force: is point = a + t (b - a) for members a, b and t in [0, 1]?"""
    for a in members:
        for b in members:
            direction = b - a
            denom = direction @ direction
            t = 0.0 if denom == 0 else ((point - a) @ direction) / denom
            if 0 <= t <= 1 and np.allclose(a + t * direction, point, atol=1e-8):
                return True
    return False


def test_single_group_counts_equal_imblearn_smote():
    X, y, _ = _numeric(0)
    with pytest.warns(NoSensitiveFeaturesWarning):
        _, y_res = GroupSMOTE(random_state=0).fit_resample(X, y)
    _, y_ref = SMOTE(random_state=0).fit_resample(X, y)
    assert Counter(y_res) == Counter(y_ref)


def test_synthetic_rows_interpolate_two_rows_of_their_own_cell():
    X, y, groups = _numeric(1)
    smote = GroupSMOTE(k_neighbors=3, random_state=0)
    X_res, y_res = smote.fit_resample(X, y, sensitive_features=groups)
    n = len(y)
    assert smote.n_synthetic_ == len(y_res) - n > 0
    np.testing.assert_array_equal(X_res[:n], X)
    labels = smote.sensitive_features_["sensitive_feature"].to_numpy()
    for row, group, label in zip(X_res[n:], labels[n:], y_res[n:], strict=True):
        members = X[(groups == group) & (y == label)]
        assert _on_a_segment(row, members)


def test_class_within_group_balances_every_group():
    X, y, groups = _numeric(2)
    smote = GroupSMOTE(random_state=0)
    _, y_res = smote.fit_resample(X, y, sensitive_features=groups)
    labels = smote.sensitive_features_.iloc[:, 0]
    for g in "ABC":
        counts = Counter(y_res[labels == g])
        assert counts[0] == counts[1] == max(Counter(y[groups == g]).values())


@settings(max_examples=15, deadline=None)
@given(cohort=cohorts(max_count=10, empty=False), seed=st.integers(0, 10_000))
def test_mixed_frame_keeps_dtypes_and_draws_seen_categories(cohort, seed):
    # Sizes, groups, classes, class balance and label types vary (tests/_strategies);
    # the cells are known, so balance and categories are checked against them.
    _, y, groups, cells = cohort
    X = _mixed_features(np.random.default_rng(seed), y.size)
    y = pd.Series(y, name="death")
    smote = GroupSMOTE(k_neighbors=3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)  # cells of 1-3 rows
        X_res, y_res = smote.fit_resample(X, y, sensitive_features=groups)
    assert X_res.dtypes.equals(X.dtypes)
    assert list(X_res.columns) == list(X.columns)
    assert isinstance(y_res, pd.Series) and y_res.name == "death"
    assert smote.categorical_features_.tolist() == [1, 2]
    n = len(X)
    # Map the fitted labels back to the true cells through the original rows.
    fitted = smote.sensitive_features_.iloc[:, 0].to_numpy()
    group_of = dict(zip(fitted[:n], cells.group, strict=True))
    class_of = dict(zip(y, cells.label, strict=True))
    g_res = np.array([group_of[v] for v in fitted])
    c_res = np.array([class_of[v] for v in y_res])
    for g, row in enumerate(cells.counts):  # class_within_group: every class = max
        np.testing.assert_array_equal(
            np.bincount(c_res[g_res == g], minlength=row.size), row.max()
        )
    new = X_res.iloc[n:]
    for column in ("admission", "ward"):
        for value, g, c in zip(new[column], g_res[n:], c_res[n:], strict=True):
            cell = (cells.group == g) & (cells.label == c)
            assert value in set(X.loc[cell, column])
    assert set(new["vent"]) <= {0, 1}


def test_object_array_with_only_categories_uses_smoten():
    rng = np.random.default_rng(3)
    X = rng.choice(np.array(["a", "b", "c"], dtype=object), size=(60, 2))
    y = np.r_[np.ones(15, int), np.zeros(45, int)]
    groups = np.tile(["F", "M"], 30)
    X_res, _ = GroupSMOTE(random_state=0).fit_resample(X, y, sensitive_features=groups)
    assert X_res.dtype == object
    assert set(X_res.ravel()) <= {"a", "b", "c"}


def test_small_cell_uses_fewer_neighbours_and_names_the_cell():
    X, y, groups = _numeric(4)
    small = (groups == "C") & (y == 1)
    keep = ~small | (np.cumsum(small) <= 3)
    X, y, groups = X[keep], y[keep], groups[keep]
    smote = GroupSMOTE(k_neighbors=5, random_state=0)
    with pytest.warns(SmallCellWarning) as record:
        X_res, y_res = smote.fit_resample(X, y, sensitive_features=groups)
    labels = smote.sensitive_features_.iloc[:, 0].to_numpy()
    assert Counter(y_res[labels == "C"])[1] == Counter(y[groups == "C"])[0]
    message = str(record[0].message)
    # 3 rows is a small count: neither it nor its 2 neighbours may appear
    assert "(group 'C', class 1) has fewer than 11 rows" in message
    assert "fewer neighbours than k_neighbors=5" in message
    assert not re.search(r"\b[23]\b", message)


def test_small_cell_that_may_be_released_shows_its_rows_and_neighbours():
    X, y, groups = _numeric(4, n=300)
    small = (groups == "C") & (y == 1)
    keep = ~small | (np.cumsum(small) <= 12)
    X, y, groups = X[keep], y[keep], groups[keep]
    with pytest.warns(SmallCellWarning) as record:
        GroupSMOTE(k_neighbors=15, random_state=0).fit_resample(
            X, y, sensitive_features=groups
        )
    assert [str(w.message) for w in record] == [
        "GroupSMOTE: cell (group 'C', class 1) has 12 rows, so it uses 11 neighbours "
        "instead of 15. Merge small groups or lower k_neighbors."
    ]


def test_one_row_cell_is_copied_with_a_warning():
    X, y, groups = _numeric(5)
    only = np.flatnonzero((groups == "B") & (y == 1))
    y[only[1:]] = 0
    with pytest.warns(SmallCellWarning) as record:
        X_res, y_res = GroupSMOTE(random_state=0).fit_resample(
            X, y, sensitive_features=groups
        )
    # the same words as a cell of 2 to 5 rows: "its row" would reveal the single row
    assert "has fewer than 11 rows, so it uses fewer neighbours" in str(
        record[0].message
    )
    after_name = str(record[0].message).split(") has ")[1]
    assert not re.search(r"\b[01]\b|its row\b", after_name)
    copies = X_res[len(y) :][np.all(X_res[len(y) :] == X[only[0]], axis=1)]
    assert len(copies) == Counter(y[groups == "B"])[0] - 1


def test_missing_numeric_values_fail_with_a_clear_error():
    X, y, groups = _mixed(6)
    X.loc[3, "age"] = np.nan
    with pytest.raises(ValueError, match="cannot interpolate NaN .* 'age'"):
        GroupSMOTE().fit_resample(X, y, sensitive_features=groups)


def test_explicit_categorical_features_by_name_and_mask():
    X, y, groups = _mixed(7)
    by_name = GroupSMOTE(categorical_features=["admission", "ward", "vent"])
    by_name.fit_resample(X, y, sensitive_features=groups)
    assert by_name.categorical_features_.tolist() == [1, 2, 3]
    mask = GroupSMOTE(categorical_features=[False, True, True, False, False])
    mask.fit_resample(X, y, sensitive_features=groups)
    assert mask.categorical_features_.tolist() == [1, 2]
    with pytest.raises(ValueError, match="'nope'"):
        GroupSMOTE(categorical_features=["nope"]).fit_resample(
            X, y, sensitive_features=groups
        )


def test_group_with_a_single_class_is_over_sampled_for_a_joint_target():
    X, y, groups = _numeric(8)
    y[groups == "C"] = 1  # group C has positives only
    with pytest.warns(UserWarning, match="group 'C', class 0"):
        smote = GroupSMOTE(target="joint", k_neighbors=3, random_state=0)
        X_res, y_res = smote.fit_resample(X, y, sensitive_features=groups)
    labels = smote.sensitive_features_.iloc[:, 0].to_numpy()
    counts = Counter(zip(labels, y_res, strict=True))
    assert counts[("C", 0)] == 0
    assert len({n for key, n in counts.items() if key != ("C", 0)}) == 1
    for row, group, label in zip(
        X_res[len(y) :], labels[len(y) :], y_res[len(y) :], strict=True
    ):
        assert _on_a_segment(row, X[(groups == group) & (y == label)])


def test_same_seed_same_synthetic_rows():
    X, y, groups = _numeric(9)
    first, _ = GroupSMOTE(random_state=3).fit_resample(X, y, sensitive_features=groups)
    again, _ = GroupSMOTE(random_state=3).fit_resample(X, y, sensitive_features=groups)
    np.testing.assert_array_equal(first, again)


def test_icu_cohort_mixed_columns_with_pandas_string_dtype():
    from healthbalance.datasets import make_icu_cohort

    cohort = make_icu_cohort(2_000, random_state=0)
    X = cohort.data
    with pytest.raises(ValueError, match="impute missing values first"):
        GroupSMOTE().fit_resample(X, cohort.target, sensitive_features=X["sex"])
    numeric = X.select_dtypes("number").columns
    X = X.fillna({c: X[c].median() for c in numeric})
    race = cohort.sensitive_features["race_ethnicity"]
    smote = GroupSMOTE(random_state=0)
    X_res, y_res = smote.fit_resample(X, cohort.target, sensitive_features=race)
    assert X_res.dtypes.equals(X.dtypes)
    assert smote.categorical_features_.tolist() == [0, 2]
    new = X_res.iloc[len(X) :]
    assert set(new["admission_type"]) <= set(X["admission_type"])
    assert set(new["mechanical_ventilation"]) <= {0, 1}
    counts = Counter(zip(smote.sensitive_features_.iloc[:, 0], y_res, strict=True))
    for group in race.unique():
        assert counts[(group, 0)] == counts[(group, 1)]


@pytest.mark.parametrize("container", ["frame", "object_array"])
def test_digit_strings_are_categories_never_interpolated(container):
    rng = np.random.default_rng(3)
    n = 80
    stage = rng.choice(["1", "2", "4"], size=n).astype(object)
    numbers = np.round(rng.normal(size=n), 3)
    if container == "frame":
        X = pd.DataFrame({"x": numbers, "stage": pd.Series(stage, dtype=object)})
    else:
        X = np.column_stack([numbers.astype(object), stage])
    y = np.r_[np.ones(10, int), np.zeros(n - 10, int)]
    smote = GroupSMOTE(random_state=0)
    with pytest.warns(NoSensitiveFeaturesWarning):
        X_res, _ = smote.fit_resample(X, y)
    assert smote.categorical_features_.tolist() == [1]
    new = np.asarray(X_res)[n:, 1]
    assert len(new) == n - 20
    # Interpolating "1" and "4" would give "2.7" or 2.7: only seen labels appear.
    assert set(new.tolist()) <= {"1", "2", "4"}
