"""GroupReweighter: the group weights as an estimator that keeps its cell table."""

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from healthbalance._compat import Interval, StrOptions, _fit_context
from healthbalance._groups import SensitiveGroups, encode_classes, encode_labels
from healthbalance._prior import UNSEEN_GROUP_OPTIONS, check_unseen_groups
from healthbalance.weighting._group_weights import (
    STRATEGIES,
    UNITS,
    cell_weight_table,
)

__all__ = ["GroupReweighter"]


class GroupReweighter(BaseEstimator):
    """Learn one weight per (group x class) cell and give it to rows.

    ``fit`` counts the cells of the training data and stores their weights in
    ``weights_``; :meth:`compute_sample_weight` then gives every row the weight of its
    cell, for ``estimator.fit(X, y, sample_weight=...)``. On the fitting data the
    weights are positive with mean 1 and equal :func:`compute_group_weights`.

    Parameters
    ----------
    strategy : {"reweighing", "inverse_frequency", "effective_number"}, \
            default="reweighing"
        See :func:`compute_group_weights`.
    over : {"classes", "groups", "cells"}, default="cells"
        Unit counted by ``"inverse_frequency"`` and ``"effective_number"``.
    beta : float in [0, 1), default=0.999
        Parameter of ``"effective_number"``.
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups, instead of passing
        ``sensitive_features``.
    unseen_group : {"overall", "error"}, default="overall"
        In :meth:`compute_sample_weight`, rows of a group not seen in ``fit`` get
        the overall weight of their class (the mean weight of the class's training
        rows), with one :class:`~healthbalance.UnseenGroupWarning` per call naming
        the groups (``"overall"``), or make it raise a ``ValueError`` naming them
        (``"error"``).

    Attributes
    ----------
    weights_ : DataFrame of shape (n_groups, n_classes)
        Weight of each cell, groups in the index and classes in the columns; ``nan``
        for a cell without training rows.
    cell_counts_ : DataFrame of shape (n_groups, n_classes)
        Training rows per cell.
    groups_ : ndarray of shape (n_groups,)
        Group labels.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.

    See Also
    --------
    compute_group_weights : The weights of one data set, in one call.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.weighting import GroupReweighter
    >>> X = np.zeros((6, 1))
    >>> y = [0, 0, 0, 1, 0, 1]
    >>> sex = ["F", "F", "F", "F", "M", "M"]
    >>> reweighter = GroupReweighter().fit(X, y, sensitive_features=sex)
    >>> reweighter.weights_.round(2)
          0     1
    F  0.89  1.33
    M  1.33  0.67
    >>> reweighter.compute_sample_weight(X, y, sensitive_features=sex).round(2)
    array([0.89, 0.89, 0.89, 1.33, 1.33, 0.67])
    """

    _parameter_constraints: dict = {
        "strategy": [StrOptions(set(STRATEGIES))],
        "over": [StrOptions(set(UNITS))],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "sensitive_columns": [str, list, None],
        "unseen_group": UNSEEN_GROUP_OPTIONS,
    }

    def __init__(
        self,
        *,
        strategy="reweighing",
        over="cells",
        beta=0.999,
        sensitive_columns=None,
        unseen_group="overall",
    ):
        self.strategy = strategy
        self.over = over
        self.beta = beta
        self.sensitive_columns = sensitive_columns
        self.unseen_group = unseen_group

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None):
        """Count the (group x class) cells and compute their weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; only used for ``sensitive_columns`` and its shape.
        y : array-like of shape (n_samples,)
            Class labels.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group of each row. Without it (and without ``sensitive_columns``) all
            rows form one group, with a ``NoSensitiveFeaturesWarning``.

        Returns
        -------
        self : object
            The fitted reweighter.
        """
        groups = SensitiveGroups.resolve(
            X, sensitive_features, self.sensitive_columns, caller="GroupReweighter"
        )
        _, y = validate_data(
            self,
            X,
            y,
            reset=True,
            dtype=None,
            ensure_all_finite=False,
            accept_sparse=True,
        )
        check_classification_targets(y)
        self.groups_ = groups.groups
        self.classes_, class_codes = encode_classes(y)
        counts = groups.cell_counts(class_codes, self.classes_.size)
        table = cell_weight_table(counts, self.strategy, self.over, self.beta)
        self.cell_counts_ = pd.DataFrame(
            counts, index=self.groups_, columns=self.classes_
        )
        self.weights_ = pd.DataFrame(table, index=self.groups_, columns=self.classes_)
        return self

    def compute_sample_weight(self, X, y, *, sensitive_features=None):
        """Return the weight of each row's (group, class) cell.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; only used for ``sensitive_columns`` and its shape.
        y : array-like of shape (n_samples,)
            Class labels, all seen in ``fit``.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group of each row; a group unseen in ``fit`` follows ``unseen_group``.

        Returns
        -------
        sample_weight : ndarray of shape (n_samples,)
            Weight of each row.
        """
        check_is_fitted(self)
        groups = SensitiveGroups.resolve(
            X, sensitive_features, self.sensitive_columns, caller="GroupReweighter"
        )
        validate_data(
            self,
            X,
            reset=False,
            dtype=None,
            ensure_all_finite=False,
            accept_sparse=True,
        )
        y = column_or_1d(y)
        group_rows = encode_labels(groups.labels, self.groups_)
        unseen = check_unseen_groups(
            group_rows,
            groups.labels,
            self.unseen_group,
            caller=type(self).__name__,
            fallback="the overall weight of their class",
        )
        class_cols = _positions(y, self.classes_, "class")
        weights = self.weights_.to_numpy()[np.maximum(group_rows, 0), class_cols]
        weights[unseen] = self._class_weights()[class_cols[unseen]]
        if np.isnan(weights).any():
            raise ValueError(
                "some rows fall in a (group, class) cell without rows in fit, so it "
                "has no weight: fit on data covering every cell."
            )
        return weights

    def _class_weights(self):
        """Mean weight of the training rows of each class."""
        counts = self.cell_counts_.to_numpy(dtype=float)
        mass = np.nansum(self.weights_.to_numpy() * counts, axis=0)
        return mass / np.maximum(counts.sum(axis=0), 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags


def _positions(values, known, kind):
    values = np.asarray(values)
    positions = encode_labels(values, known)
    unseen = positions < 0
    if unseen.any():
        raise ValueError(
            f"{kind} {values[unseen].tolist()[0]!r} was not seen in fit (seen: "
            f"{known.tolist()!r}): refit on data that contains it."
        )
    return positions
