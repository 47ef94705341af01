"""Stage 1 on Dask: partitions of rows become a small table of weighted cells.

A *cell* holds the rows of one finest intersection of the sensitive attributes,
one outcome and one score bin of every model, with their count and, per model, the
sums of score, logit, squared error and log loss. The engine
(:func:`~healthbalance.metrics._engine.evaluate`) reads the cells as rows of
weight ``count`` whose score is the bin's stand-in (it orders them) and whose
means make Brier score, log loss, ECE and the calibration curves exact. Rows never
leave the workers: each partition reduces to its cells, the cell tables are
merged in a tree of tasks, and only the merged table reaches the caller.

Bins are chosen from the data (:mod:`healthbalance.metrics._binning`): a first pass
on the workers runs the cheap checks and counts each model's scores per outcome on
a fine grid; the edges cut from it always include the threshold and the
calibration edges. Counts, threshold metrics, Brier score, log loss and ECE are
exact; the rank metrics are within the bounds reported with the result.

The reduction is written against Dask (``to_delayed`` partitions and pandas
``groupby``) rather than narwhals: the bin of a score is a ``searchsorted`` on
sorted edges, and narwhals' lazy API (2.29) has no ``searchsorted`` or ``cut``
(an as-of join with a table of edges could express it, at the cost of a sort of
every partition, not tried), so one code path for Dask, Polars and DuckDB is not
written here.
"""

import numbers
import sys

import numpy as np
import pandas as pd

from healthbalance._sensitive import resolve_sensitive_features
from healthbalance._small_counts import count_text
from healthbalance.metrics._binning import (
    N_SCORE_BINS,
    bin_codes,
    bin_edges,
    histogram,
    stand_ins,
)
from healthbalance.metrics._count_batch import ROW_STATISTICS
from healthbalance.metrics._groups import build_groups
from healthbalance.metrics._validation import check_target
from healthbalance.utils._validation import plain

__all__ = ["is_dask", "prepare_cells", "reduce_to_cells", "require_rows"]

_SPLIT_EVERY = 8  # partitions merged per task of the reduction tree
_SUMS = tuple(ROW_STATISTICS)  # score, logit, squared_error, log_loss


def require_rows(cells, caller, instead):
    """Refuse Dask input (``cells`` from :func:`prepare_cells`) for ``caller``.

    ``instead`` ends the message: what takes Dask input in its place.
    """
    if cells is not None:
        raise ValueError(
            f"{caller} needs the rows of y_true and y_score in memory; it does not "
            "take Dask collections yet. Evaluate a sample (.sample(frac=...)"
            f".compute()){instead}."
        )


