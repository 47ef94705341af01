"""Every warning of the library points at the user's line, not at its internals."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from healthbalance import (
    MissingGroupsWarning,
    NoSensitiveFeaturesWarning,
    UnseenGroupWarning,
)
from healthbalance.benchmark import _run_cache
from healthbalance.metrics import (
    SmallGroupWarning,
    group_report,
    make_group_scorer,
    representation_report,
)
from healthbalance.resampling import (
    EmptyCellWarning,
    GroupBalancedSampler,
    GroupSMOTE,
    HeavyUndersamplingWarning,
    SmallCellWarning,
)
from healthbalance.training import (
    GroupDROLogisticRegression,
    GroupThresholdClassifier,
    ResampledClassifier,
    UnreachableTargetWarning,
)
from healthbalance.utils._cache import CacheWarning
from healthbalance.weighting import GroupReweighter


def _data(n=400, small=12):
    rng = np.random.default_rng(0)
    groups = np.array(["A"] * (n - small) + ["B"] * small, dtype=object)
    X = rng.normal(size=(n, 3))
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(int)
    return X, y, groups


def _small_group():
    X, y, g = _data()
    group_report(y, 1 / (1 + np.exp(-X[:, 0])), sensitive_features=g, n_bootstrap=5)


def _no_groups():
    X, y, _ = _data()
    group_report(y, 1 / (1 + np.exp(-X[:, 0])), sensitive_features=None)


def _unseen():
    X, y, g = _data()
    model = GroupReweighter().fit(X, y, sensitive_features=g)
    model.compute_sample_weight(X, y, sensitive_features=np.full(y.size, "C"))


def _missing_groups():
    X, y, g = _data()
    model = ResampledClassifier(LogisticRegression(), GroupBalancedSampler())
    model.fit(X, y, sensitive_features=g).predict_proba(X)


def _heavy_undersampling():
    X, y, g = _data(n=2000, small=12)
    sampler = GroupBalancedSampler(method="under", random_state=0)
    sampler.fit_resample(X, y, sensitive_features=g)


def _empty_cell():
    X, y, g = _data()
    y[g == "B"] = 0
    GroupBalancedSampler(random_state=0).fit_resample(X, y, sensitive_features=g)


def _small_cell():
    X, y, g = _data(small=4)
    y[g == "B"] = [0, 0, 0, 1]
    GroupSMOTE(random_state=0).fit_resample(X, y, sensitive_features=g)


def _unreachable():
    X, y, g = _data()
    model = GroupThresholdClassifier(
        LogisticRegression(), confidence=0.95, cv=2, random_state=0
    )
    model.fit(X, y, sensitive_features=g)


def _not_converged():
    X, y, g = _data()
    GroupDROLogisticRegression(max_iter=1).fit(X, y, sensitive_features=g)


def _reference_rounding():
    _, _, g = _data()
    representation_report(g, {"sensitive_feature": {"A": 0.6, "B": 0.42}})


def _undefined_score():
    X, y, g = _data()
    scorer = make_group_scorer("roc_auc", min_group_size=10_000)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer(LogisticRegression().fit(X, y), X, y, sensitive_features=g)


def _damaged_cache(tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"not a zip file")
    _run_cache.load_run(path, {}, 7)


CASES = {
    "SmallGroupWarning": (_small_group, SmallGroupWarning),
    "NoSensitiveFeaturesWarning": (_no_groups, NoSensitiveFeaturesWarning),
    "UnseenGroupWarning": (_unseen, UnseenGroupWarning),
    "MissingGroupsWarning": (_missing_groups, MissingGroupsWarning),
    "HeavyUndersamplingWarning": (_heavy_undersampling, HeavyUndersamplingWarning),
    "EmptyCellWarning": (_empty_cell, EmptyCellWarning),
    "SmallCellWarning": (_small_cell, SmallCellWarning),
    "UnreachableTargetWarning": (_unreachable, UnreachableTargetWarning),
    "ConvergenceWarning": (_not_converged, ConvergenceWarning),
    "reference rounding": (_reference_rounding, UserWarning),
    "undefined score": (_undefined_score, UserWarning),
}


def _caught(function, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function(*args)
    return caught


@pytest.mark.parametrize("name", CASES)
def test_warning_points_at_the_caller(name):
    function, category = CASES[name]
    caught = [w for w in _caught(function) if issubclass(w.category, category)]
    assert caught, f"{name} was not raised"
    assert {w.filename for w in caught} == {__file__}


def test_cache_warning_points_at_the_caller(tmp_path):
    caught = _caught(_damaged_cache, tmp_path)
    assert [w.category for w in caught] == [CacheWarning]
    assert caught[0].filename == __file__


def test_warning_through_a_pipeline_points_at_the_pipeline_call():
    X, y, _ = _data()
    pipe = make_pipeline(
        StandardScaler(), ResampledClassifier(LogisticRegression(), GroupSMOTE())
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe.fit(X, y)
        line = _line_above()
    found = [w for w in caught if w.category is NoSensitiveFeaturesWarning]
    assert found
    assert {(w.filename, w.lineno) for w in found} == {(__file__, line)}


def test_warning_through_a_search_points_at_the_search_call():
    X, y, g = _data()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        {"logisticregression__C": [1.0]},
        scoring=make_group_scorer("roc_auc", min_group_size=10_000),
        cv=2,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    found = [w for w in caught if "undefined in every group" in str(w.message)]
    assert found
    assert {w.filename for w in found} == {__file__}


def _line_above():
    """Line number of the statement before the caller's current line."""
    import sys

    return sys._getframe(1).f_lineno - 1
