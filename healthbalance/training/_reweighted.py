"""ReweightedClassifier: fit with group weights computed inside ``fit`` only."""

from numbers import Real

from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    column_or_1d,
    validate_data,
)

from healthbalance._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_y,
    _fit_context,
    _num_samples,
)
from healthbalance._groups import SensitiveGroups, encode_classes
from healthbalance._prior import UNSEEN_GROUP_OPTIONS
from healthbalance.training._prior_correction import PriorCorrectionMixin
from healthbalance.training._routing import accepts, fit_router, route_fit
from healthbalance.utils import check_sample_weight
from healthbalance.weighting import GroupReweighter
from healthbalance.weighting._group_weights import STRATEGIES, UNITS

__all__ = ["ReweightedClassifier"]


class ReweightedClassifier(
    PriorCorrectionMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Fit a classifier with group sample weights, predicting under the true priors.

    ``fit`` computes the weights of :class:`~healthbalance.weighting.GroupReweighter`
    on the training rows (multiplied by any ``sample_weight``) and fits ``estimator``
    with them. With ``prior_correction=True`` the weighted class prior of each group
    is recorded and ``predict_proba`` maps probabilities back to the unweighted
    priors (``"reweighing"`` keeps the overall prior but changes each group's).

    Parameters
    ----------
    estimator : classifier
        Classifier whose ``fit`` accepts ``sample_weight`` (cloned).
    strategy : {"reweighing", "inverse_frequency", "effective_number"}, \
            default="reweighing"
        See :func:`~healthbalance.weighting.compute_group_weights`.
    over : {"classes", "groups", "cells"}, default="cells"
        Unit counted by ``"inverse_frequency"`` and ``"effective_number"``.
    beta : float in [0, 1), default=0.999
        Parameter of ``"effective_number"``.
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups (they stay in ``X``).
    prior_correction : bool, default=True
        Map predicted probabilities back to the class priors before weighting.
    unseen_group : {"overall", "error"}, default="overall"
        Rows of a group not seen in ``fit`` get the overall correction, with one
        :class:`~healthbalance.UnseenGroupWarning` per call naming the groups
        (``"overall"``), or make ``predict_proba`` raise a ``ValueError`` naming
        them (``"error"``).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    reweighter_ : GroupReweighter
        The fitted reweighter; ``reweighter_.weights_`` is the cell weight table.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_prior_before_ : DataFrame of shape (n_groups, n_classes)
        Observed (sample-weighted) class prior of each group.
    class_prior_after_ : DataFrame of shape (n_groups, n_classes)
        Class prior of each group after weighting.
    prior_before_, prior_after_ : ndarray of shape (n_classes,)
        Overall class prior before and after weighting.
    prior_correction_ : {"none", "global", "group"}
        Correction applied by ``predict_proba``: none (off, or priors unchanged),
        one overall correction (every group's prior changed by the same ratio) or
        one per group (then pass ``sensitive_features`` to ``predict_proba``).
    prior_method_ : "odds_ratio"
        Mechanism of the correction (see :mod:`healthbalance._prior`).
    prior_shift_ : DataFrame of shape (n_groups, n_classes)
        Log-multiplier of each class's probability, per group:
        ``log(class_prior_before_ / class_prior_after_)``.
    prior_shift_overall_ : ndarray of shape (n_classes,)
        The shift used without groups and for groups unseen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.

    See Also
    --------
    ResampledClassifier : The same with resampling instead of weights.

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for
       classification without discrimination", Knowledge and Information Systems
       33, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import ReweightedClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> sex = rng.choice(["F", "M"], size=200)
    >>> y = (X[:, 0] + (sex == "M") + rng.normal(size=200) > 1.5).astype(int)
    >>> clf = ReweightedClassifier(LogisticRegression()).fit(
    ...     X, y, sensitive_features=sex
    ... )
    >>> clf.prior_correction_
    'group'
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "strategy": [StrOptions(set(STRATEGIES))],
        "over": [StrOptions(set(UNITS))],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "sensitive_columns": [str, list, None],
        "prior_correction": ["boolean"],
        "unseen_group": UNSEEN_GROUP_OPTIONS,
    }

    def __init__(
        self,
        estimator,
        *,
        strategy="reweighing",
        over="cells",
        beta=0.999,
        sensitive_columns=None,
        prior_correction=True,
        unseen_group="overall",
    ):
        self.estimator = estimator
        self.strategy = strategy
        self.over = over
        self.beta = beta
        self.sensitive_columns = sensitive_columns
        self.prior_correction = prior_correction
        self.unseen_group = unseen_group

    @property
    def _sensitive_columns(self):
        return self.sensitive_columns

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Compute the group weights of the training rows and fit the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group of each row. Without it (and without ``sensitive_columns``) all
            rows form one group, with a ``NoSensitiveFeaturesWarning``.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, multiplied by the group weights. The estimator always gets
            the product as its ``sample_weight`` (no request needed).
        **fit_params : dict
            Other metadata, routed to the estimator's ``fit`` as it requests it
            (``sensitive_features`` too, when it requests them). Only with
            metadata routing enabled.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        y = _check_y(y, multi_output=False, y_numeric=False)
        check_classification_targets(y)
        groups = SensitiveGroups.resolve(
            X, sensitive_features, self.sensitive_columns, caller=type(self).__name__
        )
        if hasattr(X, "columns"):
            validate_data(self, X, skip_check_array=True)
            y = column_or_1d(y)
        else:
            X, y = validate_data(
                self, X, y, dtype=None, ensure_all_finite=False, accept_sparse=True
            )
        self.classes_, class_codes = encode_classes(y)
        base = None
        if sample_weight is not None:
            base = check_sample_weight(sample_weight, _num_samples(X))
        weights = self._weights(X, y, groups, base)
        own = {"sensitive_features": sensitive_features}
        routed = route_fit(self, own, fit_params, estimator="fit")
        params = routed["estimator"]
        self.estimator_ = clone(self.estimator).fit(
            X, y, sample_weight=weights, **params
        )
        rows = groups.codes, class_codes
        self._record_priors(groups.groups, (*rows, base), (*rows, weights))
        return self

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes metadata other than ``sample_weight`` (which it always
        passes, multiplied by the group weights) to the estimator's ``fit``; see
        scikit-learn's metadata routing user guide.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return fit_router(self, estimator=(self.estimator, "fit"))

    def _weights(self, X, y, groups, base):
        if not accepts(self.estimator, "fit", "sample_weight"):
            raise ValueError(
                f"estimator {type(self.estimator).__name__} does not accept "
                "sample_weight in fit, so it cannot be reweighted: use an estimator "
                "that accepts it, or ResampledClassifier."
            )
        self.reweighter_ = GroupReweighter(
            strategy=self.strategy, over=self.over, beta=self.beta
        ).fit(X, y, sensitive_features=groups)
        weights = self.reweighter_.compute_sample_weight(
            X, y, sensitive_features=groups
        )
        return weights if base is None else weights * base

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator).input_tags
        tags.input_tags.allow_nan = inner.allow_nan
        tags.input_tags.sparse = inner.sparse
        return tags