def is_dask(obj):
    """Whether ``obj`` is a Dask collection (without importing Dask)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(obj)


def prepare_cells(y_true, scores, sensitive_features, metrics, params, **options):
    """Stage 1 for Dask input: the cells and their groups, for the engine.

    Parameters
    ----------
    y_true, scores, sensitive_features
        As for :func:`reduce_to_cells`.
    metrics : dict
        Checked metrics (:func:`~healthbalance.metrics._validation.check_metrics`).
    params : MetricParams
        Checked threshold and operating points.
    **options
        ``probability``, ``intersections``, ``pos_label``, ``caller`` and
        ``n_score_bins`` (checked here).

    Returns
    -------
    y, scores, groups, metrics, cells, codes
        As :func:`~healthbalance.metrics._group_report.prepare` returns them.
    """
    n_score_bins = options["n_score_bins"]
    if not isinstance(n_score_bins, numbers.Integral) or n_score_bins < 2:
        raise ValueError(
            f"n_score_bins must be an integer of at least 2, got "
            f"{plain(n_score_bins)!r}; e.g. {N_SCORE_BINS}."
        )
    rows = [name for name, m in metrics.items() if not isinstance(m, str)]
    if rows:
        raise ValueError(
            f"metrics {rows} are callables, which need the rows; Dask input is "
            "reduced to binned counts on the workers: compute them on a sample "
            "of the rows (e.g. ddf.sample(frac=0.01).compute()), or use the "
            "built-in metrics."
        )
    y, stand_ins, features, cells, codes = reduce_to_cells(
        y_true,
        scores,
        sensitive_features,
        probability=options["probability"],
        params=params,
        n_score_bins=n_score_bins,
        pos_label=options["pos_label"],
    )
    frame = resolve_sensitive_features(y, features, caller=options["caller"])
    groups = build_groups(frame, intersections=options["intersections"])
    return y, stand_ins, groups, metrics, cells, codes


def reduce_to_cells(
    y_true,
    scores,
    sensitive_features,
    *,
    probability,
    params,
    n_score_bins,
    pos_label,
):
    """Reduce Dask collections to weighted cells, on the workers.

    Parameters
    ----------
    y_true : dask Series
        Binary outcome.
    scores : dict of str to dask Series
        Scores of each model, by argument name (for messages).
    sensitive_features : dask Series, dask DataFrame or None
        Group membership.
    probability : list of str
        Requested metrics that need probabilities in [0, 1].
    params : MetricParams
        Threshold and calibration bins (always bin edges).
    n_score_bins : int
        Data-driven bins per model.
    pos_label : label or None
        Label of the event.

    Returns
    -------
    y : ndarray of shape (n_cells,)
        0/1 outcome of each cell.
    stand_ins : list of ndarray of shape (n_cells,)
        Each model's score stand-in of each cell (its bin's edge or midpoint).
    features : pandas DataFrame, Series or None
        Sensitive attributes of each cell, with the caller's names.
    cells : tuple
        ``(weights, means)`` for :func:`~healthbalance.metrics._engine.evaluate`.
    codes : list of ndarray
        Each model's bin code of each cell (for :func:`binning_bounds`).
    """
    collections, names = _collections(y_true, scores, sensitive_features)
    first = {"n_models": len(scores)}
    summary = _compute(_tree(_map(_summary, collections, first), _merge_summaries))
    pos_value = _check_summary(summary, names, probability, pos_label)
    # None: the logit grid of probabilities; else a grid of the scores' range
    grids = [
        None if low >= 0 and high <= 1 else np.linspace(low, high, 100_001)
        for low, high in zip(summary["low"], summary["high"], strict=True)
    ]
    if any(g is not None for g in grids):  # scores that are not probabilities
        first["grids"] = grids
        summary = _compute(_tree(_map(_summary, collections, first), _merge_summaries))
    edges = [
        bin_edges(summary["hist"], m, pos_value, grids[m], n_score_bins, params)
        for m in range(len(scores))
    ]
    options = {"n_models": len(scores), "pos_value": pos_value, "edges": edges}
    table = _compute(_tree(_map(_cells, collections, options), _merge_cells))
    return _unpack(table, edges, sensitive_features)


def _collections(y_true, scores, sensitive_features):
    """Return the Dask collections and their names, checked to be partitioned alike."""
    named = {"y_true": y_true, **scores}
    not_1d = [name for name, c in named.items() if getattr(c, "ndim", 1) != 1]
    if sensitive_features is not None:
        named["sensitive_features"] = sensitive_features
    not_dask = [name for name, c in named.items() if not is_dask(c)]
    if not_dask:
        raise TypeError(
            f"{', '.join(not_dask)} must be Dask collections like the other "
            "inputs: pass y_true, the scores and sensitive_features all as Dask "
            "Series/DataFrames with the same partitions (or all in memory)."
        )
    if not_1d:
        raise ValueError(
            f"{', '.join(not_1d)} must be 1-D (a Dask Series): select the column, "
            "e.g. ddf['death'] rather than ddf[['death']]."
        )
    npartitions = {name: c.npartitions for name, c in named.items()}
    if len(set(npartitions.values())) > 1:
        raise ValueError(
            f"the Dask inputs have different numbers of partitions {npartitions}: "
            "partition them alike, e.g. pass columns of one Dask DataFrame."
        )
    return list(named.values()), list(named)


def _map(function, collections, options):
    """One task per partition: ``function(*partitions, **options)``."""
    from dask import delayed

    # unoptimised graphs keep the keys the columns share, so a partition that is
    # computed (or generated) on a worker is computed once for all of them
    parts = [c.to_delayed(optimize_graph=False) for c in collections]
    task = delayed(function, pure=True)
    return [task(*partition, **options) for partition in zip(*parts, strict=True)]


def _tree(tasks, merge):
    """Merge the partitions' results in a tree of tasks on the workers."""
    from dask import delayed

    task = delayed(merge, pure=True)
    while len(tasks) > 1:
        tasks = [
            task(tasks[i : i + _SPLIT_EVERY])
            for i in range(0, len(tasks), _SPLIT_EVERY)
        ]
    return tasks[0]


def _compute(task):
    import dask

    (result,) = dask.compute(task)
    return result


def _summary(y, *rest, n_models, grids=None):
    """Cheap checks and histograms of every model's scores, for one partition.

    The histograms are kept per label of ``y`` (the event is not known yet), at
    most three labels (more is an error raised on the driver).
    """
    sizes = [len(y), *(len(part) for part in rest)]
    y = np.asarray(y)
    missing = pd.isna(y)
    labels = pd.unique(y[~missing]) if (~missing).any() else []
    out = {
        "sizes": [sizes] if len(set(sizes)) > 1 else [],
        "n": y.size,
        "y_missing": int(missing.sum()),
        "labels": set(np.asarray(labels[:3]).tolist()),
        "bad": [],
        "low": [],
        "high": [],
        "hist": {},
    }
    if out["sizes"]:
        return out
    for m, s in enumerate(rest[:n_models]):
        s = np.asarray(s, dtype=np.float64)
        finite = np.isfinite(s)
        out["bad"].append(int((~finite).sum()))
        out["low"].append(float(s[finite].min()) if finite.any() else np.inf)
        out["high"].append(float(s[finite].max()) if finite.any() else -np.inf)
        grid = None if grids is None else grids[m]
        for label in out["labels"] if len(labels) <= 2 else ():
            rows = finite & (y == label)
            out["hist"].setdefault(label, []).append(histogram(s[rows], grid))
    return out


