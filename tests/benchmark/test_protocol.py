import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score, roc_auc_score

from healthbalance.benchmark import _protocol as protocol


def _toy(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    groups = rng.choice(
        np.array(["a", "b", "c"], dtype=object), size=n, p=[0.7, 0.25, 0.05]
    )
    y = (rng.random(n) < np.where(groups == "c", 0.3, 0.1)).astype(int)
    score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    return y, groups, score


def test_split_is_a_partition_stratified_by_group_and_outcome():
    y, groups, _ = _toy()
    train, val, test = protocol.split_indices(y, groups, seed=0)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(len(y)))
    assert len(test) == pytest.approx(0.2 * len(y), abs=2)
    shares = pd.crosstab(groups, y, normalize=True)
    for part in (train, val, test):
        observed = pd.crosstab(groups[part], y[part], normalize=True)
        np.testing.assert_allclose(observed.to_numpy(), shares.to_numpy(), atol=0.01)


def test_split_survives_a_group_too_small_to_stratify():
    y, groups, _ = _toy(300)
    groups[:3] = "tiny"
    train, val, test = protocol.split_indices(y, groups, seed=1)
    assert len(train) + len(val) + len(test) == 300


def test_same_seed_same_split():
    y, groups, _ = _toy()
    first = protocol.split_indices(y, groups, seed=3)
    second = protocol.split_indices(y, groups, seed=3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_worst_group_auroc_matches_a_loop_over_groups():
    y, groups, score = _toy(5_000)
    expected = min(
        roc_auc_score(y[groups == g], score[groups == g]) for g in np.unique(groups)
    )
    assert protocol.worst_group_auroc(y, score, groups) == pytest.approx(expected)


def test_worst_group_auroc_ignores_groups_without_enough_events():
    y, groups, score = _toy(5_000)
    groups = groups.copy()
    groups[np.flatnonzero(y == 1)[:3]] = "few"
    kept = groups != "few"
    expected = min(
        roc_auc_score(y[groups == g], score[groups == g])
        for g in np.unique(groups[kept])
    )
    assert protocol.worst_group_auroc(y, score, groups) == pytest.approx(expected)


def _highest_threshold_reaching(y, score, target):
    """Brute force: the largest distinct score whose sensitivity reaches target."""
    return max(t for t in np.unique(score) if np.mean(score[y == 1] >= t) >= target)


@pytest.mark.parametrize("seed", range(300))
def test_sensitivity_threshold_is_the_highest_reaching_the_target(seed):
    # Sizes, prevalences, targets and ties vary: roc_curve's default
    # drop_intermediate=True returned a lower threshold in 54 of these 300 sets.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 400))
    y = (rng.random(n) < rng.uniform(0.05, 0.5)).astype(int)
    y[:2] = [0, 1]
    score = rng.normal(size=n) + rng.uniform(0, 2) * y
    if seed % 3 == 0:
        score = np.round(score, 1)
    target = float(rng.choice([0.5, 0.8, 0.9, rng.uniform(0.01, 0.99)]))
    threshold = protocol.sensitivity_threshold(y, score, target=target)
    assert threshold == _highest_threshold_reaching(y, score, target)
    assert recall_score(y, score >= threshold) >= target


def test_fingerprint_changes_with_the_data():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    sf = pd.DataFrame({"g": ["x", "y", "x"]})
    y = np.array([0, 1, 0])
    base = protocol.data_fingerprint(X, y, sf, "g")
    assert base == protocol.data_fingerprint(X.copy(), y.copy(), sf.copy(), "g")
    assert base != protocol.data_fingerprint(X, np.array([1, 1, 0]), sf, "g")
    assert base != protocol.data_fingerprint(X + 1, y, sf, "g")
