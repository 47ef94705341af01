import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance.training import ReweightedClassifier
from healthbalance.weighting import compute_group_weights
from tests.training._helpers import SpyClassifier, calibration_intercept, cohort


@pytest.fixture(scope="module")
def data():
    return cohort(1)


@pytest.mark.parametrize("strategy", ["reweighing", "inverse_frequency"])
def test_estimator_gets_the_group_weights_times_sample_weight(data, strategy):
    X, y, g = (a[:500] for a in data)
    base = np.random.default_rng(0).random(500) + 0.5
    clf = ReweightedClassifier(SpyClassifier(), strategy=strategy)
    clf.fit(X, y, sensitive_features=g, sample_weight=base)
    expected = compute_group_weights(y, g, strategy=strategy) * base
    np.testing.assert_allclose(clf.estimator_.sample_weight_, expected)


def test_reweighing_changes_group_priors_and_correction_restores_calibration(data):
    X, y, g = data
    half = len(y) // 2
    X_test, y_test, g_test = X[half:], y[half:], g[half:]
    base = LogisticRegression().fit(X[:half], y[:half]).predict_proba(X_test)[:, 1]
    raw = ReweightedClassifier(LogisticRegression(), prior_correction=False)
    raw.fit(X[:half], y[:half], sensitive_features=g[:half])
    clf = ReweightedClassifier(LogisticRegression())
    clf.fit(X[:half], y[:half], sensitive_features=g[:half])
    assert clf.prior_correction_ == "group"
    # Reweighing gives every group the overall prior and keeps the overall prior.
    np.testing.assert_allclose(clf.class_prior_after_[1], clf.prior_before_[1])
    np.testing.assert_allclose(clf.prior_after_, clf.prior_before_)
    proba = clf.predict_proba(X_test, sensitive_features=g_test)[:, 1]
    raw_proba = raw.predict_proba(X_test)[:, 1]
    rows = g_test == "A"  # the group whose prevalence is pulled up most
    a_base = calibration_intercept(y_test[rows], base[rows])
    assert calibration_intercept(y_test[rows], raw_proba[rows]) < a_base - 0.3
    assert abs(calibration_intercept(y_test[rows], proba[rows]) - a_base) < 0.1


def test_without_groups_it_balances_classes_with_a_warning(data):
    X, y, _ = (a[:300] for a in data)
    clf = ReweightedClassifier(SpyClassifier(), strategy="inverse_frequency")
    with pytest.warns(NoSensitiveFeaturesWarning):
        clf.fit(X, y)
    weights = clf.estimator_.sample_weight_
    assert np.isclose(weights[y == 1].sum(), weights[y == 0].sum())
    assert clf.prior_correction_ == "global"


def test_sensitive_columns_give_the_same_weights(data):
    X, y, g = (a[:300] for a in data)
    frame = pd.DataFrame(X[:, :5], columns=list("abcde")).assign(race=g)
    by_column = ReweightedClassifier(SpyClassifier(), sensitive_columns="race")
    by_column.fit(frame, y)
    by_argument = ReweightedClassifier(SpyClassifier()).fit(
        frame, y, sensitive_features=g
    )
    np.testing.assert_allclose(
        by_column.estimator_.sample_weight_, by_argument.estimator_.sample_weight_
    )


def test_estimator_without_sample_weight_is_refused(data):
    X, y, g = (a[:100] for a in data)
    with pytest.raises(ValueError, match="KNeighborsClassifier does not accept"):
        ReweightedClassifier(KNeighborsClassifier()).fit(X, y, sensitive_features=g)


def test_fit_resolves_the_groups_once(monkeypatch):
    import healthbalance._sensitive as sensitive

    calls = []
    as_frame = sensitive._as_frame

    def counting(*args, **kwargs):
        calls.append(1)
        return as_frame(*args, **kwargs)

    monkeypatch.setattr(sensitive, "_as_frame", counting)
    X, y, groups = cohort(0, n=2_000)
    ReweightedClassifier(LogisticRegression()).fit(X, y, sensitive_features=groups)
    assert len(calls) == 1
