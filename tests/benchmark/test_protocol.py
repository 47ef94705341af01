import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
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


class _FixedScores(ClassifierMixin, BaseEstimator):
    """A 'model' whose probability of class 1 is the first column of X."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return np.column_stack([1 - X[:, 0], X[:, 0]])


def _part(y, groups, score):
    return {"X": score[:, None], "y": y, "groups": groups}


def _brute_force_worst(y, groups, score):
    """The report's rule by hand: >= 30 patients and >= 10 events and non-events."""
    values = []
    for g in np.unique(groups):
        rows = groups == g
        events = y[rows].sum()
        if rows.sum() >= 30 and min(events, rows.sum() - events) >= 10:
            values.append(roc_auc_score(y[rows], score[rows]))
    return min(values)


def test_validation_score_is_the_worst_reliable_group_auroc():
    y, groups, score = _toy(5_000)
    model = _FixedScores().fit(score[:, None], y)
    expected = _brute_force_worst(y, groups, score)
    assert expected == min(
        roc_auc_score(y[groups == g], score[groups == g]) for g in np.unique(groups)
    )
    part = _part(y, groups, score)
    assert protocol.validation_score(model, part) == pytest.approx(expected)
    assert protocol.unreliable_groups(y, groups) == []


def test_validation_score_leaves_out_groups_the_report_calls_unreliable():
    y, groups, score = _toy(5_000)
    groups = groups.copy()
    rng = np.random.default_rng(0)
    # 25 patients, 12 events: enough events and non-events for the former rule,
    # too few patients for the report; and a second group with only 3 events.
    small = rng.choice(np.flatnonzero(y == 1), 12, replace=False)
    small = np.concatenate([small, rng.choice(np.flatnonzero(y == 0), 13)])
    groups[small] = "small"
    groups[np.flatnonzero((y == 1) & (groups != "small"))[:3]] = "few"
    score = score.copy()
    score[groups == "small"] = rng.random(25)  # a noisy AUROC that would decide
    model = _FixedScores().fit(score[:, None], y)
    got = protocol.validation_score(model, _part(y, groups, score))
    assert got == pytest.approx(_brute_force_worst(y, groups, score))
    assert protocol.unreliable_groups(y, groups) == ["few", "small"]


def test_validation_score_falls_back_to_overall_auroc_without_reliable_groups():
    y, groups, score = _toy(200)
    groups = np.array([f"g{i % 20}" for i in range(200)], dtype=object)
    model = _FixedScores().fit(score[:, None], y)
    got = protocol.validation_score(model, _part(y, groups, score))
    assert got == pytest.approx(roc_auc_score(y, score))
    assert len(protocol.unreliable_groups(y, groups)) == 20


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
