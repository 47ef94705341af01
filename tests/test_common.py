"""Run scikit-learn's (and, for samplers, imbalanced-learn's) checks on every estimator.

Every public class of the estimator packages is discovered, so a new estimator is
checked without editing this file. Meta-estimators that need constructor arguments get
them from ``INSTANCES``. Expected failures live in ``EXPECTED_FAILED`` only, each with
the reason; nothing is skipped by name. Expected failures are strict: a check that
starts passing fails the suite, so the list cannot go stale.

The stock checks pass no groups, so every estimator is checked twice: as is (one
group, the ``NoSensitiveFeaturesWarning`` case) and as a ``Grouped...`` subclass whose
methods that take ``sensitive_features`` get two groups read from the sign of the
first feature (a function of the row, so subsets and batches agree).
"""

import functools
import inspect
import warnings

import numpy as np
import pytest
from imblearn.base import BaseSampler
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from healthbalance import metrics, resampling, training, weighting
from healthbalance._sensitive import NoSensitiveFeaturesWarning
from healthbalance.metrics import SmallGroupWarning
from healthbalance.resampling import (
    EmptyCellWarning,
    GroupBalancedSampler,
    GroupSMOTE,
    SmallCellWarning,
)
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

# With groups from the sign of the first feature, the checks' tiny data sets give a
# group whose rows hold a single class. Estimators that fit per group refuse it by
# design (training/_groups.py: "group 'neg' has only one class in y"), so these checks
# fail on that error before reaching what they test.
_ONE_CLASS_GROUP = (
    "the check's data gives group 'neg' a single class, which this per-group "
    "estimator refuses by design with a ValueError naming the group."
)
EXPECTED_FAILED.update(
    {
        "GroupedGroupDROClassifier": dict.fromkeys(
            (
                "check_pipeline_consistency",
                "check_estimators_pickle",
                "check_estimators_pickle(readonly_memmap=True)",
                "check_classifier_data_not_an_array",
                "check_classifiers_classes",
            ),
            _ONE_CLASS_GROUP,
        ),
        "GroupedGroupDROLogisticRegression": dict.fromkeys(
            (
                "check_estimators_overwrite_params",
                "check_estimators_fit_returns_self",
                "check_readonly_memmap_input",
                "check_pipeline_consistency",
                "check_estimators_pickle",
                "check_estimators_pickle(readonly_memmap=True)",
                "check_classifier_data_not_an_array",
                "check_decision_proba_consistency",
            ),
            _ONE_CLASS_GROUP,
        ),
        "GroupedGroupThresholdClassifier": dict.fromkeys(
            (
                "check_estimators_overwrite_params",
                "check_estimators_fit_returns_self",
                "check_readonly_memmap_input",
                "check_pipeline_consistency",
                "check_estimators_pickle",
                "check_estimators_pickle(readonly_memmap=True)",
                "check_classifier_data_not_an_array",
            ),
            _ONE_CLASS_GROUP,
        ),
    }
)


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
    # A grouped estimator inherits its class's expected failures, plus its own.
    name = type(estimator).__name__
    inherited = EXPECTED_FAILED.get(name.removeprefix("Grouped"), {})
    return {**inherited, **EXPECTED_FAILED.get(name, {})}


ESTIMATORS = list(_instances())
SAMPLERS = [e for e in ESTIMATORS if isinstance(e, BaseSampler)]


GROUP_METHODS = ("fit", "fit_resample", "predict", "predict_proba", "score")


def _sign_of_first_feature(X):
    """Two groups, ``"neg"`` / ``"pos"``, from the first column of any container.

    Input the estimator must reject (empty, complex, wrong shape) gets a single
    group, so that the estimator's own validation, not this helper, raises.
    """
    try:
        if hasattr(X, "iloc"):
            first = X.iloc[:, 0].to_numpy()
        elif sparse.issparse(X):
            first = X.tocsc()[:, [0]].toarray()
        else:
            first = np.asarray(X)[:, 0]
        positive = np.asarray(first, dtype=float).ravel() > 0
    except Exception:  # noqa: BLE001 - any input the estimator should reject
        positive = np.zeros(_num_samples_or_zero(X), dtype=bool)
    return np.where(positive, "pos", "neg")


def _num_samples_or_zero(X):
    try:
        return len(X) if not sparse.issparse(X) else X.shape[0]
    except TypeError:
        return 0


def _with_groups(method):
    @functools.wraps(method)
    def wrapped(self, X, *args, **kwargs):
        kwargs.setdefault("sensitive_features", _sign_of_first_feature(X))
        return method(self, X, *args, **kwargs)

    return wrapped


def _grouped_class(cls):
    """Subclass of ``cls`` whose methods taking ``sensitive_features`` get groups."""
    overrides = {
        name: _with_groups(getattr(cls, name))
        for name in GROUP_METHODS
        if hasattr(cls, name)
        and "sensitive_features" in inspect.signature(getattr(cls, name)).parameters
    }
    name = f"Grouped{cls.__name__}"
    grouped = type(name, (cls,), {**overrides, "__module__": __name__})
    globals()[name] = grouped  # importable by name, so that it pickles
    return grouped


def _grouped(estimator):
    return _grouped_class(type(estimator))(**estimator.get_params(deep=False))


GROUPED = [_grouped(e) for e in ESTIMATORS]
GROUPED_SAMPLERS = [e for e in GROUPED if isinstance(e, BaseSampler)]


@pytest.fixture(autouse=True)
def _single_group_is_expected():
    # The stock checks pass no groups: the single-group case is what they test. With
    # groups, the checks' tiny data sets give groups of a few rows or one class;
    # those warnings are what a user would see, and not what the checks test.
    with warnings.catch_warnings():
        for category in (
            NoSensitiveFeaturesWarning,
            EmptyCellWarning,
            SmallCellWarning,
            SmallGroupWarning,
        ):
            warnings.simplefilter("ignore", category)
        yield


@parametrize_with_checks(
    ESTIMATORS + GROUPED,
    expected_failed_checks=_expected_failed,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks(SAMPLERS + GROUPED_SAMPLERS)
def test_imblearn_compatible_sampler(estimator, check):
    check(estimator)


def test_grouped_estimators_really_receive_groups():
    X = np.array([[-1.0, 0.0], [1.0, 0.0]] * 10)
    y = np.array([0, 0, 1, 1] * 5)
    sampler = _grouped(GroupBalancedSampler(random_state=0))
    sampler.fit_resample(X, y)
    assert sorted(sampler.groups_) == ["neg", "pos"]
    for estimator in GROUPED:
        assert type(estimator).__name__.startswith("Grouped")


def test_expected_failures_name_real_estimators():
    names = {type(e).__name__ for e in ESTIMATORS}
    assert set(EXPECTED_FAILED) <= names | {f"Grouped{name}" for name in names}
    assert set(INSTANCES) <= names
