import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance._groups import encode_groups
from healthbalance._sensitive import (
    MISSING_LABEL,
    check_sensitive_features,
    group_labels,
    resolve_sensitive_features,
)


@pytest.mark.parametrize(
    "container",
    [list, np.array, pd.Series, lambda v: pd.Series(v, dtype="string")],
)
def test_one_attribute_in_any_container(container):
    frame = check_sensitive_features(container(["a", "b", "a"]), 3)
    assert frame.shape == (3, 1)
    assert frame.iloc[:, 0].tolist() == ["a", "b", "a"]


def test_missing_values_are_their_own_group():
    values = pd.Series(["F", None, np.nan, "M"], dtype=object)
    frame = check_sensitive_features(values, 4)
    assert frame.iloc[:, 0].tolist() == ["F", MISSING_LABEL, MISSING_LABEL, "M"]
    pd_na = pd.Series(["F", pd.NA], dtype="string")
    assert check_sensitive_features(pd_na, 2).iloc[1, 0] == MISSING_LABEL


def test_dataframe_keeps_attribute_names_and_intersections():
    sf = pd.DataFrame(
        {"race": ["A", "B", "A"], "sex": ["F", "M", "M"]}, index=[5, 6, 7]
    )
    frame = check_sensitive_features(sf, 3)
    assert list(frame.columns) == ["race", "sex"]
    assert frame.index.tolist() == [0, 1, 2]
    assert group_labels(frame).tolist() == ["A & F", "B & M", "A & M"]


def test_numbers_become_string_labels():
    frame = check_sensitive_features(np.array([0, 1, 1]), 3)
    assert frame.iloc[:, 0].tolist() == ["0", "1", "1"]


def test_length_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match="has 12 rows but X has 13"):
        check_sensitive_features(["a"] * 12, 13)


def test_length_mismatch_writes_small_sizes_by_the_small_count_rule():
    with pytest.raises(ValueError, match="has fewer than 11 rows but X has 13") as info:
        check_sensitive_features(["a", "b"], 13)
    assert not re.search(r"\b2\b", str(info.value))


def test_scalar_is_rejected():
    with pytest.raises(TypeError, match="array-like"):
        check_sensitive_features("a", 1)


def test_resolve_from_columns_and_errors():
    X = pd.DataFrame({"age": [1, 2], "sex": ["F", "M"]})
    frame = resolve_sensitive_features(X, sensitive_columns=["sex"], caller="t")
    assert frame["sex"].tolist() == ["F", "M"]
    with pytest.raises(ValueError, match="not columns of X"):
        resolve_sensitive_features(X, sensitive_columns="race", caller="t")
    with pytest.raises(ValueError, match="without column names"):
        resolve_sensitive_features(X.to_numpy(), sensitive_columns="sex", caller="t")
    with pytest.raises(ValueError, match="only one of them"):
        resolve_sensitive_features(X, ["a", "b"], "sex", caller="t")


def test_no_groups_warns_and_gives_one_group():
    with pytest.warns(NoSensitiveFeaturesWarning, match="one group"):
        frame = resolve_sensitive_features(np.zeros((3, 2)), caller="t")
    assert frame.iloc[:, 0].tolist() == ["all"] * 3


@given(st.lists(st.sampled_from(["x", "y", "z", None]), min_size=1, max_size=30))
def test_encoding_round_trips_and_invents_nothing(values):
    labels = group_labels(check_sensitive_features(values, len(values)))
    codes, groups = encode_groups(labels)
    assert groups[codes].tolist() == labels.tolist()
    expected = {MISSING_LABEL if v is None else v for v in values}
    assert set(groups) == expected
