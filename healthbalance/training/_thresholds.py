"""Per-group decision thresholds chosen on held-out predictions."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_predict
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from healthbalance._compat import HasMethods, Interval, StrOptions, _fit_context
from healthbalance._groups import encode_labels
from healthbalance._prior import UNSEEN_GROUP_OPTIONS, check_unseen_groups
from healthbalance._small_counts import count_text
from healthbalance.training._groups import check_groups_have_both_classes, fit_groups
from healthbalance.training._meta import finite_rule, make_cv
from healthbalance.training._operating_points import (
    UnreachableTargetWarning,
    choose_threshold,
    events_needed,
    operating_point,
)
from healthbalance.training._routing import fit_router, route_fit
from healthbalance.utils._warnings import warn

__all__ = ["GroupThresholdClassifier"]


class GroupThresholdClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Binary classifier with one decision threshold per group.

    Scores of the positive class are obtained on held-out rows (out-of-fold
    predictions with ``cv`` folds, or the rows passed to ``fit`` for a
    ``"prefit"`` estimator, which is wrapped in
    :class:`~sklearn.frozen.FrozenEstimator` and never refitted). For each group
    the threshold meeting ``objective`` at ``target`` is chosen, e.g. every group
    reaches a sensitivity of at least 80% at its best specificity (an operating
    point per group, Pfohl et al. 2022). With ``confidence``, the target must be
    reached by the one-sided exact binomial (Clopper-Pearson) lower bound of the
    rate, not by the rate itself, so that it holds on new patients with that
    confidence. ``predict`` needs the groups; a group not seen in ``fit`` follows
    ``unseen_group``: by default it gets the global threshold (chosen on all rows)
    with an :class:`~healthbalance.UnseenGroupWarning` naming it. ``predict_proba``
    is the estimator's, unchanged: the thresholds move decisions, not probabilities.

    Parameters
    ----------
    estimator : classifier
        Binary classifier with ``predict_proba`` or ``decision_function``.
        Cloned, unless ``cv="prefit"``.
    objective : {"sensitivity", "specificity", "equal_fnr"}, default="sensitivity"
        ``"sensitivity"``: each group's sensitivity >= ``target`` at the best
        specificity; ``"specificity"``: each group's specificity >= ``target`` at
        the best sensitivity; ``"equal_fnr"``: each group's sensitivity as close
        as possible to ``target`` (equal false-negative rates ``1 - target``).
    target : float, default=0.8
        Target rate.
    confidence : float in (0, 1) or None, default=None
        If None, each group's held-out rate reaches ``target`` on the rows of
        ``fit``, which on new patients holds only about half of the time (the
        rate is estimated on few events). With a level such as 0.9, each
        group's threshold is the highest (``"specificity"``: lowest) at which
        the one-sided Clopper-Pearson lower bound of its held-out sensitivity
        (``"specificity"``: specificity) reaches ``target``; the target then
        holds on new patients in at least that share of groups. Under
        ``"equal_fnr"`` every group's sensitivity bound reaches ``target``,
        which is the choice of ``"sensitivity"``. The price: a higher confidence
        or a smaller group gives a lower threshold (higher for
        ``"specificity"``), so more false positives (negatives). The bound is
        computed on the out-of-fold models' scores, while ``predict`` uses the
        model refitted on all rows, whose scores are usually a little better;
        with ``"prefit"`` both are the same model. A group too small for any
        threshold to reach the target (with no event missed the bound is
        ``(1 - confidence) ** (1 / n_events)``) gets an
        :class:`UnreachableTargetWarning` naming it and the highest threshold
        that flags every one of its held-out events (``"specificity"``: the
        lowest that flags none of its non-events), the largest bound its data
        allow; ``operating_points_`` marks it ``reached=False``.
    cv : int, cross-validation generator, iterable or "prefit", default=5
        Folds for the held-out scores; ``"prefit"`` if ``estimator`` is fitted
        and the rows passed to ``fit`` are held out from its training.
    n_jobs : int or None, default=None
        Jobs for the independent fold fits; the result does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds of an int ``cv``.
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups, instead of
        ``sensitive_features``.
    unseen_group : {"overall", "error"}, default="overall"
        Rows of a group not seen in ``fit`` get the global threshold, with one
        :class:`~healthbalance.UnseenGroupWarning` per call naming the groups
        (``"overall"``), or make ``predict`` raise a ``ValueError`` naming them
        (``"error"``).

    Attributes
    ----------
    estimator_ : classifier
        The model fitted on all rows (a ``FrozenEstimator`` for ``"prefit"``).
    classes_ : ndarray of shape (2,)
        Class labels; the second is the positive class.
    groups_ : ndarray of shape (n_groups,)
        Group labels.
    thresholds_ : pandas.Series
        Threshold of each group, indexed by group.
    operating_points_ : pandas.DataFrame
        One row per group: ``threshold``; ``rate``, the held-out sensitivity
        (``"specificity"``: specificity) at it; ``lower_bound``, its one-sided
        lower bound at ``confidence`` (NaN without); ``reached``, whether the
        bound (without ``confidence``, the rate) reaches ``target``.
    threshold_ : float
        Global threshold, used for unseen groups.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : One threshold for all.

    References
    ----------
    .. [1] S. R. Pfohl, H. Zhang, Y. Xu, A. Foryciarz, M. Ghassemi, N. H. Shah.
       "A comparison of approaches to improve worst-case predictive model
       performance over patient subpopulations". Scientific Reports 12, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import GroupThresholdClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> groups = np.where(X[:, 1] > 0, "a", "b")
    >>> model = GroupThresholdClassifier(LogisticRegression(), target=0.9, cv=3)
    >>> model = model.fit(X, y, sensitive_features=groups)
    >>> model.thresholds_.index.tolist()
    ['a', 'b']
    >>> sure = GroupThresholdClassifier(LogisticRegression(), confidence=0.9, cv=3)
    >>> sure = sure.fit(X, y, sensitive_features=groups)
    >>> bool((sure.operating_points_["lower_bound"] >= 0.8).all())
    True
    >>> model.predict(X[:2], sensitive_features=groups[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
        ],
        "objective": [StrOptions({"sensitivity", "specificity", "equal_fnr"})],
        "target": [Interval(Real, 0, 1, closed="both")],
        "confidence": [Interval(Real, 0, 1, closed="neither"), None],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "sensitive_columns": [str, list, None],
        "unseen_group": UNSEEN_GROUP_OPTIONS,
    }

    def __init__(
        self,
        estimator,
        *,
        objective="sensitivity",
        target=0.8,
        confidence=None,
        cv=5,
        n_jobs=None,
        random_state=None,
        sensitive_columns=None,
        unseen_group="overall",
    ):
        self.estimator = estimator
        self.objective = objective
        self.target = target
        self.confidence = confidence
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.sensitive_columns = sensitive_columns
        self.unseen_group = unseen_group

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Score held-out rows and choose the threshold of every group.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, or held-out rows for ``cv="prefit"``.
        y : array-like of shape (n_samples,)
            Binary targets.
        sensitive_features : array-like of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Group of each row.

        **fit_params : dict
            Other metadata (e.g. ``sample_weight``), routed to the estimator's
            fits (the out-of-fold fits and the final one) as it requests it. Only
            with metadata routing enabled; not used with ``cv="prefit"``.

        Returns
        -------
        self : GroupThresholdClassifier
            The fitted estimator.
        """
        routed = route_fit(
            self,
            {"sensitive_features": sensitive_features},
            fit_params,
            estimator="fit",
        )
        params = routed["estimator"]
        # X first: a NaN the estimator refuses is reported as such, not as a group
        _, y = validate_data(
            self,
            X,
            y,
            accept_sparse=("csr", "csc", "coo"),  # other formats cannot be checked
            dtype=None,
            ensure_all_finite=finite_rule(self),
        )
        groups = fit_groups(self, X, sensitive_features)
        y01 = self._binary_target(y)
        check_groups_have_both_classes(groups, y, type(self).__name__)
        codes, self.groups_ = groups.codes, groups.groups
        scores = self._held_out_scores(X, y, params)
        self.threshold_ = choose_threshold(
            y01, scores, self.objective, self.target, self.confidence
        )
        points = [
            operating_point(
                y01[m], scores[m], self.objective, self.target, self.confidence
            )
            for m in (codes == g for g in range(self.groups_.size))
        ]
        self.operating_points_ = pd.DataFrame(points, index=self.groups_)
        self.thresholds_ = self.operating_points_["threshold"]
        self._warn_unreached(y01, codes)
        return self

    def _warn_unreached(self, y01, codes):
        if self.confidence is None:
            return
        rows = "non-events" if self.objective == "specificity" else "events"
        rate = "specificity" if self.objective == "specificity" else "sensitivity"
        needed = events_needed(self.target, self.confidence)
        need = f"at least {needed} {rows}" if needed else f"more {rows} than any"
        rare = y01 == 0 if rows == "non-events" else y01 == 1
        n_rare = np.bincount(codes, weights=rare, minlength=self.groups_.size)
        unreached = ~self.operating_points_["reached"].to_numpy()
        for g in np.flatnonzero(unreached):
            point = self.operating_points_.iloc[g]
            warn(
                f"GroupThresholdClassifier: group {self.groups_[g]!r} has too few "
                f"held-out {rows} for the {self.confidence:.0%} lower bound of its "
                f"{rate} to reach {self.target:g} (that takes {need}, none "
                f"{'flagged' if rows == 'non-events' else 'missed'}); using the "
                f"threshold with the largest bound, {point.threshold:.4g}, where "
                f"{_bound_text(point.lower_bound, n_rare[g], rows)}. Lower the "
                "target or the confidence, or merge the group with another.",
                UnreachableTargetWarning,
            )

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes metadata to the fits of the estimator; see
        scikit-learn's metadata routing user guide.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return fit_router(self, estimator=(self.estimator, "fit"))

    def _binary_target(self, y):
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if type_of_target(y) != "binary" or self.classes_.size != 2:
            raise ValueError(
                "Only binary classification is supported. The type of the target "
                f"is {type_of_target(y)} with {self.classes_.size} class(es): "
                "GroupThresholdClassifier needs one class of each kind (1 class "
                "cannot be thresholded)."
            )
        return (y == self.classes_[1]).astype(int)

    def _held_out_scores(self, X, y, params):
        method = "predict_proba"
        if not hasattr(self.estimator, "predict_proba"):
            method = "decision_function"
        if self.cv == "prefit":
            self.estimator_ = FrozenEstimator(self.estimator)
            return self._positive_scores(getattr(self.estimator_, method)(X))
        cv = make_cv(self.cv, y, self.random_state)
        scores = cross_val_predict(
            clone(self.estimator),
            X,
            y,
            cv=cv,
            n_jobs=self.n_jobs,
            method=method,
            params=params or None,
        )
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        return self._positive_scores(scores)

    @staticmethod
    def _positive_scores(scores):
        scores = np.asarray(scores)
        return scores[:, 1] if scores.ndim == 2 else scores

    def _scores(self, X):
        if hasattr(self.estimator_, "predict_proba"):
            return self._positive_scores(self.estimator_.predict_proba(X))
        return self._positive_scores(self.estimator_.decision_function(X))

    def predict(self, X, *, sensitive_features=None):
        """Predict with the threshold of each row's group.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        sensitive_features : array-like of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Group of each row (or set ``sensitive_columns``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted classes.
        """
        check_is_fitted(self)
        scores = self._scores(X)  # X first: the estimator refuses what it cannot use
        groups = fit_groups(self, X, sensitive_features)
        thresholds = self._row_thresholds(groups.labels)
        return self.classes_[(scores >= thresholds).astype(int)]

    def _row_thresholds(self, labels):
        codes = encode_labels(labels, self.groups_)
        unseen = check_unseen_groups(
            codes,
            labels,
            self.unseen_group,
            caller=type(self).__name__,
            fallback=f"the global threshold {self.threshold_:.4g}",
        )
        thresholds = self.thresholds_.to_numpy(dtype=float)[np.maximum(codes, 0)]
        thresholds[unseen] = self.threshold_
        return thresholds

    def predict_proba(self, X):
        """Return the probabilities of the wrapped estimator, unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Probabilities of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        inner = clone(self.estimator).__sklearn_tags__()
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags


def _bound_text(bound, n_rare, rows):
    """Write the bound reached, unless it reveals a small count.

    With every event flagged the bound is ``(1 - confidence) ** (1 / n_events)``,
    so it gives the number of events away.
    """
    if count_text(n_rare) == str(int(n_rare)):
        return f"it is {bound:.3f}"
    return (
        "it is below the target (its value would give away a count of "
        f"{count_text(n_rare)} {rows})"
    )
