"""Run scikit-learn's (and, for samplers, imbalanced-learn's) checks on every estimator.

Every public class of the estimator packages is discovered, so a new estimator is
checked without editing this file. Meta-estimators that need constructor arguments get
them from ``INSTANCES``. Expected failures live in ``EXPECTED_FAILED`` only, each with
the reason; nothing is skipped by name.
"""

import inspect
import warnings

import pytest
from imblearn.base import BaseSampler
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from healthbalance import metrics, resampling, training, weighting
from healthbalance._sensitive import NoSensitiveFeaturesWarning
from healthbalance.resampling import GroupBalancedSampler, GroupSMOTE
from healthbalance.training import (
    GroupDROClassifier,
    GroupThresholdClassifier,
    JTTClassifier,
    ResampledClassifier,
    ReweightedClassifier,
)

PACKAGES = [resampling, weighting, training, metrics]

# Classes that cannot be built without arguments: name -> factory of a test instance.
INSTANCES = {
    # A fixed seed: some checks compare two fits of the same sampler.
    "GroupBalancedSampler": lambda: GroupBalancedSampler(random_state=0),
    "GroupSMOTE": lambda: GroupSMOTE(random_state=0),
    "GroupDROClassifier": lambda: GroupDROClassifier(
        LogisticRegression(), n_rounds=3, random_state=0
    ),
    "GroupThresholdClassifier": lambda: GroupThresholdClassifier(
        LogisticRegression(), cv=3, random_state=0
    ),
    "JTTClassifier": lambda: JTTClassifier(LogisticRegression(), cv=3, random_state=0),
    "ResampledClassifier": lambda: ResampledClassifier(
        LogisticRegression(), GroupBalancedSampler(random_state=0)
    ),
    "ReweightedClassifier": lambda: ReweightedClassifier(LogisticRegression()),
}

# Checks an estimator is known to fail: name -> {check name: reason}.
EXPECTED_FAILED = {
    "GroupThresholdClassifier": {
        "check_classifiers_train": (
            "predict applies the chosen thresholds, not argmax(predict_proba), by "
            "design; scikit-learn expects the same failure of "
            "TunedThresholdClassifierCV."
        ),
    },
    "ResampledClassifier": dict.fromkeys(
        (
            "check_sample_weight_equivalence_on_dense_data",
            "check_sample_weight_equivalence_on_sparse_data",
        ),
        "random resampling draws depend on the rows: repeating a row instead of "
        "weighting it 2 changes the class counts and so which rows are drawn.",
    ),
}


def _public_estimator_classes():
    for package in PACKAGES:
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                yield obj


def _instances():
    for cls in _public_estimator_classes():
        factory = INSTANCES.get(cls.__name__, cls)
        yield factory()


def _expected_failed(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


ESTIMATORS = list(_instances())
SAMPLERS = [e for e in ESTIMATORS if isinstance(e, BaseSampler)]


@pytest.fixture(autouse=True)
def _single_group_is_expected():
    # The stock checks pass no groups: the single-group case is what they test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoSensitiveFeaturesWarning)
        yield


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks(SAMPLERS)
def test_imblearn_compatible_sampler(estimator, check):
    check(estimator)


def test_expected_failures_name_real_estimators():
    names = {type(e).__name__ for e in ESTIMATORS}
    assert set(EXPECTED_FAILED) <= names
    assert set(INSTANCES) <= names
