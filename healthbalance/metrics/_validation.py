"""Validation of the labels, scores and options of the evaluation functions."""

import numbers

import numpy as np
import pandas as pd

from healthbalance._small_counts import count_text
from healthbalance.metrics._registry import METRICS
from healthbalance.utils._validation import plain

__all__ = [
    "DEFAULT_METRICS",
    "check_confidence_level",
    "check_metrics",
    "check_scores",
    "check_target",
]

DEFAULT_METRICS = tuple(name for name, spec in METRICS.items() if spec.default)


def _as_1d(values, name):
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, got an array of shape {array.shape}. For the output "
            "of predict_proba pass its positive-class column, e.g. proba[:, 1]."
        )
    return array


def check_target(y_true, *, pos_label=None):
    """Return ``y_true`` as a 0/1 int array, with clear errors for bad labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary outcome labels.
    pos_label : int, float, bool or str, default=None
        The positive label. ``None`` means 1 (or ``True``) for numeric and boolean
        labels; it is required for string labels.

    Returns
    -------
    y : ndarray of shape (n_samples,), dtype=int64
        1 for the positive label, 0 otherwise.

    Examples
    --------
    >>> from healthbalance.metrics._validation import check_target
    >>> check_target(["no", "yes"], pos_label="yes").tolist()
    [0, 1]
    """
    array = _as_1d(y_true, "y_true")
    if array.shape[0] == 0:
        raise ValueError("y_true is empty: pass at least one sample.")
    if pd.isna(array).any():
        raise ValueError("y_true contains missing values: drop or impute them first.")
    labels = np.unique(array)
    if labels.size > 2:
        raise ValueError(
            f"y_true must be binary, got {labels.size} labels {labels[:5].tolist()}"
            f"{'...' if labels.size > 5 else ''}: recode the outcome to two classes."
        )
    if pos_label is None:
        pos_label = _default_pos_label(labels)
    elif labels.size == 2 and pos_label not in labels.tolist():
        raise ValueError(
            f"pos_label={plain(pos_label)!r} is not one of the labels "
            f"{labels.tolist()} of "
            "y_true: pass one of them."
        )
    return (array == pos_label).astype(np.int64)


def _default_pos_label(labels):
    values = set(labels.tolist())
    if all(isinstance(v, numbers.Number) for v in values) and (
        values <= {0, 1} or values <= {-1, 1}
    ):
        return 1
    raise ValueError(
        f"y_true has labels {sorted(values, key=str)!r}, so the positive class is "
        "ambiguous: pass pos_label=... (e.g. the label of the event)."
    )


def check_scores(y_score, n_samples, *, name="y_score", probabilities=()):
    """Return finite 1-D float scores, in [0, 1] if probability metrics use them.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Predicted probabilities (or scores) of the positive class.
    n_samples : int
        Number of samples of ``y_true``.
    name : str, default="y_score"
        Name of the argument, used in messages.
    probabilities : sequence of str, default=()
        Requested metrics that need probabilities; when non-empty, scores outside
        [0, 1] are an error.

    Returns
    -------
    scores : ndarray of shape (n_samples,), dtype=float64

    Examples
    --------
    >>> from healthbalance.metrics._validation import check_scores
    >>> check_scores([0.2, 0.9], 2).tolist()
    [0.2, 0.9]
    """
    array = _as_1d(y_score, name)
    if array.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {count_text(array.shape[0])} rows but y_true has "
            f"{count_text(n_samples)}: pass one "
            "score per sample."
        )
    try:
        scores = array.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}.") from e
    if not np.all(np.isfinite(scores)):
        bad = int(np.sum(~np.isfinite(scores)))
        raise ValueError(
            f"{name} contains NaN or infinite values ({count_text(bad)} rows): "
            "every sample needs a finite predicted probability; drop or impute "
            "those rows first."
        )
    if probabilities and (scores.min() < 0 or scores.max() > 1):
        raise ValueError(
            f"{name} has values in [{scores.min():g}, {scores.max():g}] but the "
            f"metrics {list(probabilities)} need probabilities in [0, 1]: pass "
            "predict_proba output, or request only ranking metrics such as 'roc_auc'."
        )
    return scores


def check_metrics(metrics):
    """Normalise ``metrics`` to a dict of name -> metric name or callable.

    Parameters
    ----------
    metrics : None, str, callable, list or dict
        Names of built-in metrics (see :data:`METRICS`), callables
        ``f(y_true, y_score) -> float``, or a dict naming callables.

    Returns
    -------
    metrics : dict
        Ordered mapping from the reported name to a built-in name or a callable.

    Examples
    --------
    >>> from healthbalance.metrics._validation import check_metrics
    >>> list(check_metrics(["roc_auc", "brier_score"]))
    ['roc_auc', 'brier_score']
    """
    if metrics is None:
        metrics = list(DEFAULT_METRICS)
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    items = metrics.items() if isinstance(metrics, dict) else _named(metrics)
    checked = {}
    for name, metric in items:
        if isinstance(metric, str) and metric not in METRICS:
            raise ValueError(
                f"metrics contains unknown metric {metric!r}: use one of "
                f"{sorted(METRICS)} or a callable f(y_true, y_score)."
            )
        if not (isinstance(metric, str) or callable(metric)):
            raise TypeError(
                f"metrics must hold metric names or callables, got {metric!r}."
            )
        checked[str(name)] = metric
    if not checked:
        raise ValueError("metrics is empty: request at least one metric.")
    return checked


def _named(metrics):
    for metric in metrics:
        name = metric if isinstance(metric, str) else getattr(metric, "__name__", None)
        if name is None:
            raise TypeError(
                f"metric {metric!r} has no __name__: pass metrics as a dict "
                "{name: callable}."
            )
        yield name, metric


def check_confidence_level(confidence_level):
    """Raise unless ``confidence_level`` is a float strictly between 0 and 1.

    Parameters
    ----------
    confidence_level : float
        Coverage of the bootstrap intervals.

    Examples
    --------
    >>> from healthbalance.metrics._validation import check_confidence_level
    >>> check_confidence_level(0.95)
    """
    if not isinstance(confidence_level, numbers.Real) or not 0 < confidence_level < 1:
        raise ValueError(
            "confidence_level must be in (0, 1), got "
            f"{plain(confidence_level)!r}; e.g. 0.95."
        )
