"""The one place that imports private scikit-learn and fairlearn names.

scikit-learn and fairlearn keep some useful tools in private modules (parameter
constraints, ``_fit_context``, scorer internals) or behind private methods
(fairlearn's ``_pmf_predict``). They can move or change between releases without a
deprecation, so every module of healthbalance imports them from here, and an upgrade
that breaks one of them breaks it in this file only. ``tests/test_compat.py`` scans
the package and fails if another module imports a private upstream name.

The re-exported names keep their upstream spelling (``_fit_context``,
``_safe_indexing``, ...) so that a reader can look them up in the upstream source.
"""

import sklearn
from sklearn.base import _fit_context
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.metrics._scorer import _BaseScorer, _get_response_method_name
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils import _safe_indexing
from sklearn.utils._metadata_requests import _raise_for_params, _routing_enabled
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.fixes import parse_version
from sklearn.utils.validation import (
    _check_method_params,
    _check_response_method,
    _check_y,
    _num_samples,
)

__all__ = [
    "HasMethods",
    "Interval",
    "LinearClassifierMixin",
    "StrOptions",
    "_BaseScorer",
    "_check_method_params",
    "_check_response_method",
    "_check_y",
    "_fit_context",
    "_get_response_method_name",
    "_num_samples",
    "_raise_for_params",
    "_routing_enabled",
    "_safe_indexing",
    "pmf_predict",
    "target_encoder",
    "validate_params",
]


def target_encoder(random_state=0):
    """Return a binary ``TargetEncoder`` cross-fitted on shuffled, seeded folds.

    scikit-learn 1.9 deprecated ``shuffle`` and ``random_state`` for a splitter
    passed as ``cv``, which older releases do not accept.
    """
    if parse_version(sklearn.__version__).release >= (1, 9):
        folds = StratifiedKFold(5, shuffle=True, random_state=random_state)
        return TargetEncoder(target_type="binary", cv=folds)
    return TargetEncoder(target_type="binary", shuffle=True, random_state=random_state)


def pmf_predict(mitigator, X, *, sensitive_features=None):
    """Return the class probabilities of a fitted fairlearn mitigator.

    fairlearn's ``ExponentiatedGradient`` and ``ThresholdOptimizer`` make randomized
    decisions; the probability of each decision is only available through their
    private ``_pmf_predict``, whose signature differs between the two (the
    threshold optimizer also needs the groups).

    Parameters
    ----------
    mitigator : ExponentiatedGradient or ThresholdOptimizer
        A fitted fairlearn mitigator.
    X : array-like of shape (n_samples, n_features)
        Data.
    sensitive_features : array-like of shape (n_samples,), default=None
        Groups of the rows; needed by ``ThresholdOptimizer``, ignored otherwise.

    Returns
    -------
    proba : ndarray of shape (n_samples, 2)
        Probability of each class.

    Examples
    --------
    >>> import numpy as np
    >>> from fairlearn.postprocessing import ThresholdOptimizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance._compat import pmf_predict
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> groups = rng.choice(["a", "b"], size=60)
    >>> mitigator = ThresholdOptimizer(
    ...     estimator=LogisticRegression(), predict_method="predict_proba"
    ... ).fit(X, y, sensitive_features=groups)
    >>> pmf_predict(mitigator, X[:3], sensitive_features=groups[:3]).shape
    (3, 2)
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    if isinstance(mitigator, ThresholdOptimizer):
        return mitigator._pmf_predict(X, sensitive_features=sensitive_features)
    return mitigator._pmf_predict(X)