def _merge_summaries(parts):
    mismatched = [sizes for part in parts for sizes in part["sizes"]]
    if mismatched:  # nothing else is read
        return {"sizes": mismatched}
    out = dict(parts[0])
    out["hist"] = dict(out["hist"])
    for part in parts[1:]:
        out["sizes"] = out["sizes"] + part["sizes"]
        out["n"] += part["n"]
        out["y_missing"] += part["y_missing"]
        out["labels"] = out["labels"] | part["labels"]
        for key, pick in (("bad", np.add), ("low", min), ("high", max)):
            out[key] = [pick(a, b) for a, b in zip(out[key], part[key], strict=True)]
        for label, hists in part["hist"].items():
            mine = out["hist"].get(label, [0] * len(hists))
            out["hist"][label] = [a + b for a, b in zip(mine, hists, strict=True)]
    return out


def _check_summary(summary, names, probability, pos_label):
    """Raise the errors of in-memory input from the workers' summary.

    Returns the label of the event as the partitions hold it.
    """
    if summary["sizes"]:
        sizes = ", ".join(count_text(k) for k in summary["sizes"][0])
        raise ValueError(
            f"the Dask inputs {names} are not partitioned alike: a partition has "
            f"{sizes} rows. Pass columns of one Dask DataFrame (or repartition them "
            "together) so that their partitions hold the same rows."
        )
    if summary["n"] == 0:
        raise ValueError("y_true is empty: pass at least one sample.")
    if summary["y_missing"]:
        raise ValueError("y_true contains missing values: drop or impute them first.")
    labels = sorted(summary["labels"], key=str)
    coded = check_target(np.array(labels, dtype=object), pos_label=pos_label)
    events = [label for label, c in zip(labels, coded, strict=True) if c == 1]
    for name, bad, low, high in zip(
        names[1:], summary["bad"], summary["low"], summary["high"], strict=False
    ):
        if bad:
            raise ValueError(
                f"{name} contains NaN or infinite values ({count_text(bad)} "
                "rows): every sample needs a finite predicted probability; drop "
                "or impute those rows first."
            )
        if probability and (low < 0 or high > 1):
            raise ValueError(
                f"{name} has values in [{low:g}, {high:g}] but the metrics "
                f"{list(probability)} need probabilities in [0, 1]: pass "
                "predict_proba output, or request only ranking metrics such as "
                "'roc_auc'."
            )
    return events[0] if events else _NO_EVENT


class _NoEvent:
    """A label equal to no value: the outcome has no events."""

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


_NO_EVENT = _NoEvent()


def _cells(y, *rest, n_models, pos_value, edges):
    """Return the cells of one partition: counts and sums per key."""
    scores, features = rest[:n_models], rest[n_models:]
    columns = {}
    if features:
        frame = features[0]
        frame = frame.to_frame() if frame.ndim == 1 else frame
        for k in range(frame.shape[1]):
            columns[f"k:a{k}"] = frame.iloc[:, k].to_numpy(dtype=object)
    y01 = (np.asarray(y) == pos_value).astype(np.int8)
    columns["k:y"] = y01
    sums = {"s:n": np.ones(y01.size, np.int64)}
    for m, s in enumerate(scores):
        s = np.asarray(s, dtype=np.float64)
        columns[f"k:b{m}"] = bin_codes(s, edges[m])
        for stat in _SUMS:
            sums[f"s:{stat}{m}"] = ROW_STATISTICS[stat](s, y01)
    return _group_sum(pd.DataFrame({**columns, **sums}))


def _group_sum(frame):
    keys = [c for c in frame.columns if c.startswith("k:")]
    return frame.groupby(keys, dropna=False, sort=False).sum().reset_index()


def _merge_cells(parts):
    return _group_sum(pd.concat(parts, ignore_index=True))


def _unpack(table, edges, sensitive_features):
    """Arrays of the cells for the engine, and the caller's attribute names."""
    y = table["k:y"].to_numpy(np.int64)
    weights = table["s:n"].to_numpy(np.int64)
    codes = [table[f"k:b{m}"].to_numpy(np.int64) for m in range(len(edges))]
    means = [
        {stat: table[f"s:{stat}{m}"].to_numpy() / weights for stat in _SUMS}
        for m in range(len(edges))
    ]
    scores = [stand_ins(c, e) for c, e in zip(codes, edges, strict=True)]
    features = None
    if sensitive_features is not None and sensitive_features.ndim == 1:
        features = pd.Series(
            table["k:a0"].to_numpy(), name=sensitive_features.name, dtype=object
        )
    elif sensitive_features is not None:
        features = pd.DataFrame(
            {
                name: table[f"k:a{k}"].to_numpy()
                for k, name in enumerate(sensitive_features.columns)
            }
        )
    return y, scores, features, (weights, means), codes
