"""Worst-group model selection with GridSearchCV and metadata routing.

The scorer here is a small local stand-in for ``healthbalance.metrics.
make_group_scorer("roc_auc", aggregate="min")``: it proves that the groups reach
both the estimators' ``fit`` and the scorer through scikit-learn's routing.
"""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

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
    scorer = make_scorer(_worst_group_auc, response_method="predict_proba")
    scorer.set_score_request(sensitive_features=True)
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
