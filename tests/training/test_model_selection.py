"""Worst-group model selection with GridSearchCV and metadata routing.

``make_group_scorer("roc_auc", aggregate="min")`` selects the hyperparameters; the
reference is a brute-force loop over the same folds with scikit-learn's AUROC per
group, which proves the groups reach both ``fit`` and the scorer.
"""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from healthbalance.metrics import make_group_scorer
from healthbalance.training import (
    GroupDROClassifier,
    GroupDROLogisticRegression,
    GroupThresholdClassifier,
    JTTClassifier,
)


def _worst_group_auc(y_true, y_score, *, sensitive_features):
    groups = np.asarray(sensitive_features)
    return min(
        roc_auc_score(y_true[groups == g], y_score[groups == g]) for g in set(groups)
    )


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _data(seed=0, n=360):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    groups = rng.choice(np.array(["a", "b"], dtype=object), size=n, p=[0.7, 0.3])
    y = (np.where(groups == "a", X[:, 0], X[:, 1]) + rng.normal(size=n) > 0).astype(int)
    return X, y, groups


CASES = [
    (GroupDROLogisticRegression(), {"C": [0.01, 1.0]}),
    (
        GroupDROClassifier(LogisticRegression(), n_rounds=2, random_state=0),
        {"step_size": [0.5, 2.0]},
    ),
    (JTTClassifier(LogisticRegression(), cv=3, random_state=0), {"upweight": [2, 10]}),
    (
        GroupThresholdClassifier(LogisticRegression(), cv=3, random_state=0),
        {"target": [0.7, 0.9]},
    ),
]


@pytest.mark.parametrize(("estimator", "grid"), CASES, ids=lambda v: type(v).__name__)
def test_grid_search_selects_by_the_worst_group(routing, estimator, grid):
    X, y, groups = _data()
    scorer = make_group_scorer("roc_auc", aggregate="min")
    estimator = estimator.set_fit_request(sensitive_features=True)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(estimator, grid, scoring=scorer, cv=folds)
    search.fit(X, y, sensitive_features=groups)
    # Brute force: the same folds, fits and worst-group AUROC by hand.
    ((name, values),) = grid.items()
    for k, value in enumerate(values):
        scores = []
        for train, test in folds.split(X, y):
            model = sklearn.base.clone(estimator).set_params(**{name: value})
            model.fit(X[train], y[train], sensitive_features=groups[train])
            scores.append(
                _worst_group_auc(
                    y[test],
                    model.predict_proba(X[test])[:, 1],
                    sensitive_features=groups[test],
                )
            )
        assert search.cv_results_["mean_test_score"][k] == pytest.approx(
            np.mean(scores)
        )
    assert search.best_estimator_.groups_.tolist() == ["a", "b"]


def test_scorer_passes_the_fold_groups_to_per_group_corrected_models(routing):
    from sklearn.metrics import brier_score_loss

    from healthbalance.resampling import GroupBalancedSampler
    from healthbalance.training import ResampledClassifier

    X, y, groups = _data(seed=1, n=600)
    sampler = GroupBalancedSampler(target="class_within_group", random_state=0)
    model = ResampledClassifier(LogisticRegression(), sampler)
    model.set_fit_request(sensitive_features=True)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scorer = make_group_scorer("brier_score", aggregate="max")
    # Warnings are errors: a MissingGroupsWarning (overall prior used) would fail here.
    search = GridSearchCV(model, {"estimator__C": [1.0]}, scoring=scorer, cv=folds)
    search.fit(X, y, sensitive_features=groups)
    expected = []
    for train, test in folds.split(X, y):
        fitted = sklearn.base.clone(model).fit(
            X[train], y[train], sensitive_features=groups[train]
        )
        p = fitted.predict_proba(X[test], sensitive_features=groups[test])[:, 1]
        g = groups[test]
        expected.append(
            max(brier_score_loss(y[test][g == k], p[g == k]) for k in set(g))
        )
    assert search.best_score_ == pytest.approx(-np.mean(expected))


def test_scorer_routes_the_groups_through_a_pipeline(routing):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from healthbalance.resampling import GroupBalancedSampler
    from healthbalance.training import ResampledClassifier

    X, y, groups = _data(seed=2, n=600)
    sampler = GroupBalancedSampler(target="class_within_group", random_state=0)
    model = ResampledClassifier(LogisticRegression(), sampler)
    model.set_fit_request(sensitive_features=True)
    model.set_predict_proba_request(sensitive_features=True)
    pipe = make_pipeline(StandardScaler(), model)
    scorer = make_group_scorer("brier_score", aggregate="max")
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    # A MissingGroupsWarning (the groups not reaching predict_proba) would fail here.
    search = GridSearchCV(
        pipe, {"standardscaler__with_mean": [True]}, scoring=scorer, cv=folds
    )
    search.fit(X, y, sensitive_features=groups)
    # Reference: each fold by hand, the groups passed to fit and predict_proba, the
    # worst group's Brier score from scikit-learn.
    from sklearn.metrics import brier_score_loss

    expected = []
    for train, test in folds.split(X, y):
        fitted = sklearn.base.clone(pipe).fit(
            X[train], y[train], sensitive_features=groups[train]
        )
        p = fitted.predict_proba(X[test], sensitive_features=groups[test])[:, 1]
        g = groups[test]
        expected.append(
            max(brier_score_loss(y[test][g == k], p[g == k]) for k in set(g))
        )
    assert search.best_score_ == pytest.approx(-np.mean(expected))
