"""One benchmark run: split, fit each hyperparameter setting, select, predict.

A run is one (seed, base model, strategy). Its inputs are the preprocessed splits of
its seed; its output is what the report needs and nothing else: the chosen
hyperparameters, the fit time, and the test-set scores and decisions. Runs are
independent, so they run in parallel and are cached on disk one file each.
"""

import hashlib
import inspect
import time
import warnings

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from healthbalance._groups import SensitiveGroups
from healthbalance._small_counts import MIN_EVENTS, MIN_GROUP_SIZE, too_small
from healthbalance.benchmark._models import base_model_grid, make_preprocessor
from healthbalance.metrics import make_group_scorer
from healthbalance.training._operating_points import choose_threshold

TARGET_SENSITIVITY = 0.8
# Model selection: the lowest validation AUROC over the groups the report would call
# reliable (the small-count policy's defaults), so a handful of patients cannot decide.
SELECTION_SCORER = make_group_scorer(
    "roc_auc", aggregate="min", min_group_size=MIN_GROUP_SIZE, min_events=MIN_EVENTS
)


def split_indices(y, groups, seed, fractions=(0.6, 0.2, 0.2)):
    """Split rows into train, validation and test, stratified by group and outcome.

    Cells (group x outcome) with fewer than 5 rows are stratified by outcome only,
    and what is still too small joins the largest stratum, so that a tiny group
    cannot make the split fail.
    """
    rows = np.arange(len(y))
    rest, test = train_test_split(
        rows, test_size=fractions[2], stratify=_strata(y, groups), random_state=seed
    )
    val_share = fractions[1] / (fractions[0] + fractions[1])
    train, val = train_test_split(
        rest,
        test_size=val_share,
        stratify=_strata(y[rest], groups[rest]),
        random_state=seed,
    )
    return train, val, test


def _strata(y, groups, min_count=5):
    outcome = pd.Series(np.asarray(y)).astype(str)
    strata = pd.Series(np.asarray(groups, dtype=object)).astype(str) + "|" + outcome
    for fallback in (outcome, None):
        counts = strata.map(strata.value_counts())
        if fallback is None:
            fallback = strata.value_counts().idxmax()
        strata = strata.where(counts >= min_count, fallback)
    return strata.to_numpy()


class Splits(dict):
    """The train, validation and test parts of one seed: a plain ``dict``.

    A subclass only so that it can be weakly referenced: joblib's Dask backend
    scatters such an argument to the cluster once per ``Parallel`` call and hands
    every run of the seed a reference to it, where a plain ``dict`` would be pickled
    into each run's task.
    """


def prepare_seed(X, y, sensitive, attribute, seed):
    """Split and preprocess the data of one seed (fitted on the training rows only)."""
    groups = SensitiveGroups.from_frame(sensitive[[attribute]]).labels
    train, val, test = split_indices(y, groups, seed)
    preprocessor = make_preprocessor().fit(X.iloc[train])
    return Splits(
        {
            part: {
                "X": preprocessor.transform(X.iloc[rows]),
                "y": y[rows],
                "groups": groups[rows],
                "rows": rows,
            }
            for part, rows in (("train", train), ("val", val), ("test", test))
        }
    )


def own_memory(splits):
    """Return ``splits`` with every array in memory of its own, copied if needed.

    An array received from a Dask worker's network buffer lies at whatever offset of
    the message it arrived in (2 bytes past a 64-byte boundary, measured), and the
    BLAS and numpy SIMD kernels then add in another order: test scores differed from
    a local run's by 1e-14. Freshly allocated memory, as in the caller or a joblib
    worker, makes them bitwise identical; arrays that own their memory are not
    copied.
    """
    return Splits(
        {
            part: {
                key: np.require(value, requirements="O")
                if isinstance(value, np.ndarray)
                else value
                for key, value in arrays.items()
            }
            for part, arrays in splits.items()
        }
    )


