"""``make_group_scorer``: group-aware scorers for model selection."""

import inspect
import numbers

import numpy as np
from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object

from healthbalance._compat import (
    _BaseScorer,
    _check_response_method,
    _get_response_method_name,
    _routing_enabled,
)
from healthbalance._sensitive import resolve_sensitive_features
from healthbalance._small_counts import MIN_EVENTS, MIN_GROUP_SIZE, too_small
from healthbalance.metrics._count_batch import MetricParams
from healthbalance.metrics._engine import evaluate
from healthbalance.metrics._groups import OVERALL, build_groups
from healthbalance.metrics._registry import METRICS
from healthbalance.metrics._report import _badness, metric_best
from healthbalance.metrics._validation import check_scores, check_target
from healthbalance.utils._validation import plain
from healthbalance.utils._warnings import warn

__all__ = ["make_group_scorer"]

AGGREGATES = ("min", "max", "mean", "worst", "max_difference", "min_ratio")


def _group_score(y_true, y_score, *, sensitive_features=None):
    """Stand-in score function whose signature declares the routed metadata."""


class _GroupScorer(_BaseScorer):
    """A scorer evaluating one metric per group and aggregating over the groups."""

    def __init__(self, metric, aggregate, attribute, sign, options):
        super().__init__(_group_score, sign, {}, response_method="predict_proba")
        self._metric = metric
        self._aggregate = aggregate
        self._attribute = attribute
        self._options = options

    def __repr__(self):
        sizes = "".join(
            f", {name}={self._options[name]}"
            for name, default in (
                ("min_group_size", MIN_GROUP_SIZE),
                ("min_events", MIN_EVENTS),
            )
            if self._options[name] != default
        )
        return (
            f"make_group_scorer({self._metric!r}, aggregate={self._aggregate!r}, "
            f"attribute={self._attribute!r}{sizes})"
        )

    def _get_pos_label(self):
        return self._options["pos_label"]

    def _get_metadata_request(self):
        if hasattr(self, "_metadata_request"):
            return super()._get_metadata_request()
        requests = MetadataRequest(owner=self)
        requests.score.add_request(param="sensitive_features", alias=True)
        return requests

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        if kwargs.get("sample_weight") is not None:
            raise TypeError(
                "make_group_scorer does not support sample_weight: weight the groups "
                "through the estimator instead."
            )
        sensitive_features = kwargs.get("sensitive_features")
        frame = resolve_sensitive_features(
            X,
            sensitive_features,
            self._options["sensitive_columns"],
            caller="make_group_scorer",
        )
        method = _check_response_method(estimator, self._response_method)
        pos_label = self._get_pos_label()
        if sensitive_features is not None and _takes_groups(estimator, method):
            y_score = _proba_with_groups(
                estimator, method, X, sensitive_features, pos_label
            )
        else:
            y_score = method_caller(
                estimator, _get_response_method_name(method), X, pos_label=pos_label
            )
        if pos_label is None and hasattr(estimator, "classes_"):
            pos_label = estimator.classes_[-1]
        values = self._group_values(y_true, y_score, frame, pos_label)
        return self._sign * _aggregate(values, self._aggregate, self._metric)

    def _group_values(self, y_true, y_score, frame, pos_label):
        y = check_target(y_true, pos_label=pos_label)
        metric = {self._metric_name: self._metric}
        probability = (
            isinstance(self._metric, str) and METRICS[self._metric].probability
        )
        scores = check_scores(
            y_score, y.size, probabilities=[self._metric_name] if probability else ()
        )
        groups = build_groups(frame, intersections=self._options["intersections"])
        params = MetricParams(threshold=self._options["threshold"])
        evaluation = evaluate(
            y,
            [scores],
            groups,
            metric,
            params,
            n_bootstrap=0,
            random_state=None,
            n_jobs=None,
        )
        keep = groups.index(self._attribute)
        if not keep:
            raise ValueError(
                f"attribute={self._attribute!r} is not among the sensitive features "
                f"{sorted(set(groups.attribute) - {OVERALL})}."
            )
        few_patients, few_events = too_small(
            np.array([groups.rows[j].size for j in keep]),
            evaluation.n_events[keep],
            self._options["min_group_size"],
            self._options["min_events"],
        )
        return np.where(few_patients | few_events, np.nan, evaluation.point[0, keep, 0])

    @property
    def _metric_name(self):
        return self._metric if isinstance(self._metric, str) else "metric"


def _takes_groups(estimator, method):
    """Whether ``method`` takes the groups: in its signature, or routed (Pipeline)."""
    if "sensitive_features" in inspect.signature(method).parameters:
        return True
    if not _routing_enabled():
        return False
    routing = get_routing_for_object(estimator)
    return bool(routing.consumes(method.__name__, ["sensitive_features"]))


def _proba_with_groups(estimator, method, X, sensitive_features, pos_label):
    """Score with the routed groups, for models whose predictions depend on them.

    scikit-learn's scorers never pass metadata to ``predict_proba``; a model that
    corrects its probabilities per group (``ResampledClassifier``) would then fall
    back to the overall prior. The scorer has the fold's groups, so it passes them.
    """
    proba = np.asarray(method(X, sensitive_features=sensitive_features))
    if proba.ndim == 1:
        return proba
    column = -1 if pos_label is None else list(estimator.classes_).index(pos_label)
    return proba[:, column]


