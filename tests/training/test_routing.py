"""sensitive_features reach fit / fit_resample through metadata routing."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from healthbalance.resampling import GroupBalancedSampler
from healthbalance.training import (
    MissingGroupsWarning,
    ResampledClassifier,
    ReweightedClassifier,
)
from tests.training._helpers import cohort


@pytest.fixture(autouse=True)
def _routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(scope="module")
def data():
    X, y, groups = cohort(5, n=600)
    return X[:, :5], y, groups


def _resampled():
    clf = ResampledClassifier(
        LogisticRegression(), GroupBalancedSampler(random_state=0)
    )
    return clf.set_fit_request(sensitive_features=True).set_predict_proba_request(
        sensitive_features=True
    )


@pytest.mark.parametrize(
    "make", [_resampled, lambda: ReweightedClassifier(LogisticRegression())]
)
def test_plain_pipeline_routes_groups_to_fit(data, make):
    X, y, groups = data
    step = make().set_fit_request(sensitive_features=True)
    pipe = make_pipeline(StandardScaler(), step).fit(X, y, sensitive_features=groups)
    assert pipe[-1].class_prior_before_.index.tolist() == ["A", "B", "C"]


def test_cross_validate_resamples_training_folds_only(data):
    X, y, groups = data
    with pytest.warns(MissingGroupsWarning):
        # sklearn scorers do not route metadata to predict: overall prior used.
        result = cross_validate(
            make_pipeline(StandardScaler(), _resampled()),
            X,
            y,
            params={"sensitive_features": groups},
            cv=3,
            return_estimator=True,
        )
    for pipe in result["estimator"]:
        sampler = pipe[-1].sampler_
        assert sampler.cell_counts_.sum() == 400  # the training fold, not all rows
        assert sampler.groups_.tolist() == ["A", "B", "C"]


def test_cross_validate_with_sensitive_columns_corrects_per_group(data):
    X, y, groups = data
    frame = pd.DataFrame(X, columns=list("abcde")).assign(race=groups)
    sampler = GroupBalancedSampler(sensitive_columns="race", random_state=0)
    clf = ResampledClassifier(LogisticRegression(), sampler)
    result = cross_validate(
        clf, frame.assign(race=frame["race"].map({"A": 0, "B": 1, "C": 2})), y, cv=3
    )
    assert np.isfinite(result["test_score"]).all()


def test_grid_search_routes_groups(data):
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), _resampled())
    search = GridSearchCV(
        pipe,
        {"resampledclassifier__sampler__target": ["joint", "class_within_group"]},
        scoring="neg_brier_score",
        cv=3,
    )
    with pytest.warns(MissingGroupsWarning):
        search.fit(X, y, sensitive_features=groups)
    assert search.best_estimator_[-1].sampler_.groups_.tolist() == ["A", "B", "C"]


def test_imblearn_pipeline_routes_groups_to_fit_resample(data):
    X, y, groups = data
    sampler = GroupBalancedSampler(random_state=0).set_fit_resample_request(
        sensitive_features=True
    )
    pipe = ImbPipeline([("sample", sampler), ("model", LogisticRegression())])
    pipe.fit(X, y, sensitive_features=groups)
    assert pipe["sample"].groups_.tolist() == ["A", "B", "C"]
    result = cross_validate(pipe, X, y, params={"sensitive_features": groups}, cv=3)
    assert np.isfinite(result["test_score"]).all()
