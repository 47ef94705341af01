"""check_sample_weight refuses weights that cannot be used, naming the argument."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from healthbalance.resampling import GroupBalancedSampler
from healthbalance.training import ResampledClassifier, ReweightedClassifier
from healthbalance.utils import check_sample_weight


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            [1.0, np.nan, 1.0],
            "sample_weight contains NaN or infinite values \\(fewer than 11 rows",
        ),
        (
            [1.0, np.inf, -np.inf],
            "sample_weight contains NaN or infinite values \\(fewer than 11",
        ),
        (
            [1.0, -0.5, 1.0],
            "sample_weight contains negative values \\(fewer than 11 rows",
        ),
        ([0, 0, 0], "sample_weight is zero for every row"),
        ([1.0, 1.0], "sample_weight has fewer than 11 rows but X has fewer than 11"),
        ([[1.0], [1.0], [1.0]], "sample_weight has 2 dimensions but X has fewer"),
    ],
)
def test_bad_weights_raise_naming_the_argument(weights, message):
    with pytest.raises(ValueError, match=message) as info:
        check_sample_weight(weights, 3)
    # 2 or 3 rows, 1 or 2 bad weights: small counts never appear in the message
    text = str(info.value)
    assert not re.search(r"\b[23]\b(?! dimensions)|\b1 (NaN|negative)", text)
    assert "has fewer than 11 NaN" not in text  # reads as if too few were wrong


@pytest.mark.parametrize("bad", [np.nan, -1.0])
def test_counts_of_eleven_or_more_are_shown(bad):
    weights = np.r_[np.full(12, bad), np.ones(8)]
    with pytest.raises(
        ValueError,
        match=r"sample_weight contains (NaN or infinite|negative) values \(12 rows",
    ):
        check_sample_weight(weights, weights.size)
    with pytest.raises(ValueError, match="has 12 rows but X has 13"):
        check_sample_weight(np.ones(12), 13)


def test_non_numbers_raise_type_error():
    with pytest.raises(TypeError, match="sample_weight must hold numbers"):
        check_sample_weight(["a", "b"], 2)
    with pytest.raises(TypeError, match="dtype bool"):
        check_sample_weight([True, False], 2)


@given(
    st.lists(
        st.floats(min_value=0, max_value=1e6) | st.integers(0, 10**6),
        min_size=1,
        max_size=30,
    ).filter(any)
)
def test_valid_weights_come_back_as_floats(weights):
    out = check_sample_weight(weights, len(weights))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.asarray(weights, dtype=float))


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.r_[np.zeros(40, int), np.ones(20, int)]
    return X, y, rng.choice(["a", "b"], size=60)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ReweightedClassifier(LogisticRegression()),
        lambda: ResampledClassifier(
            LogisticRegression(), GroupBalancedSampler(random_state=0)
        ),
    ],
)
@pytest.mark.parametrize(
    ("bad", "message"),
    [(-1.0, "negative"), (np.nan, "NaN"), (0.0, "zero for every row")],
)
def test_meta_estimators_refuse_bad_weights(make, bad, message):
    X, y, groups = _data()
    weights = np.ones(60)
    weights[3] = bad
    if bad == 0.0:
        weights[:] = 0.0
    with pytest.raises(ValueError, match=f"sample_weight .*{message}"):
        make().fit(X, y, sensitive_features=groups, sample_weight=weights)