def _aggregate(values, aggregate, metric):
    values = values[~np.isnan(values)]
    if values.size == 0:
        warn(
            f"make_group_scorer: {metric!r} is undefined in every group of this fold "
            "(groups with a single class, or all below min_group_size or "
            "min_events); the score is NaN.",
            UserWarning,
        )
        return np.nan
    if aggregate == "worst":
        return float(values[np.argmax(_badness(values, metric_best(metric)))])
    if aggregate == "max_difference":
        return float(values.max() - values.min())
    if aggregate == "min_ratio":
        return float(values.min() / values.max()) if values.max() else np.nan
    return float(getattr(np, aggregate)(values))


def _infer_sign(metric, aggregate, greater_is_better):
    if greater_is_better is not None:
        return 1 if greater_is_better else -1
    if aggregate == "max_difference":
        return -1
    if aggregate == "min_ratio":
        return 1
    best = metric_best(metric) if isinstance(metric, str) else "max"
    if best not in ("max", "min"):
        raise ValueError(
            f"{metric!r} is best at {best}, so aggregate={aggregate!r} has no "
            "direction: use aggregate='max_difference' or pass greater_is_better."
        )
    return 1 if best == "max" else -1


def make_group_scorer(
    metric,
    *,
    aggregate="min",
    attribute=None,
    sensitive_columns=None,
    intersections=False,
    threshold=0.5,
    min_group_size=MIN_GROUP_SIZE,
    min_events=MIN_EVENTS,
    greater_is_better=None,
    pos_label=None,
):
    """Make a scorer that evaluates ``metric`` per group and aggregates the groups.

    The scorer can be passed as ``scoring=`` to :class:`~sklearn.model_selection.
    GridSearchCV`, :func:`~sklearn.model_selection.cross_validate` and friends. It
    reads the estimator's ``predict_proba`` and gets each patient's group in one of
    two ways:

    - through scikit-learn metadata routing (the scorer requests
      ``sensitive_features`` by default)::

          import sklearn
          sklearn.set_config(enable_metadata_routing=True)
          scorer = make_group_scorer("roc_auc", aggregate="min")
          search = GridSearchCV(model, grid, scoring=scorer)
          search.fit(X, y, sensitive_features=race)  # split with X and y

      (estimators whose ``fit`` does not take ``sensitive_features`` need no
      request; use ``scorer.set_score_request(sensitive_features="race")`` to
      route a differently named key);
    - or, without routing, from columns of a DataFrame ``X`` named by
      ``sensitive_columns`` (the pipeline must then drop or encode them).

    Parameters
    ----------
    metric : str or callable
        A built-in metric name of :func:`group_report` or ``f(y_true, y_score)``.
    aggregate : {"min", "max", "mean", "worst", "max_difference", "min_ratio"}, \
default="min"
        How the groups' values become one score: their minimum, maximum or mean;
        the worst group's value (lowest, or highest for losses); the largest
        difference between two groups; or the smallest over the largest value.
    attribute : str or None, default=None
        Use only this attribute's groups (an intersection name such as
        ``"race & sex"`` with ``intersections=True``); all attributes if None.
    sensitive_columns : str, list of str or None, default=None
        Columns of ``X`` holding the groups, when not routing ``sensitive_features``.
    intersections : bool, default=False
        Also score the intersections of several attributes.
    threshold : float, default=0.5
        Threshold of the threshold metrics.
    min_group_size : int, default=30
        Leave out of the aggregate the groups of a fold with fewer patients. A group
        with a handful of patients in a validation fold has a metric so noisy that
        it decides a worst-group selection by chance. The defaults are those under
        which :func:`group_report` flags a group as unreliable (one small-count
        policy for the whole library); ``min_group_size=0, min_events=0`` lets every
        group count (the former default).
    min_events : int, default=10
        Likewise, leave out the groups of a fold with fewer events or non-events.
    greater_is_better : bool or None, default=None
        Whether higher aggregated values are better. Inferred if None: loss metrics
        and ``"max_difference"`` are negated, like scikit-learn's ``neg_*`` scorers,
        so that model selection always maximises the score.
    pos_label : int, float, bool or str, default=None
        The positive class; the estimator's last class if None.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sensitive_features=None) -> float``.

    See Also
    --------
    group_report : The full per-group evaluation.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from healthbalance.metrics import make_group_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(60, 10, 200),
    ...                   "sex": rng.choice(["F", "M"], 200)})
    >>> y = (X["age"] + rng.normal(0, 10, 200) > 62).astype(int)
    >>> model = make_pipeline(
    ...     make_column_transformer(("drop", ["sex"]), remainder="passthrough"),
    ...     LogisticRegression())
    >>> scorer = make_group_scorer("roc_auc", aggregate="min", sensitive_columns="sex")
    >>> scores = cross_val_score(model, X, y, scoring=scorer, cv=3)
    >>> bool(((0.5 < scores) & (scores <= 1)).all())
    True
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}.")
    if isinstance(metric, str) and metric not in METRICS:
        raise ValueError(
            f"metric {metric!r} is unknown: use one of {sorted(METRICS)} or a callable."
        )
    if not (isinstance(metric, str) or callable(metric)):
        raise TypeError(f"metric must be a name or a callable, got {metric!r}.")
    if not isinstance(threshold, numbers.Real) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {plain(threshold)!r}.")
    for name, value in (("min_group_size", min_group_size), ("min_events", min_events)):
        if not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(
                f"{name} must be a non-negative integer, got {plain(value)!r}."
            )
    sign = _infer_sign(metric, aggregate, greater_is_better)
    options = {
        "sensitive_columns": sensitive_columns,
        "intersections": intersections,
        "threshold": threshold,
        "min_group_size": min_group_size,
        "min_events": min_events,
        "pos_label": pos_label,
    }
    return _GroupScorer(metric, aggregate, attribute, sign, options)
