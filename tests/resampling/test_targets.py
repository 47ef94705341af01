import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from healthbalance._groups import cell_counts
from healthbalance.resampling import EmptyCellWarning
from healthbalance.resampling._targets import cell_targets

GROUPS = np.array(["a", "b", "c"], dtype=object)
CLASSES = np.array([0, 1])

counts_matrices = arrays(np.int64, (3, 2), elements=st.integers(1, 60))


def _targets(counts, target, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyCellWarning)
        return cell_targets(counts, target, method, GROUPS, CLASSES)


def test_cell_counts_matches_a_loop():
    rng = np.random.default_rng(0)
    g, c = rng.integers(0, 3, 50), rng.integers(0, 2, 50)
    expected = [[np.sum((g == i) & (c == j)) for j in range(2)] for i in range(3)]
    assert cell_counts(g, c, 3, 2).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(counts=counts_matrices, method=st.sampled_from(["over", "under"]))
def test_joint_makes_every_cell_the_extreme_cell(counts, method):
    result = _targets(counts, "joint", method)
    extreme = counts.max() if method == "over" else counts.min()
    assert (result == extreme).all()


@settings(max_examples=60, deadline=None)
@given(counts=counts_matrices, method=st.sampled_from(["over", "under"]))
def test_class_within_group_balances_each_group(counts, method):
    result = _targets(counts, "class_within_group", method)
    for g in range(3):
        extreme = counts[g].max() if method == "over" else counts[g].min()
        assert (result[g] == extreme).all()


@settings(max_examples=60, deadline=None)
@given(counts=counts_matrices, method=st.sampled_from(["over", "under"]))
def test_groups_equalises_sizes_and_keeps_prevalence_up_to_rounding(counts, method):
    result = _targets(counts, "groups", method)
    totals = counts.sum(axis=1)
    size = totals.max() if method == "over" else totals.min()
    # Each cell is its share of the common size, rounded (one row each way).
    expected = counts / totals[:, None] * size
    assert np.all(np.abs(result - expected) <= 1)
    if method == "over":
        assert (result >= counts).all()
    else:
        assert (result <= counts).all()


@settings(max_examples=60, deadline=None)
@given(
    counts=counts_matrices,
    weights=arrays(float, 3, elements=st.floats(0.05, 1)),
    method=st.sampled_from(["over", "under"]),
)
def test_dict_of_group_proportions_is_reached_up_to_rounding(counts, weights, method):
    target = dict(zip(GROUPS, weights, strict=True))
    result = _targets(counts, target, method)
    shares = result.sum(axis=1) / result.sum()
    expected = weights / weights.sum()
    tolerance = 2 * counts.shape[1] / result.sum()
    assert np.allclose(shares, expected, atol=tolerance + 1e-12)
    # The smallest (over) or largest (under) scale: one cell stays as it is.
    assert (result == counts).any()


def test_dict_of_cell_proportions_matches_brute_force():
    counts = np.array([[50, 5], [30, 10], [20, 2]])
    target = {(g, c): 1.0 for g in GROUPS for c in CLASSES}
    # Equal proportions over cells is the "joint" target.
    assert (_targets(counts, target, "over") == 50).all()
    assert (_targets(counts, target, "under") == 2).all()


def test_empty_cell_stays_empty_with_a_warning_naming_it():
    counts = np.array([[10, 0], [8, 4], [6, 2]])
    with pytest.warns(EmptyCellWarning, match="group 'a', class 1"):
        result = cell_targets(counts, "joint", "over", GROUPS, CLASSES)
    assert result[0, 1] == 0
    assert (result[result > 0] == 10).all()


@pytest.mark.parametrize(
    "target, match",
    [
        ({"a": 1.0, "zzz": 1.0}, "group 'zzz'"),
        ({"a": 1.0}, r"no proportion for groups \['b', 'c'\]"),
        ({"a": -1.0, "b": 1, "c": 1}, "finite and non-negative"),
        ({("a", 7): 1.0}, "class 7"),
        ({("a",): 1.0}, "must be a group label or a"),
    ],
)
def test_bad_dict_target_names_the_problem(target, match):
    counts = np.full((3, 2), 5)
    with pytest.raises(ValueError, match=match):
        cell_targets(counts, target, "over", GROUPS, CLASSES)


def test_over_sampling_refuses_a_zero_proportion_for_a_present_cell():
    counts = np.full((3, 2), 5)
    target = {("a", 0): 1.0, ("a", 1): 1.0}
    with pytest.raises(ValueError, match="method='over' never removes rows"):
        cell_targets(counts, target, "over", GROUPS, CLASSES)
    result = cell_targets(counts, target, "under", GROUPS, CLASSES)
    assert result.tolist() == [[5, 5], [0, 0], [0, 0]]
