"""ResampledClassifier: resample the training rows inside ``fit`` only."""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    column_or_1d,
    validate_data,
)

from healthbalance._compat import (
    HasMethods,
    _check_method_params,
    _check_y,
    _fit_context,
    _num_samples,
)
from healthbalance._groups import SensitiveGroups, encode_labels
from healthbalance._prior import UNSEEN_GROUP_OPTIONS
from healthbalance._sensitive import SINGLE_GROUP
from healthbalance.training._prior_correction import PriorCorrectionMixin
from healthbalance.training._routing import accepts, fit_router, route_fit
from healthbalance.utils import check_sample_weight

__all__ = ["ResampledClassifier"]


class ResampledClassifier(
    PriorCorrectionMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Fit a classifier on resampled training rows, predicting under the true priors.

    ``fit`` resamples with ``sampler`` and fits ``estimator`` on the result; nothing
    is resampled at prediction time, so ``cross_validate``, ``GridSearchCV`` and a
    plain scikit-learn ``Pipeline`` resample training folds only. Sample weights and
    groups follow the resampled rows. With ``prior_correction=True`` the class priors
    before and after resampling are recorded (per group) and ``predict_proba`` maps
    the probabilities back to the priors of the training data, which keeps a risk
    model calibrated; ``predict`` thresholds the corrected probabilities.

    Parameters
    ----------
    estimator : classifier
        Classifier to fit on the resampled rows (cloned). Needs ``predict_proba``
        when ``prior_correction=True``. It gets the resampled ``sample_weight`` and
        ``sensitive_features`` when its ``fit`` accepts them (with metadata
        routing: when it requests them).
    sampler : sampler with ``fit_resample``
        Sampler (cloned), e.g. :class:`~healthbalance.resampling.GroupBalancedSampler`
        or any imbalanced-learn sampler. Sample weights need its ``sample_indices_``.
    prior_correction : bool, default=True
        Map predicted probabilities back to the class priors before resampling.
    unseen_group : {"overall", "error"}, default="overall"
        Rows of a group not seen in ``fit`` get the overall correction, with one
        :class:`~healthbalance.UnseenGroupWarning` per call naming the groups
        (``"overall"``), or make ``predict_proba`` raise a ``ValueError`` naming
        them (``"error"``).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    sampler_ : sampler
        The fitted clone of ``sampler``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_prior_before_ : DataFrame of shape (n_groups, n_classes)
        Observed (sample-weighted) class prior of each group.
    class_prior_after_ : DataFrame of shape (n_groups, n_classes)
        Class prior of each group after resampling.
    prior_before_, prior_after_ : ndarray of shape (n_classes,)
        Overall class prior before and after resampling.
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

    Notes
    -----
    With ``prior_correction_ == "group"``, ``predict_proba`` and ``predict`` need
    the groups: pass ``sensitive_features`` (routable with
    ``set_predict_proba_request`` / ``set_predict_request``), or let the sampler
    read them from ``sensitive_columns`` of ``X``. scikit-learn's scorers (in
    ``cross_validate`` and ``GridSearchCV``) do not route metadata to ``predict``;
    there, without ``sensitive_columns``, the overall prior is used with a
    ``MissingGroupsWarning``.

    Synthetic rows (e.g. from :class:`~healthbalance.resampling.GroupSMOTE`), which
    have no source row in ``sample_indices_``, get the mean sample weight of the
    original rows of their (group, class) cell.

    See Also
    --------
    ReweightedClassifier : The same with sample weights instead of resampling.

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the outputs of a
       classifier to new a priori probabilities", Neural Computation 14, 2002.
    .. [2] R. van den Goorbergh et al., "The harm of class imbalance corrections for
       risk prediction models", JAMIA 29, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.resampling import GroupBalancedSampler
    >>> from healthbalance.training import ResampledClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = (X[:, 0] + rng.normal(size=200) > 1.5).astype(int)
    >>> sex = rng.choice(["F", "M"], size=200)
    >>> clf = ResampledClassifier(
    ...     LogisticRegression(), GroupBalancedSampler(random_state=0)
    ... ).fit(X, y, sensitive_features=sex)
    >>> clf.prior_correction_
    'group'
    >>> clf.predict_proba(X[:2], sensitive_features=sex[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "sampler": [HasMethods(["fit_resample"])],
        "prior_correction": ["boolean"],
        "unseen_group": UNSEEN_GROUP_OPTIONS,
    }

    def __init__(
        self, estimator, sampler, *, prior_correction=True, unseen_group="overall"
    ):
        self.estimator = estimator
        self.sampler = sampler
        self.prior_correction = prior_correction
        self.unseen_group = unseen_group

    @property
    def _sensitive_columns(self):
        return getattr(self.sampler, "sensitive_columns", None)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Resample the training rows and fit the estimator on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group of each row. Passed to the sampler when it takes them (with
            metadata routing: when it requests them, as healthbalance's samplers do
            by default), and, resampled, to the estimator when it takes them.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights; they follow the resampled rows to the estimator (with
            metadata routing: when the estimator requests them with
            ``set_fit_request(sample_weight=True)``) and weight the recorded priors.
        **fit_params : dict
            Other metadata, routed to the sampler's ``fit_resample`` and the
            estimator's ``fit`` as they request it; row-aligned values follow the
            resampled rows. Only with metadata routing enabled.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y = self._validate_fit_data(X, y)
        frame = self._groups(X, sensitive_features)
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, _num_samples(X))
        own = {"sensitive_features": sensitive_features, "sample_weight": weights}
        routed = route_fit(
            self,
            own,
            fit_params,
            unrouted=self._unrouted,
            sampler="fit_resample",
            estimator="fit",
        )
        self.sampler_ = clone(self.sampler)
        X_res, y_res = self.sampler_.fit_resample(X, y, **routed["sampler"])
        y_res = column_or_1d(y_res)
        groups_res = self._resampled_groups(frame)
        weights_res = self._resampled_weights(weights, y, frame, y_res, groups_res)
        params = self._follow_rows(
            routed["estimator"], y, len(y_res), weights_res, groups_res
        )
        self.estimator_ = clone(self.estimator).fit(X_res, y_res, **params)
        self._record(y, frame, weights, y_res, groups_res, weights_res)
        return self

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes metadata to the sampler's ``fit_resample`` and to the
        estimator's ``fit``; see scikit-learn's metadata routing user guide.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return fit_router(
            self,
            sampler=(self.sampler, "fit_resample"),
            estimator=(self.estimator, "fit"),
        )

    def _validate_fit_data(self, X, y):
        y = _check_y(y, multi_output=False, y_numeric=False)
        check_classification_targets(y)
        if hasattr(X, "columns"):
            validate_data(self, X, skip_check_array=True)
            y = column_or_1d(y)
        else:
            X, y = validate_data(
                self, X, y, dtype=None, ensure_all_finite=False, accept_sparse=True
            )
        self.classes_ = np.unique(y)
        return X, y

    def _groups(self, X, sensitive_features):
        if sensitive_features is None and self._sensitive_columns is None:
            return None
        return SensitiveGroups.resolve(
            X, sensitive_features, self._sensitive_columns, caller=type(self).__name__
        ).frame

    def _resampled_groups(self, frame):
        if hasattr(self.sampler_, "sensitive_features_"):
            return self.sampler_.sensitive_features_
        if frame is not None and hasattr(self.sampler_, "sample_indices_"):
            return frame.iloc[self.sampler_.sample_indices_].reset_index(drop=True)
        return None

    def _resampled_weights(self, weights, y, frame, y_res, groups_res):
        if weights is None:
            return None
        indices = getattr(self.sampler_, "sample_indices_", None)
        if indices is None:
            raise ValueError(
                f"sampler {type(self.sampler_).__name__} has no sample_indices_, so "
                "sample_weight cannot follow the resampled rows: use a sampler that "
                "sets it, or drop sample_weight."
            )
        weights_res = np.empty(len(y_res))
        weights_res[: indices.size] = weights[indices]
        if indices.size < len(y_res):
            weights_res[indices.size :] = _cell_mean_weights(
                weights, y, frame, y_res[indices.size :], groups_res, indices.size
            )
        return weights_res

    def _unrouted(self, own):
        """Where the metadata goes with routing disabled (the documented default)."""
        sampler, estimator = {}, {}
        groups = own["sensitive_features"]
        if groups is not None and accepts(
            self.sampler, "fit_resample", "sensitive_features"
        ):
            sampler["sensitive_features"] = groups
        if own["sample_weight"] is not None:
            if not accepts(self.estimator, "fit", "sample_weight"):
                raise ValueError(
                    f"estimator {type(self.estimator).__name__} does not accept "
                    "sample_weight in fit: drop sample_weight or use an estimator "
                    "that accepts it."
                )
            estimator["sample_weight"] = own["sample_weight"]
        if accepts(self.estimator, "fit", "sensitive_features"):
            estimator["sensitive_features"] = groups
        return {"sampler": sampler, "estimator": estimator}

    def _follow_rows(self, params, y, n_resampled, weights_res, groups_res):
        """Map the estimator's metadata of the input rows to the resampled rows."""
        out = {name: value for name, value in params.items() if name == "sample_weight"}
        if "sample_weight" in out:
            out["sample_weight"] = weights_res
        if "sensitive_features" in params and groups_res is not None:
            out["sensitive_features"] = groups_res
        others = {
            name: value
            for name, value in params.items()
            if name not in ("sample_weight", "sensitive_features")
        }
        if others:
            indices = self._source_rows(list(others), n_resampled)
            out.update(_check_method_params(y, others, indices=indices))
        return out

    def _source_rows(self, names, n_resampled):
        indices = getattr(self.sampler_, "sample_indices_", None)
        if indices is None or indices.size < n_resampled:
            reason = "has no sample_indices_" if indices is None else "adds rows"
            raise ValueError(
                f"{type(self).__name__} cannot route {names} to the estimator: "
                f"sampler {type(self.sampler_).__name__} {reason}, so they cannot "
                "follow the resampled rows. Use a sampler that only selects rows "
                "(e.g. GroupBalancedSampler), or do not request them."
            )
        return indices

    def _record(self, y, frame, weights, y_res, groups_res, weights_res):
        labels = _labels_or_single(frame, len(y))
        labels_res = _labels_or_single(groups_res, len(y_res))
        groups = np.unique(np.concatenate([labels, labels_res]))
        before = _codes(labels, y, groups, self.classes_)
        after = _codes(labels_res, y_res, groups, self.classes_)
        self._record_priors(groups, (*before, weights), (*after, weights_res))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator).input_tags
        tags.input_tags.allow_nan = inner.allow_nan
        tags.input_tags.sparse = inner.sparse
        return tags


def _labels_or_single(frame, n_samples):
    if frame is None:
        return np.full(n_samples, SINGLE_GROUP, dtype=object)
    return SensitiveGroups.from_frame(frame).labels


def _codes(labels, y, groups, classes):
    return encode_labels(labels, groups), encode_labels(y, classes)


def _cell_mean_weights(weights, y, frame, y_new, groups_res, offset):
    """Weight of synthetic rows: mean weight of the original rows of their cell."""
    labels = _labels_or_single(frame, len(y))
    labels_new = _labels_or_single(groups_res, offset + len(y_new))[offset:]
    table = pd.Series(weights).groupby([labels, np.asarray(y)]).mean()
    keys = pd.MultiIndex.from_arrays([labels_new, np.asarray(y_new)])
    return table.reindex(keys).to_numpy()
