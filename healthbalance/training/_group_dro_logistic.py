"""Worst-group (Group DRO) logistic regression, solved exactly."""

from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from healthbalance._compat import Interval, LinearClassifierMixin, _fit_context
from healthbalance._prior import record_intercept_shift
from healthbalance.training._dro_solver import GroupDROProblem, solve_group_dro
from healthbalance.training._groups import check_groups_have_both_classes, fit_groups
from healthbalance.utils._warnings import warn

__all__ = ["GroupDROLogisticRegression"]


class GroupDROLogisticRegression(LinearClassifierMixin, BaseEstimator):
    """Binary logistic regression minimising the worst group's loss, exactly.

    Solves, over the coefficients ``w`` and the intercept ``b``::

        min  max_g [ mean log-loss over group g + group_adjustment / sqrt(n_g) ]
             + ||w||^2 / (2 * C * n_samples)

    (Group DRO, Sagawa et al. 2020). With a single group this is the objective of
    :class:`~sklearn.linear_model.LogisticRegression` with the same ``C`` divided
    by ``C * n_samples``, so both give the same coefficients. The problem is convex
    and is solved deterministically to optimality by a sequential quadratic
    programming method on its epigraph form (Newton steps with exact Hessians, the
    group weights are the Lagrange multipliers), not by stochastic gradients.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength, as in ``LogisticRegression``.
    group_adjustment : float, default=0.0
        Generalisation adjustment: ``group_adjustment / sqrt(n_g)`` is added to the
        loss of each group, favouring small groups (Sagawa et al. 2020, Sec. 3.3).
    by_class : bool, default=False
        If True, the groups are the cells group x class.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    prior_correction : bool, default=True
        The optimal group weights change more than the class prior, so no
        class-prior ratio undoes them. If True (and ``fit_intercept``) the
        intercept is refitted on the training rows: the maximum-likelihood shift
        ``a`` of ``logit P = a + logit(p)`` (see :mod:`healthbalance._prior`), so
        that ``predict_proba`` is calibrated in the large on the training
        population (mean predicted risk = observed prevalence);
        ``intercept_shift_`` holds ``a``. If False the raw minimax solution is
        kept.
    tol : float, default=1e-6
        Stop when the predicted decrease of the objective is below
        ``tol * max(1, objective)``; near the optimum this bounds the relative
        optimality gap.
    max_iter : int, default=100
        Maximum number of iterations (each is one pass for the Hessian and a few
        for the line search).
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups (they stay in ``X`` and are
        used as features, so they must be numeric), instead of
        ``sensitive_features``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels.
    coef_ : ndarray of shape (1, n_features)
        Coefficients.
    intercept_ : ndarray of shape (1,)
        Intercept, including ``intercept_shift_``.
    intercept_shift_ : float
        Refitted intercept shift added to the minimax intercept (0 without
        correction); equals ``prior_shift_overall_[1] - prior_shift_overall_[0]``.
    groups_ : ndarray of shape (n_groups,)
        Group labels (``"group | y=class"`` cells with ``by_class=True``).
    group_weights_ : ndarray of shape (n_groups,)
        Optimal adversarial weights of the groups (on the simplex): the groups
        with positive weight have the worst loss at the optimum.
    group_losses_ : ndarray of shape (n_groups,)
        Mean training log-loss of each group at the minimax solution (without the
        adjustment).
    objective_ : float
        Optimal value of the objective above.
    prior_correction_ : {"none", "global"}
        ``"global"`` when the intercept was refitted, ``"none"`` otherwise.
    prior_method_ : "intercept"
        Mechanism of the correction (see :mod:`healthbalance._prior`).
    class_prior_before_ : DataFrame of shape (n_groups, 2)
        Observed class prior of each group (of ``sensitive_features``).
    class_prior_after_ : DataFrame of shape (n_groups, 2)
        Mean predicted probabilities of each group's rows before the refit.
    prior_before_, prior_after_ : ndarray of shape (2,)
        The same over all training rows.
    prior_shift_ : DataFrame of shape (n_groups, 2)
        Log-multiplier of each class's probability (the same for every group).
    prior_shift_overall_ : ndarray of shape (2,)
        The refitted shift ``[0, intercept_shift_]``.
    n_iter_ : int
        Number of iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    Notes
    -----
    Each iteration costs one pass for the per-group losses and gradients, one
    ``O(n_samples * n_features^2)`` pass for the Hessian and a few passes for the
    line search, with ``O(n_features^2)`` memory: the solver is meant for the tens
    to a few hundred features of clinical tabular data. It typically converges in
    5-15 iterations; sample weights are not supported.

    See Also
    --------
    GroupDROClassifier : Group DRO around any estimator taking sample weights.
    sklearn.linear_model.LogisticRegression : The single-group problem.

    References
    ----------
    .. [1] S. Sagawa, P. W. Koh, T. B. Hashimoto, P. Liang. "Distributionally
       Robust Neural Networks for Group Shifts". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.training import GroupDROLogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [1.5], [2.5], [3.5]])
    >>> y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    >>> groups = ["a", "a", "a", "a", "b", "b", "b", "b"]
    >>> model = GroupDROLogisticRegression().fit(X, y, sensitive_features=groups)
    >>> model.group_weights_.round(2)
    array([0., 1.])
    >>> model.predict([[3.0]])
    array([1])
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "group_adjustment": [Interval(Real, 0, None, closed="left")],
        "by_class": ["boolean"],
        "fit_intercept": ["boolean"],
        "prior_correction": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "sensitive_columns": [str, list, None],
    }

    def __init__(
        self,
        *,
        C=1.0,
        group_adjustment=0.0,
        by_class=False,
        fit_intercept=True,
        prior_correction=True,
        tol=1e-6,
        max_iter=100,
        sensitive_columns=None,
    ):
        self.C = C
        self.group_adjustment = group_adjustment
        self.by_class = by_class
        self.fit_intercept = fit_intercept
        self.prior_correction = prior_correction
        self.tol = tol
        self.max_iter = max_iter
        self.sensitive_columns = sensitive_columns

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None):
        """Fit the worst-group logistic regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Binary targets.
        sensitive_features : array-like of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Group of each row. Without groups (and no ``sensitive_columns``) all
            rows form one group, with a ``NoSensitiveFeaturesWarning``.

        Returns
        -------
        self : GroupDROLogisticRegression
            The fitted estimator.
        """
        groups = fit_groups(self, X, sensitive_features)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported. The type of the target is "
                f"{y_type}. Use GroupDROClassifier for more than two classes."
            )
        self.classes_ = np.unique(y)
        check_groups_have_both_classes(groups, y, type(self).__name__)
        y01 = (y == self.classes_[-1]).astype(np.float64)
        codes, self.groups_ = self._units(groups, y01)
        self._solve(X, y01, codes)
        self._correct_intercept(X, y01, groups)
        return self

    def _correct_intercept(self, X, y01, groups):
        risk = expit(X @ self.coef_[0] + self.intercept_[0])
        shift = record_intercept_shift(
            self,
            np.c_[1 - risk, risk],
            y01.astype(np.intp),
            groups,
            enabled=self.prior_correction and self.fit_intercept,
        )
        self.intercept_shift_ = float(shift[1] - shift[0])
        self.intercept_ = self.intercept_ + self.intercept_shift_

    def _units(self, groups, y01):
        """Codes and labels of the DRO units: the groups, or the cells by_class."""
        if not self.by_class:
            return groups.codes, groups.groups
        cells = groups.cells(y01.astype(np.intp), 2)
        present, codes = np.unique(cells, return_inverse=True)
        labels = [
            f"{groups.groups[k // 2]} | y={self.classes_[k % 2]}" for k in present
        ]
        return codes.astype(np.intp), np.asarray(labels, dtype=object)

    def _solve(self, X, y01, codes):
        sizes = np.bincount(codes)
        offsets = self.group_adjustment / np.sqrt(sizes)
        alpha = 1.0 / (self.C * X.shape[0])
        problem = GroupDROProblem(X, y01, codes, offsets, alpha, self.fit_intercept)
        theta, q, losses, self.n_iter_, converged = solve_group_dro(
            problem, tol=self.tol, max_iter=self.max_iter
        )
        if not converged:
            warn(
                f"GroupDROLogisticRegression did not converge in max_iter="
                f"{self.max_iter} iterations; increase max_iter or tol.",
                ConvergenceWarning,
            )
        self.objective_ = float(losses.max() + problem.regulariser(theta))
        self.group_weights_ = q
        self.group_losses_ = losses - offsets
        self.coef_ = theta[None, : X.shape[1]]
        self.intercept_ = np.array([theta[-1] if self.fit_intercept else 0.0])

    def predict_proba(self, X):
        """Return the probabilities of both classes.

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
        return super()._predict_proba_lr(X)

    def predict_log_proba(self, X):
        """Return the log-probabilities of both classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, 2)
            Log-probabilities of ``classes_``.
        """
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
