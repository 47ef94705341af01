import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from healthbalance._sensitive import NoSensitiveFeaturesWarning
from healthbalance.training import JTTClassifier
from tests.training._helpers import offset_mle


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


def test_prior_correction_refits_the_intercept():
    X, y, groups = _data(2)
    jtt = JTTClassifier(LogisticRegression(), cv=3, random_state=0)
    jtt.fit(X, y, sensitive_features=groups)
    raw = jtt.estimator_.predict_proba(X)
    shift = offset_mle(y, raw[:, 1])  # independent offset fit
    expected = expit(logit(raw[:, 1]) + shift)
    np.testing.assert_allclose(jtt.predict_proba(X)[:, 1], expected, rtol=1e-6)
    assert jtt.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=1e-6)
    np.testing.assert_array_equal(
        jtt.predict(X), np.argmax(jtt.predict_proba(X), axis=1)
    )
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
    with pytest.raises(ValueError, match="smallest class has fewer than 11:") as info:
        JTTClassifier(LogisticRegression(), cv=5).fit(X, y, sensitive_features=groups)
    assert not re.search(r"\b3\b", str(info.value))
    y[:15] = 1
    with pytest.raises(ValueError, match="smallest class has 15: lower cv"):
        JTTClassifier(LogisticRegression(), cv=20).fit(X, y, sensitive_features=groups)


def test_without_groups_warns_and_uses_one_group():
    X, y, _ = _data()
    with pytest.warns(NoSensitiveFeaturesWarning):
        jtt = JTTClassifier(LogisticRegression(), cv=3).fit(X, y)
    assert list(jtt.groups_) == ["all"]


def test_defaults_predict_events_on_the_cohort_and_keep_the_auroc():
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from healthbalance.benchmark._models import make_preprocessor
    from healthbalance.datasets import make_icu_cohort

    cohort = make_icu_cohort(6_000, random_state=1)
    y = cohort.target.to_numpy()
    race = cohort.sensitive_features["race_ethnicity"].to_numpy()
    X_tr, X_te, y_tr, y_te, g_tr, _ = train_test_split(
        cohort.data, y, race, test_size=0.3, stratify=y, random_state=0
    )
    pre = make_preprocessor().fit(X_tr)
    X_tr, X_te = pre.transform(X_tr), pre.transform(X_te)
    plain = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    jtt = JTTClassifier(LogisticRegression(max_iter=1000), random_state=0)
    jtt.fit(X_tr, y_tr, sensitive_features=g_tr)
    risk = jtt.predict_proba(X_te)[:, 1]
    assert jtt.predict(X_te).sum() > 0  # predicts the event (it never did at 20)
    auroc = roc_auc_score(y_te, plain.predict_proba(X_te)[:, 1])
    assert roc_auc_score(y_te, risk) > auroc - 0.01
