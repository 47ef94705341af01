"""One policy for a group unseen at predict time, whatever the estimator."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from healthbalance import UnseenGroupWarning
from healthbalance.resampling import GroupBalancedSampler
from healthbalance.training import (
    GroupThresholdClassifier,
    ResampledClassifier,
    ReweightedClassifier,
)
from healthbalance.weighting import GroupReweighter


def _data(n=600):
    rng = np.random.default_rng(0)
    groups = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
    X = rng.normal(size=(n, 3))
    shift = np.select([groups == "A", groups == "B"], [-2.0, -1.0], 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] + shift)))).astype(int)
    return X, y, groups


def _resampled(unseen_group):
    return ResampledClassifier(
        LogisticRegression(),
        GroupBalancedSampler(random_state=0),
        unseen_group=unseen_group,
    )


def _reweighted(unseen_group):
    return ReweightedClassifier(LogisticRegression(), unseen_group=unseen_group)


def _thresholds(unseen_group):
    return GroupThresholdClassifier(
        LogisticRegression(), cv=3, random_state=0, unseen_group=unseen_group
    )


def _reweighter(unseen_group):
    return GroupReweighter(unseen_group=unseen_group)


KINDS = {
    "ResampledClassifier": (_resampled, "predict_proba"),
    "ReweightedClassifier": (_reweighted, "predict"),
    "GroupThresholdClassifier": (_thresholds, "predict"),
    "GroupReweighter": (_reweighter, "compute_sample_weight"),
}


def _call(estimator, method, X, y, groups):
    if method == "compute_sample_weight":
        return estimator.compute_sample_weight(X, y, sensitive_features=groups)
    return getattr(estimator, method)(X, sensitive_features=groups)


@pytest.mark.parametrize("kind", KINDS)
def test_overall_warns_once_naming_the_unseen_groups(kind):
    make, method = KINDS[kind]
    X, y, groups = _data()
    estimator = make("overall").fit(X, y, sensitive_features=groups)
    new = groups.astype(object)
    new[:4], new[4:6] = "Z", "Y & Q"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = _call(estimator, method, X, y, new)
    unseen = [w for w in record if issubclass(w.category, UnseenGroupWarning)]
    assert len(unseen) == 1, [str(w.message) for w in record]
    assert "['Y & Q', 'Z']" in str(unseen[0].message)
    assert kind in str(unseen[0].message)
    assert unseen[0].filename == __file__  # stacklevel: the caller's line
    assert len(result) == len(y) and np.all(np.isfinite(np.asarray(result, float)))


@pytest.mark.parametrize("kind", KINDS)
def test_error_raises_naming_the_unseen_groups(kind):
    make, method = KINDS[kind]
    X, y, groups = _data()
    estimator = make("error").fit(X, y, sensitive_features=groups)
    new = groups.copy()
    new[:3] = "Z"
    with pytest.raises(ValueError, match=r"groups \['Z'\] that were not seen"):
        _call(estimator, method, X, y, new)
    # Seen groups go through silently.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenGroupWarning)
        _call(estimator, method, X, y, groups)


@pytest.mark.parametrize("kind", KINDS)
def test_unseen_group_is_rejected_by_parameter_validation(kind):
    make, _ = KINDS[kind]
    X, y, groups = _data()
    with pytest.raises(ValueError, match="unseen_group"):
        make("drop").fit(X, y, sensitive_features=groups)


def test_fallbacks_are_the_overall_values():
    X, y, groups = _data()
    new = np.full(len(y), "Z", dtype=object)
    reweighter = GroupReweighter().fit(X, y, sensitive_features=groups)
    with pytest.warns(UnseenGroupWarning):
        weights = reweighter.compute_sample_weight(X, y, sensitive_features=new)
    seen = reweighter.compute_sample_weight(X, y, sensitive_features=groups)
    for c in (0, 1):  # the mean training weight of the class
        assert weights[y == c][0] == pytest.approx(seen[y == c].mean())
    model = _thresholds("overall").fit(X, y, sensitive_features=groups)
    with pytest.warns(UnseenGroupWarning):
        pred = model.predict(X, sensitive_features=new)
    scores = model.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(pred, (scores >= model.threshold_).astype(int))
