import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from healthbalance.resampling import GroupBalancedSampler, GroupSMOTE
from healthbalance.training import (
    MissingGroupsWarning,
    ResampledClassifier,
    UnseenGroupWarning,
)
from tests.training._helpers import SpyClassifier, calibration_intercept, cohort


@pytest.fixture(scope="module")
def data():
    return cohort(0)


def _split(X, y, groups):
    half = len(y) // 2
    return (X[:half], y[:half], groups[:half]), (X[half:], y[half:], groups[half:])


def test_over_sampling_miscalibrates_and_prior_correction_repairs_it(data):
    (X, y, _), (X_test, y_test, _) = _split(*data)
    base = LogisticRegression().fit(X, y)
    a_base = calibration_intercept(y_test, base.predict_proba(X_test)[:, 1])
    sampler = RandomOverSampler(random_state=0)
    raw = ResampledClassifier(LogisticRegression(), sampler, prior_correction=False)
    corrected = ResampledClassifier(LogisticRegression(), sampler)
    a_raw = calibration_intercept(y_test, raw.fit(X, y).predict_proba(X_test)[:, 1])
    proba = corrected.fit(X, y).predict_proba(X_test)[:, 1]
    a_corrected = calibration_intercept(y_test, proba)
    assert abs(a_base) < 0.15
    assert a_raw < -1.5
    assert abs(a_corrected - a_base) < 0.1
    assert corrected.prior_correction_ == "global"


def test_per_group_correction_keeps_every_group_calibrated(data):
    (X, y, g), (X_test, y_test, g_test) = _split(*data)
    base = LogisticRegression().fit(X, y).predict_proba(X_test)[:, 1]
    sampler = GroupBalancedSampler(target="class_within_group", random_state=0)
    clf = ResampledClassifier(LogisticRegression(), sampler)
    clf.fit(X, y, sensitive_features=g)
    assert clf.prior_correction_ == "group"
    np.testing.assert_allclose(clf.class_prior_after_[1], 0.5)
    proba = clf.predict_proba(X_test, sensitive_features=g_test)[:, 1]
    for group in "ABC":
        rows = g_test == group
        a_base = calibration_intercept(y_test[rows], base[rows])
        a_group = calibration_intercept(y_test[rows], proba[rows])
        assert abs(a_group - a_base) < 0.1, group


def test_sample_weight_and_groups_follow_the_resampled_rows(data):
    X, y, g = (a[:500] for a in data)
    weights = np.random.default_rng(1).random(500) + 0.5
    clf = ResampledClassifier(SpyClassifier(), GroupBalancedSampler(random_state=0))
    clf.fit(X, y, sensitive_features=g, sample_weight=weights)
    indices = clf.sampler_.sample_indices_
    spy = clf.estimator_
    np.testing.assert_array_equal(spy.X_, X[indices])
    np.testing.assert_array_equal(spy.sample_weight_, weights[indices])
    np.testing.assert_array_equal(spy.sensitive_features_.iloc[:, 0], g[indices])


def test_synthetic_rows_get_the_mean_weight_of_their_cell(data):
    X, y, g = (a[:600] for a in data)
    weights = np.random.default_rng(2).random(600) + 0.5
    clf = ResampledClassifier(SpyClassifier(), GroupSMOTE(random_state=0))
    clf.fit(X, y, sensitive_features=g, sample_weight=weights)
    spy, n = clf.estimator_, len(y)
    np.testing.assert_array_equal(spy.sample_weight_[:n], weights)
    labels = spy.sensitive_features_.iloc[:, 0].to_numpy()
    for i in range(n, len(spy.y_)):
        cell = (g == labels[i]) & (y == spy.y_[i])
        assert np.isclose(spy.sample_weight_[i], weights[cell].mean())


class _CountingSampler(GroupBalancedSampler):
    calls = 0

    def fit_resample(self, X, y, *, sensitive_features=None):
        type(self).calls += 1
        return super().fit_resample(X, y, sensitive_features=sensitive_features)


def test_prediction_never_resamples(data):
    X, y, g = (a[:400] for a in data)
    clf = ResampledClassifier(LogisticRegression(), _CountingSampler(random_state=0))
    clf.fit(X, y, sensitive_features=g)
    calls = _CountingSampler.calls
    proba = clf.predict_proba(X, sensitive_features=g)
    assert _CountingSampler.calls == calls  # the sampler is not run at predict
    # One prediction per input row, in order: a permutation of the rows permutes
    # the predictions, and a subset predicts as in the whole batch.
    order = np.random.default_rng(0).permutation(400)
    np.testing.assert_allclose(
        clf.predict_proba(X[order], sensitive_features=g[order]), proba[order]
    )
    np.testing.assert_allclose(
        clf.predict_proba(X[:50], sensitive_features=g[:50]), proba[:50]
    )
    np.testing.assert_array_equal(
        clf.predict(X, sensitive_features=g), clf.classes_[proba.argmax(axis=1)]
    )
    assert _CountingSampler.calls == calls


