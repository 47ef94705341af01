import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from healthbalance._sensitive import NoSensitiveFeaturesWarning
from healthbalance.training import JTTClassifier


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    minority = rng.random(n) < 0.15
    y = np.where(minority, X[:, 0] < 0, X[:, 0] > 0).astype(int)
    return X, y, np.where(minority, "minority", "majority")


def _brute_force_error_set(X, y, first_stage, n_splits, seed):
    errors = np.zeros(len(y), dtype=bool)
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y):
        model = first_stage.fit(X[train], y[train])
        errors[test] = model.predict(X[test]) != y[test]
    return errors


def test_error_set_and_second_stage_match_a_manual_two_stage_fit():
    X, y, groups = _data()
    jtt = JTTClassifier(LogisticRegression(), upweight=7, cv=4, random_state=3)
    jtt.fit(X, y, sensitive_features=groups)
    errors = _brute_force_error_set(X, y, LogisticRegression(), 4, 3)
    np.testing.assert_array_equal(jtt.error_set_, errors)
    weights = np.where(errors, 7.0, 1.0)
    reference = LogisticRegression().fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(jtt.estimator_.coef_, reference.coef_)
    rate = pd.Series(errors).groupby(groups).mean()
    pd.testing.assert_series_equal(
        jtt.error_set_rate_, rate.rename("error_set"), check_names=False
    )


def test_first_stage_is_used_for_the_error_set():
    X, y, groups = _data(1)
    jtt = JTTClassifier(
        LogisticRegression(),
        first_stage=DecisionTreeClassifier(max_depth=1, random_state=0),
        cv=3,
        random_state=0,
    ).fit(X, y, sensitive_features=groups)
    errors = _brute_force_error_set(
        X, y, DecisionTreeClassifier(max_depth=1, random_state=0), 3, 0
    )
    np.testing.assert_array_equal(jtt.error_set_, errors)
    assert isinstance(jtt.estimator_, LogisticRegression)


def test_prior_correction_restores_the_observed_prior():
    X, y, groups = _data(2)
    jtt = JTTClassifier(LogisticRegression(), cv=3, random_state=0)
    jtt.fit(X, y, sensitive_features=groups)
    raw = jtt.estimator_.predict_proba(X)
    w = jtt.sample_weight_
    observed = np.array([np.mean(y == 0), np.mean(y == 1)])
    weighted = np.array([w[y == 0].sum(), w[y == 1].sum()]) / w.sum()
    expected = raw * observed / weighted
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(jtt.predict_proba(X), expected)
    np.testing.assert_array_equal(jtt.predict(X), np.argmax(expected, axis=1))
    plain = JTTClassifier(
        LogisticRegression(), cv=3, random_state=0, prior_correction=False
    ).fit(X, y, sensitive_features=groups)
    np.testing.assert_allclose(plain.predict_proba(X), raw)


def test_jtt_helps_the_group_a_first_model_gets_wrong():
    X, y, groups = _data(3, n=600)
    plain = LogisticRegression().fit(X, y)
    jtt = JTTClassifier(LogisticRegression(), upweight=30, cv=3, random_state=0)
    jtt.fit(X, y, sensitive_features=groups)
    minority = groups == "minority"
    assert (jtt.predict(X)[minority] == y[minority]).mean() > (
        plain.predict(X)[minority] == y[minority]
    ).mean()


def test_same_seed_same_result_whatever_n_jobs():
    X, y, groups = _data(4)
    one = JTTClassifier(LogisticRegression(), cv=3, random_state=5, n_jobs=1)
    two = JTTClassifier(LogisticRegression(), cv=3, random_state=5, n_jobs=2)
    one.fit(X, y, sensitive_features=groups)
    two.fit(X, y, sensitive_features=groups)
    np.testing.assert_array_equal(one.error_set_, two.error_set_)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_estimator_without_sample_weight_is_rejected():
    X, y, groups = _data()
    with pytest.raises(TypeError, match="KNeighborsClassifier does not"):
        JTTClassifier(KNeighborsClassifier()).fit(X, y, sensitive_features=groups)


def test_too_few_rows_for_the_folds():
    X, y, groups = _data()
    y = y.copy()
    y[:] = 0
    y[:3] = 1
    with pytest.raises(ValueError, match="smallest class has 3"):
        JTTClassifier(LogisticRegression(), cv=5).fit(X, y, sensitive_features=groups)


def test_without_groups_warns_and_uses_one_group():
    X, y, _ = _data()
    with pytest.warns(NoSensitiveFeaturesWarning):
        jtt = JTTClassifier(LogisticRegression(), cv=3).fit(X, y)
    assert list(jtt.groups_) == ["all"]
