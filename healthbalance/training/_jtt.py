"""Just Train Twice (JTT): upweight the rows a first model gets wrong."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import cross_val_predict
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from healthbalance._compat import HasMethods, Interval, _fit_context
from healthbalance._prior import apply_prior_shift, record_intercept_shift
from healthbalance.training._groups import fit_groups
from healthbalance.training._meta import (
    check_binary_or_more,
    check_sample_weight_support,
    full_proba,
    make_cv,
)
from healthbalance.training._routing import fit_router, refuse_sample_weight, route_fit

__all__ = ["JTTClassifier"]


def _estimator_has(attr):
    def check(self):
        getattr(self.estimator, attr)
        return True

    return check


class JTTClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Just Train Twice: refit with the misclassified rows upweighted.

    A first-stage model is cross-validated; the rows it misclassifies out of fold
    (the error set, rich in the worst-off groups even when groups are unknown) get
    weight ``upweight`` and every other row weight 1 when ``estimator`` is fitted a
    second time (Liu et al. 2021). Out-of-fold predictions are used so that a model
    able to memorise its training rows still finds an error set.

    Parameters
    ----------
    estimator : classifier
        Second-stage model; its ``fit`` must accept ``sample_weight``. Cloned.
    upweight : float, default=3
        Weight of the rows in the error set (the others weigh 1). Liu et al. use
        20-100 on balanced image data; with a rare outcome the error set is mostly
        the events, and a large weight flattens the risks: on ``make_icu_cohort``
        (20,000 stays, logistic regression, ``benchmarks/bench_jtt_defaults.py``)
        the test AUROC is 0.859 for plain training, 0.855 with ``upweight=3``
        (2% of patients predicted positive), 0.823 with 10 and 0.720 with 20, which
        never predicts the event (maximum risk 0.41). Tune it with a worst-group
        scorer.
    first_stage : classifier or None, default=None
        Model whose out-of-fold errors define the error set; ``estimator`` if None.
        Cloned.
    cv : int, cross-validation generator or iterable, default=5
        Folds of the first stage. An int gives shuffled stratified folds seeded
        by ``random_state``.
    prior_correction : bool, default=True
        Upweighting the error set changes the risks the second stage learns, and no
        class-prior ratio undoes it. If True the intercept is refitted on the training
        rows (the maximum-likelihood shift ``a`` of ``logit P = a + logit(p)``, see
        :mod:`healthbalance._prior`), so that ``predict_proba`` is calibrated in the
        large on the training population (mean predicted risk = observed prevalence);
        ``predict`` is its arg-max.
    n_jobs : int or None, default=None
        Jobs for the independent first-stage fits (``cross_val_predict``); the
        result does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds of an int ``cv``.
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups, instead of
        ``sensitive_features``. JTT does not need groups to train; they are used
        to describe the error set (``error_set_rate_``).

    Attributes
    ----------
    estimator_ : classifier
        The second-stage model fitted on all rows.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    error_set_ : ndarray of shape (n_samples,), dtype=bool
        Whether each training row was misclassified out of fold.
    sample_weight_ : ndarray of shape (n_samples,)
        Weights of the second stage.
    groups_ : ndarray of shape (n_groups,)
        Group labels.
    error_set_rate_ : pandas.Series
        Share of each group's rows in the error set, indexed by group.
    prior_correction_ : {"none", "global"}
        ``"global"``: ``predict_proba`` adds one refitted intercept shift to all
        rows (``"none"`` with ``prior_correction=False``).
    prior_method_ : "intercept"
        Mechanism of the correction (see :mod:`healthbalance._prior`).
    class_prior_before_ : DataFrame of shape (n_groups, n_classes)
        Observed class prior of each group in the training rows.
    class_prior_after_ : DataFrame of shape (n_groups, n_classes)
        Mean uncorrected predicted probabilities of each group's training rows.
    prior_before_, prior_after_ : ndarray of shape (n_classes,)
        The same over all training rows.
    prior_shift_ : DataFrame of shape (n_groups, n_classes)
        Log-multiplier of each class's probability (the same for every group).
    prior_shift_overall_ : ndarray of shape (n_classes,)
        The refitted shift: maximum likelihood of ``logit P = a + logit(p)`` on
        the training rows, so that the mean corrected risk equals the observed
        prevalence.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    GroupDROClassifier : Reweighting driven by group losses when groups are known.

    References
    ----------
    .. [1] E. Z. Liu, B. Haghgoo, A. S. Chen, A. Raghunathan, P. W. Koh,
       S. Sagawa, P. Liang, C. Finn. "Just Train Twice: Improving Group Robustness
       without Training Group Information". ICML 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import JTTClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    >>> groups = np.where(X[:, 1] > 0, "a", "b")
    >>> jtt = JTTClassifier(LogisticRegression(), cv=3, random_state=0)
    >>> jtt.fit(X, y, sensitive_features=groups).predict(X[:3]).shape
    (3,)
    >>> set(jtt.sample_weight_) <= {1.0, 3.0}
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "upweight": [Interval(Real, 0, None, closed="neither")],
        "first_stage": [HasMethods(["fit", "predict"]), None],
        "cv": ["cv_object"],
        "prior_correction": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "sensitive_columns": [str, list, None],
    }

    def __init__(
        self,
        estimator,
        *,
        upweight=3,
        first_stage=None,
        cv=5,
        prior_correction=True,
        n_jobs=None,
        random_state=None,
        sensitive_columns=None,
    ):
        self.estimator = estimator
        self.upweight = upweight
        self.first_stage = first_stage
        self.cv = cv
        self.prior_correction = prior_correction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.sensitive_columns = sensitive_columns

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Find the error set out of fold and fit the upweighted second stage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sensitive_features : array-like of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Groups, used to describe the error set.
        **fit_params : dict
            Other metadata, routed to the fits of the first stage (out of fold) and
            of the second stage as they request it. Only with metadata routing
            enabled; ``sample_weight`` is refused (the upweighting is the second
            stage's sample weights).

        Returns
        -------
        self : JTTClassifier
            The fitted estimator.
        """
        refuse_sample_weight(self, fit_params)
        first_params, second_params = self._route(sensitive_features, fit_params)
        groups = fit_groups(self, X, sensitive_features)
        check_sample_weight_support(self.estimator, type(self).__name__)
        _, y = validate_data(
            self, X, y, accept_sparse=True, dtype=None, ensure_all_finite=False
        )
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        check_binary_or_more(self.classes_, type(self).__name__)
        first = clone(self.estimator if self.first_stage is None else self.first_stage)
        cv = make_cv(self.cv, y, self.random_state)
        oof = cross_val_predict(
            first, X, y, cv=cv, n_jobs=self.n_jobs, params=first_params or None
        )
        self.error_set_ = np.asarray(oof) != y
        self.sample_weight_ = np.where(self.error_set_, float(self.upweight), 1.0)
        self.estimator_ = clone(self.estimator).fit(
            X, y, sample_weight=self.sample_weight_, **second_params
        )
        self._describe_error_set(groups)
        if hasattr(self.estimator_, "predict_proba"):
            proba = self._estimator_proba(X)
            record_intercept_shift(self, proba, y_codes, groups)
        return self

    def _route(self, sensitive_features, fit_params):
        own = {"sensitive_features": sensitive_features}
        first = {} if self.first_stage is None else {"first_stage": "fit"}
        routed = route_fit(self, own, fit_params, estimator="fit", **first)
        return routed.get("first_stage", routed["estimator"]), routed["estimator"]

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes metadata (other than ``sample_weight``) to the fits of
        ``first_stage`` (or of ``estimator`` when it is None) and of
        ``estimator``; see scikit-learn's metadata routing user guide.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return fit_router(
            self,
            estimator=(self.estimator, "fit"),
            first_stage=(self.first_stage, "fit"),
        )

    def _describe_error_set(self, groups):
        codes, self.groups_ = groups.codes, groups.groups
        rate = np.bincount(codes, weights=self.error_set_) / np.bincount(codes)
        self.error_set_rate_ = pd.Series(rate, index=self.groups_, name="error_set")

    def predict(self, X):
        """Predict classes: the arg-max of ``predict_proba`` when available.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted classes.
        """
        check_is_fitted(self)
        if hasattr(self.estimator_, "predict_proba"):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Return prior-corrected class probabilities of the second stage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of ``classes_``.
        """
        check_is_fitted(self)
        return apply_prior_shift(self._estimator_proba(X), self.prior_shift_overall_)

    def _estimator_proba(self, X):
        return full_proba(self.estimator_, X, self.classes_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = clone(self.estimator).__sklearn_tags__()
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags
