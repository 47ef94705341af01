"""No warning or error of a sampler or an estimator reveals a count below 11.

Every public class of ``healthbalance.resampling``, ``healthbalance.training`` and
``healthbalance.weighting`` (discovered, so a new one is swept without editing this
file) is fitted, and used to predict or weight, on cohorts whose small groups and
cells have 3, 4, 6 or 7 rows, with settings chosen to trigger the library's
small-data warnings and errors, and with bad input (sensitive features of 7 rows,
3 NaN sample weights). Every message caught must be free of those numbers
(as whole numbers: the 4 of ``0.4`` or ``k=14`` does not count), and the sweep must
have met the "fewer than 11" wording at least once, so it cannot pass by catching
nothing.
"""

import inspect
import re
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from healthbalance import resampling, training, weighting
from healthbalance.resampling import GroupBalancedSampler, GroupSMOTE

SMALL = (3, 4, 6, 7)
BAD_INPUT = ("short groups", "bad weights")  # on the "small groups" cohort
REVEALS = re.compile(rf"(?<![\w.])({'|'.join(map(str, SMALL))})(?!\w|\.\d)")

# Settings per class that reach the small-data messages (defaults come first).
VARIANTS = {
    "GroupBalancedSampler": [{}, {"method": "under"}, {"target": "class_within_group"}],
    "GroupSMOTE": [{}],
    "GroupThresholdClassifier": [{}, {"confidence": 0.95}, {"cv": 10}],
    "JTTClassifier": [{}, {"cv": 10}],
    "ResampledClassifier": [
        {"sampler": GroupBalancedSampler(method="under", random_state=0)},
        {"sampler": GroupSMOTE(random_state=0)},
    ],
}


def _public_classes():
    for package in (resampling, training, weighting):
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                yield obj


def _instances(cls):
    for variant in VARIANTS.get(cls.__name__, [{}]):
        params = inspect.signature(cls).parameters
        kwargs = {"random_state": 0} if "random_state" in params else {}
        if "estimator" in params:
            kwargs["estimator"] = LogisticRegression()
        yield cls(**{**kwargs, **variant})


def _cohort(kind):
    """A large group "A" and small groups; every small count is in ``SMALL``.

    ``"small groups"``: B has 7 rows (4 non-events, 3 events), C has 6 (3 and 3).
    ``"one class"``: C has 6 rows, all non-events. ``"few events"``: 7 events in
    all (4 in A, 3 in B), fewer than the folds of ``cv=10``; C's non-events join A.
    """
    rng = np.random.default_rng(0)
    n_a = 300
    y_a = (rng.random(n_a) < 0.3).astype(int)
    y_c = [0, 0, 0, 1, 1, 1]
    if kind != "small groups":
        y_c = [0] * 6
    if kind == "few events":  # C joins A
        y_a = np.zeros(n_a, int)
        y_a[:4] = 1
    y = np.r_[y_a, [0, 0, 0, 0, 1, 1, 1], y_c]
    groups = np.r_[np.full(n_a, "A"), np.full(7, "B"), np.full(6, "C")]
    if kind == "few events":
        groups[groups == "C"] = "A"
    X = rng.normal(size=(y.size, 3)) + y[:, None]
    return X, y, groups


def _use(model, X, y, groups, kind):
    fit = getattr(model, "fit_resample", model.fit)
    params = {}
    if kind == "short groups":  # sensitive_features of 7 rows for 313 rows of X
        groups = groups[-7:]
    elif kind == "bad weights":  # 3 NaN weights
        if "sample_weight" not in inspect.signature(fit).parameters:
            return
        params["sample_weight"] = np.r_[np.full(3, np.nan), np.ones(y.size - 3)]
    fit(X, y, sensitive_features=groups, **params)
    if hasattr(model, "fit_resample"):
        return
    if hasattr(model, "compute_sample_weight"):
        model.compute_sample_weight(X, y, sensitive_features=groups)
    elif "sensitive_features" in inspect.signature(model.predict_proba).parameters:
        model.predict_proba(X, sensitive_features=groups)
    else:
        model.predict_proba(X)


def _messages(model, kind):
    X, y, groups = _cohort("small groups" if kind in BAD_INPUT else kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _use(model, X, y, groups, kind)
        except ValueError as error:  # refusing tiny groups is expected
            caught.append(warnings.WarningMessage(error, ValueError, "", 0))
    return [str(w.message) for w in caught]


def _sweep():
    messages = {}
    for cls in _public_classes():
        for model in _instances(cls):
            for kind in ("small groups", "one class", "few events", *BAD_INPUT):
                key = f"{model!r} on {kind}"
                messages[key] = _messages(model, kind)
    return messages


@pytest.fixture(scope="module")
def swept():
    return _sweep()


def test_no_message_reveals_a_small_count(swept):
    revealing = {
        key: message
        for key, found in swept.items()
        for message in found
        if REVEALS.search(message)
    }
    assert not revealing


def test_no_message_reads_as_if_too_few_bad_values_were_the_problem(swept):
    # issue 16: "y_score has fewer than 11 NaN or infinite values"
    misleading = re.compile(r"has fewer than \d+ (NaN|infinite|negative|missing)")
    found = [m for messages in swept.values() for m in messages]
    assert not [m for m in found if misleading.search(m)]


def test_the_sweep_reaches_the_small_count_messages(swept):
    found = [message for messages in swept.values() for message in messages]
    assert sum("fewer than 11" in message for message in found) >= 4
    assert any("has fewer than 11 rows but X has 313" in m for m in found)
    assert any(
        "sample_weight contains NaN or infinite values (fewer than 11 rows" in m
        for m in found
    )
    swept_classes = {key.split("(")[0] for key in swept}
    assert swept_classes == {cls.__name__ for cls in _public_classes()}
    assert len(swept_classes) >= 8


def test_the_pattern_finds_whole_numbers_only():
    assert REVEALS.search("cell (group 'B', class 1) has 3 rows.")
    assert REVEALS.search("smallest class has 7: lower cv")
    assert REVEALS.search("(6 rows);")
    assert not REVEALS.search("threshold 0.4, bound 0.700, 13 rows, k=14, 3.5%")