def test_missing_groups_at_prediction_fall_back_to_the_overall_prior(data):
    X, y, g = (a[:400] for a in data)
    clf = ResampledClassifier(LogisticRegression(), GroupBalancedSampler())
    clf.fit(X, y, sensitive_features=g)
    with pytest.warns(MissingGroupsWarning, match="overall prior"):
        proba = clf.predict_proba(X)
    raw = clf.estimator_.predict_proba(X)
    odds = raw[:, 1] / raw[:, 0] * (clf.prior_before_[1] / clf.prior_before_[0])
    odds /= clf.prior_after_[1] / clf.prior_after_[0]
    np.testing.assert_allclose(proba[:, 1], odds / (1 + odds))


def test_sensitive_columns_of_the_sampler_serve_fit_and_predict(data):
    X, y, g = (a[:400] for a in data)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["race"] = g
    features = frame.drop(columns="race")
    sampler = GroupBalancedSampler(sensitive_columns="race", random_state=0)
    by_column = ResampledClassifier(SpyClassifier(), sampler).fit(frame, y)
    by_argument = ResampledClassifier(
        SpyClassifier(), GroupBalancedSampler(random_state=0)
    ).fit(features, y, sensitive_features=g)
    pd.testing.assert_frame_equal(
        by_column.class_prior_after_, by_argument.class_prior_after_
    )
    # predict reads the groups from the same column: same probabilities as when
    # they are passed (a MissingGroupsWarning would fail the test).
    np.testing.assert_allclose(
        by_column.predict_proba(frame),
        by_argument.predict_proba(features, sensitive_features=g),
    )


def test_sample_weight_needs_sample_indices():
    class NoIndices(RandomOverSampler):
        def fit_resample(self, X, y):
            X_res, y_res = super().fit_resample(X, y)
            del self.sample_indices_
            return X_res, y_res

    X, y, _ = cohort(3, n=200)
    clf = ResampledClassifier(LogisticRegression(), NoIndices())
    with pytest.raises(ValueError, match="no sample_indices_"):
        clf.fit(X, y, sample_weight=np.ones(200))


@pytest.fixture(scope="module")
def icu():
    from healthbalance.datasets import make_icu_cohort

    cohort_ = make_icu_cohort(20_000, random_state=0)
    race = cohort_.sensitive_features["race_ethnicity"].to_numpy()
    return cohort_.data, cohort_.target.to_numpy(), race


def _icu_model(final_step):
    numeric = make_column_selector(dtype_include="number")
    text = make_column_selector(dtype_exclude="number")
    prepare = make_column_transformer(
        (make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), text),
    )
    return make_pipeline(prepare, final_step)


@pytest.mark.parametrize(
    "sampler, fit_groups",
    [
        (RandomOverSampler(random_state=0), False),
        (GroupBalancedSampler(target="class_within_group", random_state=0), True),
    ],
)
def test_icu_cohort_over_sampling_calibration(icu, sampler, fit_groups):
    X, y, race = icu
    train, test = slice(0, 10_000), slice(10_000, None)
    fit_params, predict_params = {}, {}
    if fit_groups:
        fit_params = {"resampledclassifier__sensitive_features": race[train]}
        predict_params = {"sensitive_features": race[test]}
    base = _icu_model(LogisticRegression(max_iter=1000)).fit(X[train], y[train])
    a_base = calibration_intercept(y[test], base.predict_proba(X[test])[:, 1])
    intercepts = {}
    for correction in (False, True):
        clf = ResampledClassifier(
            LogisticRegression(max_iter=1000), sampler, prior_correction=correction
        )
        model = _icu_model(clf).fit(X[train], y[train], **fit_params)
        proba = model.predict_proba(X[test], **predict_params)[:, 1]
        intercepts[correction] = calibration_intercept(y[test], proba)
    assert abs(a_base) < 0.2
    assert intercepts[False] < a_base - 1.0
    assert abs(intercepts[True] - a_base) < 0.1


def test_prior_correction_needs_probabilities(data):
    from sklearn.svm import LinearSVC

    X, y, _ = (a[:300] for a in data)
    clf = ResampledClassifier(LinearSVC(), RandomOverSampler(random_state=0))
    with pytest.raises(ValueError, match="LinearSVC has no predict_proba"):
        clf.fit(X, y)
    clf.set_params(prior_correction=False).fit(X, y)
    assert clf.predict(X).shape == (300,)


def test_unseen_group_at_prediction_gets_the_overall_prior(data):
    X, y, g = (a[:400] for a in data)
    clf = ResampledClassifier(LogisticRegression(), GroupBalancedSampler())
    clf.fit(X, y, sensitive_features=g)
    with pytest.warns(UnseenGroupWarning, match=r"\['Z'\]"):
        unseen = clf.predict_proba(X[:5], sensitive_features=["Z"] * 5)
    with pytest.warns(MissingGroupsWarning):
        overall = clf.predict_proba(X[:5])
    np.testing.assert_allclose(unseen, overall)
    seen = clf.predict_proba(X[:5], sensitive_features=["A"] * 5)
    assert not np.allclose(seen, overall)
