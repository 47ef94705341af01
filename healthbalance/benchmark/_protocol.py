"""One benchmark cell: split, fit each hyperparameter setting, select, predict.

A cell is one (seed, base model, strategy). Its inputs are the preprocessed splits of
its seed; its output is what the report needs and nothing else: the chosen
hyperparameters, the fit time, and the test-set scores and decisions. Cells are
independent, so they run in parallel and are cached on disk one file each.
"""

import hashlib
import inspect
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

from healthbalance._groups import SensitiveGroups
from healthbalance.benchmark._models import base_model_grid, make_preprocessor

TARGET_SENSITIVITY = 0.8
MIN_VALIDATION_EVENTS = 10


def split_indices(y, groups, seed, fractions=(0.6, 0.2, 0.2)):
    """Split rows into train, validation and test, stratified by group and outcome.

    Cells of (group x outcome) with fewer than 5 rows are stratified by outcome only,
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


def prepare_seed(X, y, sensitive, attribute, seed):
    """Split and preprocess the data of one seed (fitted on the training rows only)."""
    groups = SensitiveGroups.from_frame(sensitive[[attribute]]).labels
    train, val, test = split_indices(y, groups, seed)
    preprocessor = make_preprocessor().fit(X.iloc[train])
    return {
        part: {
            "X": preprocessor.transform(X.iloc[rows]),
            "y": y[rows],
            "groups": groups[rows],
            "rows": rows,
        }
        for part, rows in (("train", train), ("val", val), ("test", test))
    }


def worst_group_auroc(y, score, groups):
    """Return the lowest AUROC over groups with enough events to estimate it."""
    values = []
    for group in np.unique(groups):
        rows = groups == group
        events = int(y[rows].sum())
        if min(events, int(rows.sum()) - events) >= MIN_VALIDATION_EVENTS:
            values.append(roc_auc_score(y[rows], score[rows]))
    return min(values) if values else roc_auc_score(y, score)


def sensitivity_threshold(y, score, target=TARGET_SENSITIVITY):
    """Return the highest threshold whose sensitivity reaches ``target``."""
    _, tpr, thresholds = roc_curve(y, score)
    return float(thresholds[np.argmax(tpr >= target)])


def run_cell(splits, strategy, model, seed, quick):
    """Fit each setting of a cell, keep the best on validation, score the test set."""
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
        val_score = _proba(estimator, val)
        worst = worst_group_auroc(val["y"], val_score, val["groups"])
        if best is None or worst > best["val_worst_auroc"]:
            best = {
                "estimator": estimator,
                "params": {**base_params, **params},
                "fit_seconds": seconds,
                "val_worst_auroc": worst,
                "threshold": sensitivity_threshold(val["y"], val_score),
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


def cell_path(cache_dir, fingerprint, seed, model, strategy, quick):
    """Return the cache file of one cell."""
    key = f"{fingerprint}-{seed}-{model}-{strategy}-{'quick' if quick else 'full'}"
    return Path(cache_dir) / f"{key}.npz"


def save_cell(path, cell):
    """Store a finished cell (test scores and decisions, and its metadata)."""
    meta = {k: v for k, v in cell.items() if k not in ("score", "decision")}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, score=cell["score"], decision=cell["decision"], meta=json.dumps(meta))
    tmp.replace(path)


def load_cell(path):
    """Read a cell written by :func:`save_cell`."""
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
        return {**meta, "score": stored["score"], "decision": stored["decision"]}


def data_fingerprint(X, y, sensitive, attribute):
    """Return a short hash of the data and the training attribute, for the cache."""
    digest = hashlib.sha256(attribute.encode())
    for frame in (X, pd.DataFrame({"y": y}), sensitive):
        digest.update(
            pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        )
    return digest.hexdigest()[:16]
