"""sensitive_features reach fit / fit_resample through metadata routing."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import sklearn
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance.resampling import GroupBalancedSampler
from healthbalance.training import (
    GroupDROClassifier,
    GroupThresholdClassifier,
    JTTClassifier,
    MissingGroupsWarning,
    ResampledClassifier,
    ReweightedClassifier,
)
from tests.training._helpers import SpyClassifier, cohort


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
    frame = pd.DataFrame(X, columns=list("abcde")).assign(
        race=pd.Series(groups).map({"A": 0, "B": 1, "C": 2})
    )
    sampler = GroupBalancedSampler(sensitive_columns="race", random_state=0)
    clf = ResampledClassifier(LogisticRegression(), sampler)
    result = cross_validate(clf, frame, y, cv=3, return_estimator=True)
    for model in result["estimator"]:
        assert model.prior_correction_ == "group"
        # Per-group odds correction written out here, from the recorded priors.
        raw = model.estimator_.predict_proba(frame)[:, 1]
        race = frame["race"].astype(str).to_numpy()
        before = model.class_prior_before_.loc[race, 1].to_numpy()
        after = model.class_prior_after_.loc[race, 1].to_numpy()
        odds = raw / (1 - raw) * (before / (1 - before)) / (after / (1 - after))
        expected = odds / (1 + odds)
        np.testing.assert_allclose(model.predict_proba(frame)[:, 1], expected)
        assert not np.allclose(expected, raw)  # the correction did something


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


def _cell_counts(groups, y):
    return Counter(
        zip(np.asarray(groups).tolist(), np.asarray(y).tolist(), strict=True)
    )


def test_imblearn_pipeline_routes_groups_to_fit_resample(data):
    X, y, groups = data
    # The sampler requests sensitive_features by default: no request to set.
    pipe = ImbPipeline(
        [
            ("sample", GroupBalancedSampler(random_state=0)),
            ("model", SpyClassifier().set_fit_request(sensitive_features=False)),
        ]
    )
    pipe.fit(np.c_[X, np.arange(len(y))], y, sensitive_features=groups)
    seen_rows = pipe["model"].X_[:, -1].astype(int)
    after = _cell_counts(groups[seen_rows], pipe["model"].y_)
    before = _cell_counts(groups, y)
    # target="joint", method="over": every cell grows to the largest cell.
    largest = max(before.values())
    assert len(after) == 6
    assert set(after.values()) == {largest}
    result = cross_validate(
        ImbPipeline([("sample", GroupBalancedSampler(random_state=0)),
                     ("model", LogisticRegression())]),
        X, y, params={"sensitive_features": groups}, cv=3,
    )  # fmt: skip
    assert np.isfinite(result["test_score"]).all()


def test_imblearn_pipeline_honours_a_sampler_that_declines_the_groups(data):
    X, y, groups = data
    sampler = GroupBalancedSampler(random_state=0).set_fit_resample_request(
        sensitive_features=False
    )
    pipe = ImbPipeline([("sample", sampler), ("model", LogisticRegression())])
    with pytest.warns(NoSensitiveFeaturesWarning):
        pipe.fit(X, y, sensitive_features=groups)
    assert pipe["sample"].groups_.tolist() == ["all"]


@pytest.mark.xfail(
    strict=True,
    reason="imbalanced-learn 0.14's Pipeline without metadata routing puts "
    "step__param in the step's fit params but calls fit_resample without them; "
    "enable metadata routing (or use sensitive_columns) instead.",
)
def test_imblearn_pipeline_without_routing_step_params(data):
    X, y, groups = data
    pipe = ImbPipeline(
        [("sample", GroupBalancedSampler(random_state=0)), ("model", _Spy())]
    )
    with sklearn.config_context(enable_metadata_routing=False):
        pipe.fit(X, y, sample__sensitive_features=groups)
    assert pipe["sample"].groups_.tolist() == ["A", "B", "C"]


class _Spy(LogisticRegression):
    """LogisticRegression recording the rows and metadata its fit receives."""

    def fit(self, X, y, sample_weight=None, row_id=None):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        self.sample_weight_, self.row_id_ = sample_weight, row_id
        return super().fit(X, y, sample_weight=sample_weight)


def _weights(n, seed=1):
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=n)


def test_sample_weight_requested_by_the_estimator_follows_the_resampled_rows(data):
    X, y, groups = data
    w = _weights(len(y))
    spy = _Spy().set_fit_request(sample_weight=True, row_id=True)
    clf = ResampledClassifier(spy, GroupBalancedSampler(random_state=0))
    clf.fit(X, y, sensitive_features=groups, sample_weight=w, row_id=np.arange(len(y)))
    seen = clf.estimator_
    # row_id says which input row each fitted row came from: X, y and weights agree.
    np.testing.assert_array_equal(seen.X_, X[seen.row_id_])
    np.testing.assert_array_equal(seen.y_, y[seen.row_id_])
    np.testing.assert_array_equal(seen.sample_weight_, w[seen.row_id_])
    with sklearn.config_context(enable_metadata_routing=False):
        plain = ResampledClassifier(_Spy(), GroupBalancedSampler(random_state=0))
        plain.fit(X, y, sensitive_features=groups, sample_weight=w)
    np.testing.assert_array_equal(plain.estimator_.sample_weight_, seen.sample_weight_)
    np.testing.assert_allclose(plain.estimator_.coef_, seen.coef_)


def test_sample_weight_not_requested_is_not_passed(data):
    X, y, groups = data
    spy = _Spy().set_fit_request(sample_weight=False)
    clf = ResampledClassifier(spy, GroupBalancedSampler(random_state=0))
    clf.fit(X, y, sensitive_features=groups, sample_weight=_weights(len(y)))
    assert clf.estimator_.sample_weight_ is None


def test_unset_request_names_set_fit_request(data):
    X, y, groups = data
    clf = ResampledClassifier(_Spy(), GroupBalancedSampler(random_state=0))
    with pytest.raises(UnsetMetadataPassedError, match="set_fit_request"):
        clf.fit(X, y, sensitive_features=groups, sample_weight=_weights(len(y)))


def test_reweighted_multiplies_weights_and_routes_other_metadata(data):
    X, y, groups = data
    w = _weights(len(y))
    spy = _Spy().set_fit_request(row_id=True)
    clf = ReweightedClassifier(spy).fit(
        X, y, sensitive_features=groups, sample_weight=w, row_id=np.arange(len(y))
    )
    # Kamiran-Calders reweighing written out: P(g) P(c) / P(g, c), mean 1.
    frame = pd.DataFrame({"g": groups, "c": y})
    p_g = frame["g"].map(frame["g"].value_counts(normalize=True))
    p_c = frame["c"].map(frame["c"].value_counts(normalize=True))
    p_gc = frame.groupby(["g", "c"])["g"].transform("size") / len(y)
    expected = (p_g * p_c / p_gc).to_numpy()
    np.testing.assert_allclose(
        clf.estimator_.sample_weight_, expected / expected.mean() * w
    )
    np.testing.assert_array_equal(clf.estimator_.row_id_, np.arange(len(y)))


@pytest.mark.parametrize(
    "make",
    [
        lambda spy: GroupDROClassifier(spy, n_rounds=2, random_state=0),
        lambda spy: JTTClassifier(spy, cv=3, random_state=0),
        lambda spy: GroupThresholdClassifier(spy, cv=3, random_state=0),
    ],
    ids=["GroupDROClassifier", "JTTClassifier", "GroupThresholdClassifier"],
)
def test_other_meta_estimators_route_fit_params_to_each_fit(data, make):
    X, y, groups = data
    spy = _Spy().set_fit_request(row_id=True)
    clf = make(spy).set_fit_request(sensitive_features=True)
    clf.fit(X, y, sensitive_features=groups, row_id=np.arange(len(y)))
    seen = clf.estimator_
    assert seen.row_id_ is not None
    np.testing.assert_array_equal(seen.X_, X[seen.row_id_])
    assert clf.groups_.tolist() == ["A", "B", "C"]


@pytest.mark.parametrize("make", [GroupDROClassifier, JTTClassifier])
def test_dro_and_jtt_refuse_sample_weight(data, make):
    X, y, groups = data
    with pytest.raises(ValueError, match="sets the sample weights of its estimator"):
        make(LogisticRegression()).fit(
            X, y, sensitive_features=groups, sample_weight=np.ones(len(y))
        )


def test_fit_params_without_routing_get_sklearns_error(data):
    X, y, groups = data
    with sklearn.config_context(enable_metadata_routing=False):
        with pytest.raises(ValueError, match="enable_metadata_routing=True"):
            GroupDROClassifier(LogisticRegression()).fit(
                X, y, sensitive_features=groups, row_id=np.arange(len(y))
            )


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_missing_groups_warning_names_the_request_actually_missing(data, method):
    X, y, groups = data
    clf = ResampledClassifier(
        LogisticRegression(), GroupBalancedSampler(random_state=0)
    ).fit(X, y, sensitive_features=groups)
    assert clf.prior_correction_ == "group"
    with pytest.warns(MissingGroupsWarning) as record:
        getattr(clf, method)(X[:5])
    message = str(record[0].message)
    assert f"set_{method}_request(sensitive_features=True)" in message
    other = "predict_proba" if method == "predict" else "predict"
    assert f"set_{other}_request" not in message
    assert record[0].filename == __file__
