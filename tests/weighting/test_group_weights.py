import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_sample_weight

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance.weighting import GroupReweighter, compute_group_weights

STRATEGIES = ["reweighing", "inverse_frequency", "effective_number"]
UNITS = ["classes", "groups", "cells"]


def _data(seed, n=200):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["A", "B", "C"], size=n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < np.where(groups == "A", 0.1, 0.4)).astype(int)
    groups[:6] = ["A", "B", "C"] * 2
    y[:6] = [0, 0, 0, 1, 1, 1]
    return y, groups


def _brute_force_reweighing(y, groups):
    n = len(y)
    weights = np.empty(n)
    for i in range(n):
        p_group = np.mean(groups == groups[i])
        p_class = np.mean(y == y[i])
        p_cell = np.mean((groups == groups[i]) & (y == y[i]))
        weights[i] = p_group * p_class / p_cell
    return weights


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    strategy=st.sampled_from(STRATEGIES),
    over=st.sampled_from(UNITS),
    beta=st.floats(0.0, 0.9999),
)
def test_weights_are_positive_with_mean_one(seed, strategy, over, beta):
    y, groups = _data(seed)
    weights = compute_group_weights(y, groups, strategy=strategy, over=over, beta=beta)
    assert weights.shape == y.shape
    assert (weights > 0).all()
    assert np.isclose(weights.mean(), 1.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_reweighing_makes_group_and_label_independent(seed):
    y, groups = _data(seed)
    weights = compute_group_weights(y, groups)
    np.testing.assert_allclose(weights, _brute_force_reweighing(y, groups))
    total = weights.sum()
    for g in np.unique(groups):
        for c in (0, 1):
            joint = weights[(groups == g) & (y == c)].sum() / total
            marginal_g = weights[groups == g].sum() / total
            marginal_c = weights[y == c].sum() / total
            assert np.isclose(joint, marginal_g * marginal_c)
    # The class prior is kept.
    assert np.isclose(weights[y == 1].sum() / total, y.mean())


def test_inverse_frequency_over_classes_equals_sklearn_balanced():
    y, groups = _data(1)
    weights = compute_group_weights(
        y, groups, strategy="inverse_frequency", over="classes"
    )
    expected = compute_sample_weight("balanced", y)
    np.testing.assert_allclose(weights, expected / expected.mean())


def test_inverse_frequency_over_cells_equals_sklearn_balanced_on_cells():
    y, groups = _data(2)
    cells = np.char.add(groups.astype(str), y.astype(str))
    weights = compute_group_weights(y, groups, strategy="inverse_frequency")
    expected = compute_sample_weight("balanced", cells)
    np.testing.assert_allclose(weights, expected / expected.mean())


@pytest.mark.parametrize("beta", [0.0, 0.9, 0.999])
def test_effective_number_matches_cui_formula(beta):
    y, groups = _data(3)
    weights = compute_group_weights(
        y, groups, strategy="effective_number", over="groups", beta=beta
    )
    n_group = pd.Series(groups).map(pd.Series(groups).value_counts()).to_numpy()
    expected = (1 - beta) / (1 - beta**n_group)
    np.testing.assert_allclose(weights, expected / expected.mean())


def test_without_groups_weights_balance_classes_with_a_warning():
    y, _ = _data(4)
    with pytest.warns(NoSensitiveFeaturesWarning):
        weights = compute_group_weights(y, strategy="inverse_frequency")
    expected = compute_sample_weight("balanced", y)
    np.testing.assert_allclose(weights, expected / expected.mean())


def test_bad_strategy_is_rejected():
    y, groups = _data(5)
    with pytest.raises(ValueError, match="strategy"):
        compute_group_weights(y, groups, strategy="magic")


def test_reweighter_table_gives_the_function_weights():
    y, groups = _data(6)
    X = np.zeros((len(y), 2))
    reweighter = GroupReweighter(strategy="inverse_frequency", over="groups")
    reweighter.fit(X, y, sensitive_features=groups)
    assert reweighter.weights_.shape == (3, 2)
    assert list(reweighter.weights_.index) == ["A", "B", "C"]
    weights = reweighter.compute_sample_weight(X, y, sensitive_features=groups)
    expected = compute_group_weights(
        y, groups, strategy="inverse_frequency", over="groups"
    )
    np.testing.assert_allclose(weights, expected)


def test_reweighter_reads_sensitive_columns():
    y, groups = _data(7)
    X = pd.DataFrame({"age": np.arange(len(y)), "race": groups})
    reweighter = GroupReweighter(sensitive_columns="race").fit(X, y)
    np.testing.assert_allclose(
        reweighter.compute_sample_weight(X, y), compute_group_weights(y, groups)
    )


def test_reweighter_refuses_unseen_classes_and_follows_unseen_group():
    y, groups = _data(8)
    X = np.zeros((len(y), 1))
    reweighter = GroupReweighter(unseen_group="error")
    reweighter.fit(X, y, sensitive_features=groups)
    with pytest.raises(ValueError, match=r"groups \['Z'\] that were not seen in fit"):
        reweighter.compute_sample_weight(X[:1], y[:1], sensitive_features=["Z"])
    with pytest.raises(ValueError, match="class 5 was not seen in fit"):
        reweighter.compute_sample_weight(X[:1], [5], sensitive_features=["A"])