def unreliable_groups(y, groups):
    """Return the groups too small to count in model selection, in sorted order.

    The small-count policy's rule (fewer than 30 patients, or fewer than 10 events or
    non-events), as :data:`SELECTION_SCORER` applies it.
    """
    labels, codes = np.unique(np.asarray(groups, dtype=object), return_inverse=True)
    n = np.bincount(codes, minlength=labels.size)
    events = np.bincount(codes, weights=np.asarray(y), minlength=labels.size)
    few_patients, few_events = too_small(n, events, MIN_GROUP_SIZE, MIN_EVENTS)
    return [str(g) for g in labels[few_patients | few_events]]


def validation_score(estimator, part):
    """Return the worst reliable group's AUROC on ``part``, or the overall AUROC.

    Scored by :data:`SELECTION_SCORER` (``make_group_scorer``); when no group is
    reliable it is undefined, and the overall AUROC decides instead (the checks say
    so).
    """
    # The groups reach the scorer as routed metadata, as in a GridSearchCV.
    with warnings.catch_warnings(), config_context(enable_metadata_routing=True):
        warnings.filterwarnings("ignore", "make_group_scorer: .* undefined")
        score = SELECTION_SCORER(
            estimator, part["X"], part["y"], sensitive_features=part["groups"]
        )
    if np.isnan(score):
        return roc_auc_score(part["y"], _proba(estimator, part))
    return score


def sensitivity_threshold(y, score, target=TARGET_SENSITIVITY):
    """Return the highest threshold whose sensitivity reaches ``target``.

    The shared search of every cut-off in the library (every distinct score is a
    candidate), so the benchmark's single threshold and ``GroupThresholdClassifier``
    choose the same way.
    """
    return choose_threshold(y, score, "sensitivity", target)


def fit_run(splits, strategy, model, seed, quick):
    """Fit each setting of a run, keep the best on validation, score the test set."""
    base, base_grid = base_model_grid(model, quick)
    if "random_state" in base.get_params():
        base = base.set_params(random_state=seed)
    settings = [
        (b, s) for b in base_grid for s in strategy.grid[: 1 if quick else None]
    ]
    best = None
    for base_params, params in settings:
        estimator = strategy.build(clone(base).set_params(**base_params), params, seed)
        start = time.perf_counter()
        _fit(estimator, strategy, splits["train"])
        seconds = time.perf_counter() - start
        val = splits["val"]
        worst = validation_score(estimator, val)
        if best is None or worst > best["val_worst_auroc"]:
            best = {
                "estimator": estimator,
                "params": {**base_params, **params},
                "fit_seconds": seconds,
                "val_worst_auroc": worst,
                "threshold": sensitivity_threshold(val["y"], _proba(estimator, val)),
            }
    return _test_predictions(best, strategy, splits["test"])


def _fit(estimator, strategy, part):
    if strategy.fit_groups:
        return estimator.fit(part["X"], part["y"], sensitive_features=part["groups"])
    return estimator.fit(part["X"], part["y"])


def _predict(method, part):
    """Call a prediction method, with the groups when it takes them."""
    if "sensitive_features" in inspect.signature(method).parameters:
        return np.asarray(method(part["X"], sensitive_features=part["groups"]))
    return np.asarray(method(part["X"]))


def _proba(estimator, part):
    return _predict(estimator.predict_proba, part)[:, 1]


def _test_predictions(best, strategy, test):
    estimator = best.pop("estimator")
    score = _proba(estimator, test)
    if strategy.own_decisions:
        decision = _predict(estimator.predict, test)
    else:
        decision = score >= best["threshold"]
    return {**best, "score": score, "decision": np.asarray(decision).astype(np.int8)}


def data_fingerprint(X, y, sensitive, attribute):
    """Return a short hash of the data and the training attribute, for the cache."""
    digest = hashlib.sha256(attribute.encode())
    for frame in (X, pd.DataFrame({"y": y}), sensitive):
        digest.update(
            pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        )
    return digest.hexdigest()[:16]
