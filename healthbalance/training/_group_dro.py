"""Model-agnostic Group DRO: exponentiated-gradient group weights, refits."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from healthbalance._compat import (
    HasMethods,
    Interval,
    _check_method_params,
    _fit_context,
    _safe_indexing,
)
from healthbalance._groups import cell_codes
from healthbalance._prior import apply_prior_shift, record_intercept_shift
from healthbalance.training._groups import check_groups_have_both_classes, fit_groups
from healthbalance.training._meta import (
    check_binary_or_more,
    check_sample_weight_support,
    finite_rule,
    full_proba,
)
from healthbalance.training._routing import fit_router, refuse_sample_weight, route_fit

__all__ = ["GroupDROClassifier"]

_EPS = 1e-15


class GroupDROClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Group DRO around any classifier that accepts sample weights.

    The training rows are split once into a fitting part and a validation part,
    stratified by group (and class when possible). Each round fits a clone of
    ``estimator`` on the fitting part with per-row weights ``q_g * n / n_g``
    (group ``g`` weighs ``q_g`` in total), measures every group's log-loss on the
    validation part and moves the group weights by exponentiated gradient ascent,
    ``q_g <- q_g * exp(step_size * loss_g)`` renormalised (Sagawa et al. 2020,
    Algorithm 1, with whole refits instead of stochastic steps). The first round
    uses the empirical group shares, i.e. plain empirical risk minimisation, so
    the selected round is never worse on the validation worst group than the
    unweighted model. The round with the smallest validation worst-group loss is
    kept.

    Rounds depend on each other, so they run one after the other (no ``n_jobs``);
    parallelise inside ``estimator`` instead.

    Parameters
    ----------
    estimator : classifier
        Model with ``predict_proba`` whose ``fit`` accepts ``sample_weight``.
        Cloned.
    n_rounds : int, default=10
        Number of rounds (refits), including the unweighted first round.
    step_size : float, default=1.0
        Step of the exponentiated-gradient update, per unit of log-loss.
    validation_fraction : float, default=0.2
        Share of the rows held out to measure the group losses.
    refit : bool, default=True
        If True the selected group weights are used to refit ``estimator`` on
        all rows (recommended: small groups need every row). If False the model
        of the selected round, fitted on the fitting part only, is kept.
    prior_correction : bool, default=True
        Group weights change the risks the model learns, and no class-prior ratio undoes
        it. If True the intercept is refitted on the training rows (the maximum-
        likelihood shift ``a`` of ``logit P = a + logit(p)``, see
        :mod:`healthbalance._prior`), so that ``predict_proba`` is calibrated in the
        large on the training population (mean predicted risk = observed prevalence);
        ``predict`` is its arg-max.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split.
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups, instead of
        ``sensitive_features``.

    Attributes
    ----------
    estimator_ : classifier
        The selected model.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    groups_ : ndarray of shape (n_groups,)
        Group labels.
    group_weights_ : ndarray of shape (n_groups,)
        Group weights (on the simplex) of the selected round.
    validation_losses_ : ndarray of shape (n_rounds, n_groups)
        Validation log-loss of every group in every round.
    best_round_ : int
        Index of the selected round.
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
    GroupDROLogisticRegression : Exact Group DRO for logistic regression.
    JTTClassifier : Upweighting without group labels.

    References
    ----------
    .. [1] S. Sagawa, P. W. Koh, T. B. Hashimoto, P. Liang. "Distributionally
       Robust Neural Networks for Group Shifts". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import GroupDROClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> groups = np.where(rng.random(200) < 0.2, "small", "large")
    >>> y = (X[:, 0] * np.where(groups == "small", -1, 1) > 0).astype(int)
    >>> dro = GroupDROClassifier(LogisticRegression(), n_rounds=5, random_state=0)
    >>> dro.fit(X, y, sensitive_features=groups).validation_losses_.shape
    (5, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "refit": ["boolean"],
        "prior_correction": ["boolean"],
        "random_state": ["random_state"],
        "sensitive_columns": [str, list, None],
    }

    def __init__(
        self,
        estimator,
        *,
        n_rounds=10,
        step_size=1.0,
        validation_fraction=0.2,
        refit=True,
        prior_correction=True,
        random_state=None,
        sensitive_columns=None,
    ):
        self.estimator = estimator
        self.n_rounds = n_rounds
        self.step_size = step_size
        self.validation_fraction = validation_fraction
        self.refit = refit
        self.prior_correction = prior_correction
        self.random_state = random_state
        self.sensitive_columns = sensitive_columns

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Run the Group DRO rounds and keep the best one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sensitive_features : array-like of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Group of each row. Without groups (and no ``sensitive_columns``) all
            rows form one group, with a ``NoSensitiveFeaturesWarning``.
        **fit_params : dict
            Other metadata, routed to every fit of the estimator as it requests it
            (row-aligned values follow the rows of each fit). Only with metadata
            routing enabled; ``sample_weight`` is refused (the group weights are
            the estimator's sample weights).

        Returns
        -------
        self : GroupDROClassifier
            The fitted estimator.
        """
        refuse_sample_weight(self, fit_params)
        routed = route_fit(
            self,
            {"sensitive_features": sensitive_features},
            fit_params,
            estimator="fit",
        )
        params = routed["estimator"]
        check_sample_weight_support(self.estimator, type(self).__name__)
        # X first: a NaN the estimator refuses is reported as such, not as a group
        X_checked, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=None,
            ensure_all_finite=finite_rule(self),
        )
        groups = fit_groups(self, X, sensitive_features)
        # Data frames go to the estimator as they are (column names, dtypes).
        X = X if hasattr(X, "iloc") or hasattr(X, "to_pandas") else X_checked
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        check_binary_or_more(self.classes_, type(self).__name__)
        check_groups_have_both_classes(groups, y, type(self).__name__)
        codes, self.groups_ = groups.codes, groups.groups
        fit_rows, val_rows = self._split(codes, y_codes)
        q = self._run_rounds(X, y, y_codes, codes, fit_rows, val_rows, params)
        rows = np.arange(len(y)) if self.refit else fit_rows
        weights = self._row_weights(q, codes[rows])
        if self.refit:
            self.estimator_ = self._fit_one(X, y, rows, weights, params)
        proba = self._estimator_proba(_safe_indexing(X, rows))
        record_intercept_shift(self, proba, y_codes[rows], groups.take(rows))
        return self

    def _split(self, codes, y_codes):
        # fit has checked that every group holds both classes, so 2 rows or more.
        cells = cell_codes(codes, y_codes, len(self.classes_))
        rows = np.arange(codes.size)
        for strata in (cells, codes):
            try:
                return train_test_split(
                    rows,
                    test_size=self.validation_fraction,
                    stratify=strata,
                    random_state=self.random_state,
                )
            except ValueError:  # a stratum too small for the requested split
                continue
        return train_test_split(
            rows, test_size=self.validation_fraction, random_state=self.random_state
        )

    def _run_rounds(self, X, y, y_codes, codes, fit_rows, val_rows, params):
        n_groups = self.groups_.size
        q = np.bincount(codes, minlength=n_groups) / codes.size
        self.validation_losses_ = np.empty((self.n_rounds, n_groups))
        best_loss, best = np.inf, (q, None)
        for round_ in range(self.n_rounds):
            weights = self._row_weights(q, codes[fit_rows])
            model = self._fit_one(X, y, fit_rows, weights, params)
            losses = self._group_losses(model, X, y_codes, codes, val_rows)
            self.validation_losses_[round_] = losses
            if losses.max() < best_loss:
                best_loss, best, self.best_round_ = losses.max(), (q, model), round_
            q = q * np.exp(self.step_size * (losses - losses.max()))
            q /= q.sum()
        q, self.estimator_ = best
        self.group_weights_ = q
        return q

    @staticmethod
    def _row_weights(q, codes):
        sizes = np.bincount(codes, minlength=q.size)
        return (q / np.maximum(sizes, 1))[codes] * codes.size

    def _fit_one(self, X, y, rows, weights, params):
        model = clone(self.estimator)
        params = _check_method_params(y, params, indices=rows)
        return model.fit(
            _safe_indexing(X, rows), y[rows], sample_weight=weights, **params
        )

    def _group_losses(self, model, X, y_codes, codes, rows):
        full = full_proba(model, _safe_indexing(X, rows), self.classes_)
        picked = full[np.arange(rows.size), y_codes[rows]]
        loss = -np.log(np.clip(picked, _EPS, 1.0))
        n_groups = self.groups_.size
        sums = np.bincount(codes[rows], weights=loss, minlength=n_groups)
        return sums / np.maximum(np.bincount(codes[rows], minlength=n_groups), 1)

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes metadata (other than ``sample_weight``) to every fit of the
        estimator; see scikit-learn's metadata routing user guide.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return fit_router(self, estimator=(self.estimator, "fit"))

    def predict_proba(self, X):
        """Return prior-corrected class probabilities of the selected model.

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

    def predict(self, X):
        """Predict the classes of largest corrected probability.

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
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = clone(self.estimator).__sklearn_tags__()
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags
