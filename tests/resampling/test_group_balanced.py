import re
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from scipy import sparse

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance.resampling import (
    EmptyCellWarning,
    GroupBalancedSampler,
    HeavyUndersamplingWarning,
)
from tests._strategies import cohorts


def _data(seed, n=120, prevalence=0.2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (rng.random(n) < prevalence).astype(int)
    y[:3] = 1  # every (group, class) cell present
    groups = rng.choice(["A", "B", "C"], size=n, p=[0.6, 0.3, 0.1])
    groups[:6] = ["A", "B", "C", "A", "B", "C"]
    y[3:6] = 0
    return X, y, groups


def _cells(groups, y):
    return Counter(zip(groups, y, strict=True))


@pytest.mark.parametrize(
    "method, reference", [("over", RandomOverSampler), ("under", RandomUnderSampler)]
)
def test_single_group_counts_equal_imblearn(method, reference):
    X, y, _ = _data(0)
    sampler = GroupBalancedSampler(method=method, random_state=0)
    with pytest.warns(NoSensitiveFeaturesWarning):
        _, y_res = sampler.fit_resample(X, y)
    _, y_ref = reference(random_state=0).fit_resample(X, y)
    assert Counter(y_res) == Counter(y_ref)


def _brute_force_targets(counts, target, method):
    """Rows per cell after resampling, by a loop over the cells."""
    pick = max if method == "over" else min
    result = np.zeros_like(counts)
    for g in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            if counts[g, c] == 0:
                continue
            if target == "joint":
                result[g, c] = pick(n for n in counts.ravel() if n > 0)
            else:  # class_within_group
                result[g, c] = pick(n for n in counts[g] if n > 0)
    return result


def _resample(sampler, X, y, groups, cells):
    """fit_resample, checking that an EmptyCellWarning comes iff a cell is empty."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X_res, y_res = sampler.fit_resample(X, y, sensitive_features=groups)
    empty = [w for w in caught if issubclass(w.category, EmptyCellWarning)]
    assert len(empty) == int((cells.counts == 0).sum())
    return X_res, y_res


@settings(max_examples=40, deadline=None)
@given(
    cohort=cohorts(),
    target=st.sampled_from(["joint", "groups", "class_within_group"]),
    seed=st.integers(0, 10_000),
)
def test_over_sampling_keeps_every_row_and_reaches_the_cell_targets(
    cohort, target, seed
):
    X, y, groups, cells = cohort
    sampler = GroupBalancedSampler(target=target, random_state=seed)
    X_res, y_res = _resample(sampler, X, y, groups, cells)
    indices = sampler.sample_indices_
    # No original row dropped: every input row is an output row, in order.
    assert indices[: len(y)].tolist() == list(range(len(y)))
    np.testing.assert_array_equal(X_res, X[indices])
    np.testing.assert_array_equal(y_res, y[indices])
    after = cells.of(indices)
    assert (after >= cells.counts).all()
    assert ((after == 0) == (cells.counts == 0)).all()
    if target == "groups":
        totals = after.sum(axis=1)
        assert totals.max() - totals.min() <= cells.counts.shape[1]
    else:
        expected = _brute_force_targets(cells.counts, target, "over")
        np.testing.assert_array_equal(after, expected)


@settings(max_examples=40, deadline=None)
@given(
    cohort=cohorts(),
    method=st.sampled_from(["over", "under"]),
    seed=st.integers(0, 10_000),
)
def test_joint_target_gives_equal_cells(cohort, method, seed):
    X, y, groups, cells = cohort
    sampler = GroupBalancedSampler(method=method, random_state=seed)
    _, y_res = _resample(sampler, X, y, groups, cells)
    after = cells.of(sampler.sample_indices_)
    np.testing.assert_array_equal(
        after, _brute_force_targets(cells.counts, "joint", method)
    )
    np.testing.assert_array_equal(y_res, y[sampler.sample_indices_])


@settings(max_examples=40, deadline=None)
@given(cohort=cohorts(), seed=st.integers(0, 10_000))
def test_under_sampling_draws_distinct_rows_of_each_cell(cohort, seed):
    X, y, groups, cells = cohort
    sampler = GroupBalancedSampler(
        target="class_within_group", method="under", random_state=seed
    )
    X_res, _ = _resample(sampler, X, y, groups, cells)
    indices = sampler.sample_indices_
    assert len(set(indices)) == len(indices)
    assert (np.diff(indices) > 0).all()  # rows keep their order
    np.testing.assert_array_equal(X_res, X[indices])
    np.testing.assert_array_equal(
        cells.of(indices),
        _brute_force_targets(cells.counts, "class_within_group", "under"),
    )


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    proportions=st.lists(st.floats(0.1, 1.0), min_size=3, max_size=3),
)
def test_dict_target_reaches_reference_proportions(seed, proportions):
    X, y, groups = _data(seed, n=300)
    target = dict(zip(["A", "B", "C"], proportions, strict=True))
    sampler = GroupBalancedSampler(target=target, random_state=seed)
    sampler.fit_resample(X, y, sensitive_features=groups)
    shares = sampler.sensitive_features_.iloc[:, 0].value_counts(normalize=True)
    expected = pd.Series(proportions, index=["A", "B", "C"]) / sum(proportions)
    n_res = len(sampler.sample_indices_)
    assert np.allclose(shares[expected.index], expected, atol=4 / n_res)


@pytest.mark.parametrize("container", ["list", "ndarray", "sparse", "pandas", "str"])
def test_output_container_matches_input(container):
    X, y, groups = _data(1)
    frame = pd.DataFrame(X, columns=["age", "hr", "map"])
    frame["sex"] = pd.Series(np.where(X[:, 0] > 0, "F", "M"), dtype="str")
    frame["vent"] = (X[:, 1] > 0).astype(np.int8)
    inputs = {
        "list": (X.tolist(), y.tolist()),
        "ndarray": (X.astype(np.float32), y.astype(np.int32)),
        "sparse": (sparse.csr_matrix(X), y),
        "pandas": (frame, pd.Series(y, name="death")),
        "str": (frame.astype({"sex": "category"}), pd.Series(y, name="death")),
    }
    X_in, y_in = inputs[container]
    sampler = GroupBalancedSampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X_in, y_in, sensitive_features=groups)
    assert type(X_res) is type(X_in) or sparse.issparse(X_res)
    assert type(y_res) is type(y_in)
    if container in ("pandas", "str"):
        assert X_res.dtypes.equals(X_in.dtypes)
        assert list(X_res.columns) == list(X_in.columns)
        assert y_res.name == "death"
        assert X_res.index.equals(pd.RangeIndex(len(X_res)))
        assert y_res.index.equals(X_res.index)
    if container == "ndarray":
        assert X_res.dtype == np.float32 and y_res.dtype == np.int32


def test_sensitive_columns_reads_groups_from_x_and_keeps_them():
    X, y, groups = _data(2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(race=groups)
    by_column = GroupBalancedSampler(sensitive_columns="race", random_state=0)
    X_res, _ = by_column.fit_resample(frame, y)
    by_argument = GroupBalancedSampler(random_state=0)
    by_argument.fit_resample(frame, y, sensitive_features=groups)
    np.testing.assert_array_equal(
        by_column.sample_indices_, by_argument.sample_indices_
    )
    assert (X_res["race"].to_numpy() == by_column.sensitive_features_["race"]).all()


def test_intersections_of_several_attributes_are_balanced():
    X, y, groups = _data(3, n=400)
    sex = np.where(np.arange(400) % 3 == 0, "F", "M")
    sampler = GroupBalancedSampler(random_state=0)
    sampler.fit_resample(X, y, sensitive_features={"race": groups, "sex": sex})
    assert list(sampler.sensitive_features_.columns) == ["race", "sex"]
    assert len(sampler.groups_) == 6
    assert len(set(sampler.cell_targets_.ravel())) == 1


def test_same_seed_same_rows():
    X, y, groups = _data(4)
    first = GroupBalancedSampler(random_state=7).fit(X, y, sensitive_features=groups)
    again = GroupBalancedSampler(random_state=7).fit(X, y, sensitive_features=groups)
    np.testing.assert_array_equal(first.sample_indices_, again.sample_indices_)


def test_bad_groups_fail_early_naming_the_argument():
    X, y, groups = _data(5)
    with pytest.raises(ValueError, match="sensitive_features has 119 rows"):
        GroupBalancedSampler().fit_resample(X, y, sensitive_features=groups[1:])
    with pytest.raises(ValueError, match="group 'Z'"):
        GroupBalancedSampler(target={"Z": 1.0}).fit_resample(
            X, y, sensitive_features=groups
        )


def test_undersampling_to_a_tiny_share_warns_with_the_numbers():
    y = np.r_[np.zeros(600, int), np.ones(3, int), np.zeros(380, int), np.ones(40, int)]
    sex = np.r_[np.full(603, "F"), np.full(420, "M")]
    X = np.arange(y.size, dtype=float).reshape(-1, 1)
    sampler = GroupBalancedSampler(target="joint", method="under", random_state=0)
    with pytest.warns(HeavyUndersamplingWarning) as record:
        _, y_res = sampler.fit_resample(X, y, sensitive_features=sex)
    assert len(y_res) == 12  # four cells of 3 rows: 12 of 1023 rows
    message = str(record[0].message)
    # 3 is below the small-count threshold, and 12 rows kept = 4 cells x 3 reveal it
    assert "keeps fewer than 5% of 1023 rows" in message
    assert "(group 'F', class 1) has fewer than 11 rows" in message
    assert not re.search(r"\b(3|12)\b|1\.17", message)
    assert record[0].filename == __file__


def test_undersampling_warning_shows_counts_that_may_be_released():
    y = np.r_[np.zeros(6000, int), np.ones(40, int), np.zeros(3000, int)]
    y = np.r_[y, np.ones(400, int)]
    sex = np.r_[np.full(6040, "F"), np.full(3400, "M")]
    X = np.arange(y.size, dtype=float).reshape(-1, 1)
    sampler = GroupBalancedSampler(target="joint", method="under", random_state=0)
    with pytest.warns(HeavyUndersamplingWarning) as record:
        _, y_res = sampler.fit_resample(X, y, sensitive_features=sex)
    assert len(y_res) == 160
    message = str(record[0].message)
    assert "keeps 160 of 9440 rows (1.69%)" in message
    assert "(group 'F', class 1) has 40 rows" in message


def test_undersampling_keeping_enough_rows_does_not_warn():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(int)
    sex = rng.choice(["F", "M"], size=400)
    X = rng.normal(size=(400, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GroupBalancedSampler(method="under", random_state=0).fit_resample(
            X, y, sensitive_features=sex
        )
