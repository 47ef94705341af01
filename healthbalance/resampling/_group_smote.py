"""SMOTE within each (group x class) cell, delegating to imbalanced-learn."""

from numbers import Integral

import numpy as np
from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

from healthbalance._compat import Interval, StrOptions
from healthbalance._groups import decode_cells
from healthbalance._small_counts import count_text
from healthbalance.resampling._base import BaseGroupSampler
from healthbalance.resampling._encoding import FeatureCodec
from healthbalance.utils._warnings import warn

__all__ = ["GroupSMOTE", "SmallCellWarning"]


class SmallCellWarning(UserWarning):
    """Warn that a cell has too few rows for ``k_neighbors``."""


class GroupSMOTE(BaseGroupSampler):
    """Synthetic over-sampling within each (group x class) cell.

    Every cell that must grow is over-sampled by imbalanced-learn's ``SMOTE`` (all
    numeric columns), ``SMOTENC`` (mixed) or ``SMOTEN`` (all categorical), run on that
    group's rows only: the neighbours of a synthetic row come from the same group and
    class. Categorical columns are encoded by healthbalance before the call (this
    works with pandas 3 string dtype), so synthetic categorical values are always
    values of the input. Original rows come first, unchanged; synthetic rows follow.

    Parameters
    ----------
    k_neighbors : int, default=5
        Number of neighbours used to make a synthetic row. A cell with ``m <=
        k_neighbors`` rows uses ``m - 1`` neighbours, with a ``SmallCellWarning``
        naming the cell. A cell of one row cannot be interpolated: its synthetic
        rows are copies of that row (random over-sampling), with a warning.
    categorical_features : "auto", None or array-like, default="auto"
        Nominal columns. ``"auto"``: string, category and bool columns, and object
        columns holding anything but numbers (digit strings such as ``"1"``,
        ``"2"`` are categories, never interpolated), of a DataFrame or of an
        object array; or column indices, names or a boolean
        mask; None: all columns are numeric. Numeric columns must have no missing
        value (impute first); a categorical missing value is a category of its own.
        Integer columns not listed as categorical are interpolated, then rounded.
    target : {"joint", "groups", "class_within_group"} or dict, \
            default="class_within_group"
        Size of each cell after over-sampling; see
        :class:`GroupBalancedSampler` (with ``method="over"``).
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups. They stay in ``X``; inside
        a group they are constant, so synthetic rows keep them.
    random_state : int, RandomState instance or None, default=None
        Seed of the synthetic rows.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_samples,)
        Index in the input of the first ``n_samples`` output rows (all input rows,
        in order). The rows after them are synthetic and have no source row.
    n_synthetic_ : int
        Number of synthetic rows (the last rows of the output).
    sensitive_features_ : DataFrame of shape (n_samples_new, n_attributes)
        Groups of the output rows, synthetic rows included (categorical columns).
    groups_ : ndarray of shape (n_groups,)
        Group labels.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    cell_counts_, cell_targets_ : ndarray of shape (n_groups, n_classes)
        Rows per cell before and after over-sampling.
    categorical_features_ : ndarray of shape (n_categorical,)
        Indices of the columns treated as nominal.
    sampling_strategy_ : dict
        Rows per class after over-sampling.
    n_features_in_ : int
        Number of features seen in ``fit_resample``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.

    See Also
    --------
    GroupBalancedSampler : Random over- or under-sampling of the same cells.
    imblearn.over_sampling.SMOTENC : SMOTE for mixed data, no groups.

    References
    ----------
    .. [1] N. V. Chawla, K. W. Bowyer, L. O. Hall and W. P. Kegelmeyer, "SMOTE:
       synthetic minority over-sampling technique", JAIR 16, 2002.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from healthbalance.resampling import GroupSMOTE
    >>> X = pd.DataFrame({"age": [50.0, 61, 70, 45, 80, 66, 59, 72, 48, 90],
    ...                   "admission": ["urgent", "elective"] * 5})
    >>> y = [0, 0, 0, 1, 1, 0, 1, 0, 0, 1]
    >>> sex = ["F"] * 5 + ["M"] * 5
    >>> smote = GroupSMOTE(k_neighbors=1, random_state=0)
    >>> X_res, y_res = smote.fit_resample(X, y, sensitive_features=sex)
    >>> len(X_res), smote.n_synthetic_
    (12, 2)
    >>> X_res.dtypes.equals(X.dtypes)
    True
    """

    _parameter_constraints: dict = {
        **BaseGroupSampler._parameter_constraints,
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "categorical_features": [StrOptions({"auto"}), "array-like", None],
    }

    _accept_sparse = ()

    def __init__(
        self,
        *,
        k_neighbors=5,
        categorical_features="auto",
        target="class_within_group",
        sensitive_columns=None,
        random_state=None,
    ):
        self.k_neighbors = k_neighbors
        self.categorical_features = categorical_features
        self.target = target
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state

    def _fit_resample(self, X, y, *, cells, targets, random_state):
        codec = FeatureCodec(X, self.categorical_features, type(self).__name__)
        self.categorical_features_ = codec.categorical_indices
        counts = np.bincount(cells, minlength=targets.size)
        growth = np.maximum(targets.ravel() - counts, 0)
        codec.start(X, int(growth.sum()))
        n_classes = self.classes_.size
        group_codes, _ = decode_cells(cells, n_classes)
        for cell in np.flatnonzero(growth):
            seed = random_state.randint(np.iinfo(np.int32).max)
            group = group_codes == decode_cells(cell, n_classes)[0]
            codec.add(
                self._smote_cell(codec, cells, group, cell, targets.flat[cell], seed)
            )
        cells_new = np.repeat(np.arange(targets.size, dtype=cells.dtype), growth)
        self.sample_indices_ = np.arange(len(y), dtype=np.intp)
        self.n_synthetic_ = int(growth.sum())
        y_new = self.classes_[decode_cells(cells_new, n_classes)[1]]
        y_new = y_new.astype(y.dtype, copy=False)
        X_res = codec.finish(X)
        return X_res, np.concatenate([y, y_new]), np.concatenate([cells, cells_new])

    def _smote_cell(self, codec, cells, group, cell, target, seed):
        """Return ``target - n`` synthetic rows (encoded) for one cell."""
        in_cell = cells == cell
        n_rows = int(in_cell.sum())
        k = min(self.k_neighbors, n_rows - 1)
        if k < self.k_neighbors:
            self._warn_small(cell, n_rows, k)
        if k == 0:
            row = codec.matrix[np.flatnonzero(in_cell)]
            return np.repeat(row, target - n_rows, axis=0)
        X_group = codec.matrix[group]
        y_group = in_cell[group].astype(np.int8)
        if y_group.min() == 1:
            # SMOTE needs two classes: the same rows stand in as the other class.
            X_group = np.concatenate([X_group, X_group])
            y_group = np.concatenate([y_group, np.zeros_like(y_group)])
        sampler = self._imblearn_sampler(codec, k, target, seed)
        X_out, _ = sampler.fit_resample(X_group, y_group)
        return X_out[len(X_group) :]

    def _imblearn_sampler(self, codec, k, target, seed):
        strategy = {1: int(target)}
        categorical = codec.categorical_indices
        if categorical.size == 0:
            return SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
        if categorical.size == codec.matrix.shape[1]:
            return SMOTEN(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
        return SMOTENC(
            categorical.tolist(),
            sampling_strategy=strategy,
            k_neighbors=k,
            random_state=seed,
        )

    def _warn_small(self, cell, n_rows, k):
        g, c = decode_cells(cell, self.classes_.size)
        name = f"(group {self.groups_[g]!r}, class {self.classes_.tolist()[c]!r})"
        rows = count_text(n_rows)
        if rows != str(n_rows):  # k = n_rows - 1 would reveal the masked count
            action = (
                f"uses fewer neighbours than k_neighbors={self.k_neighbors} (one "
                "less than its rows; a single row is copied instead)"
            )
        elif k:
            action = f"uses {k} neighbours instead of {self.k_neighbors}"
        else:
            action = "cannot be interpolated: its row is copied instead"
        warn(
            f"GroupSMOTE: cell {name} has {rows} rows, so it {action}. Merge small "
            "groups or lower k_neighbors.",
            SmallCellWarning,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags
