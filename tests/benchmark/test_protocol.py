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


def test_sensitivity_threshold_is_the_highest_reaching_the_target():
    y, _, score = _toy(3_000)
    threshold = protocol.sensitivity_threshold(y, score, target=0.8)
    assert recall_score(y, score >= threshold) >= 0.8
    higher = np.unique(score[score > threshold])[0]
    assert recall_score(y, score >= higher) < 0.8


def test_cached_run_round_trips(tmp_path):
    run = {
        "params": {"C": 1.0},
        "fit_seconds": 0.5,
        "val_worst_auroc": 0.8,
        "threshold": 0.2,
        "score": np.linspace(0, 1, 7),
        "decision": np.array([0, 1, 1, 0, 0, 1, 0], dtype=np.int8),
    }
    path = tmp_path / "run.npz"
    protocol.save_run(path, run)
    loaded = protocol.load_run(path)
    np.testing.assert_array_equal(loaded["score"], run["score"])
    np.testing.assert_array_equal(loaded["decision"], run["decision"])
    assert loaded["params"] == {"C": 1.0} and loaded["threshold"] == 0.2


def test_fingerprint_changes_with_the_data():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    sf = pd.DataFrame({"g": ["x", "y", "x"]})
    y = np.array([0, 1, 0])
    base = protocol.data_fingerprint(X, y, sf, "g")
    assert base == protocol.data_fingerprint(X.copy(), y.copy(), sf.copy(), "g")
    assert base != protocol.data_fingerprint(X, np.array([1, 1, 0]), sf, "g")
    assert base != protocol.data_fingerprint(X + 1, y, sf, "g")
