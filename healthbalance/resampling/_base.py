"""Shared machinery of the group-aware samplers: validation, groups and output.

:class:`BaseGroupSampler` follows imbalanced-learn's template: the public
``fit_resample`` validates ``X`` and ``y``, resolves the groups and the target cell
sizes, calls the private ``_fit_resample`` that does the work, then returns the rows in
the container the user passed (list, ndarray, sparse matrix or DataFrame, with the same
column names and dtypes).
"""

from abc import abstractmethod

import numpy as np
import pandas as pd
from imblearn.base import BaseSampler
from imblearn.utils import check_target_type
from sklearn.preprocessing import label_binarize
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, validate_data

from healthbalance._compat import StrOptions, _fit_context
from healthbalance._groups import SensitiveGroups, decode_cells, encode_classes
from healthbalance.resampling._targets import cell_targets, warn_if_few_rows_kept

__all__ = ["BaseGroupSampler"]


class BaseGroupSampler(BaseSampler):
    """Base class of the samplers that balance (group x class) cells.

    Subclasses implement ``_fit_resample(X, y, *, cells, targets, random_state)`` and
    return ``(X_resampled, y_resampled, cells_resampled)``.
    """

    _sampling_type = "bypass"

    # A group-aware sampler wants the groups: with metadata routing enabled it
    # requests sensitive_features by default (set_fit_resample_request to change).
    __metadata_request__fit_resample = {"sensitive_features": True}  # noqa: RUF012

    _parameter_constraints: dict = {
        "target": [StrOptions({"joint", "groups", "class_within_group"}), dict],
        "sensitive_columns": [str, list, None],
        "random_state": ["random_state"],
    }

    _accept_sparse = ("csr", "csc")
    _method = "over"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y, *, sensitive_features=None):
        """Resample the dataset so that the (group x class) cells reach the target.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data to resample.
        y : array-like of shape (n_samples,)
            Class labels.
        sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attr), \
                default=None
            Group of each row (several attributes form intersections). Without it
            (and without ``sensitive_columns``) all rows form one group and the
            sampler balances classes only, with a ``NoSensitiveFeaturesWarning``.

        Returns
        -------
        X_resampled : same container as X, of shape (n_samples_new, n_features)
            Resampled data.
        y_resampled : same container as y, of shape (n_samples_new,)
            Labels of the resampled rows.
        """
        check_classification_targets(y)
        groups = SensitiveGroups.resolve(
            X, sensitive_features, self.sensitive_columns, caller=type(self).__name__
        )
        X_checked, y_labels, binarize_y = self._check_X_y(X, y)
        self.groups_ = groups.groups
        self.classes_, class_codes = encode_classes(y_labels)
        if self.classes_.size < 2:
            raise ValueError(
                f"y has 1 class {self.classes_.tolist()!r}: the sampler needs at "
                "least 2 classes to balance."
            )
        self.cell_counts_ = groups.cell_counts(class_codes, self.classes_.size)
        targets = cell_targets(
            self.cell_counts_, self.target, self._method, self.groups_, self.classes_
        )
        warn_if_few_rows_kept(
            self.cell_counts_, targets, self.groups_, self.classes_, type(self).__name__
        )
        cells = groups.cells(class_codes, self.classes_.size)
        X_res, y_res, cells_res = self._fit_resample(
            X_checked,
            y_labels,
            cells=cells,
            targets=targets,
            random_state=check_random_state(self.random_state),
        )
        self._record_outcome(groups, targets, cells_res)
        return self._wrap_output(X, y, X_res, y_res, binarize_y)

    def fit(self, X, y, **params):
        """Check the inputs and compute the resampling, keeping only its statistics.

        Use :meth:`fit_resample` to get the resampled data. ``fit`` takes the same
        keyword arguments but declares none, so that metadata routing (e.g. in an
        imbalanced-learn ``Pipeline``, which routes to both ``fit`` and
        ``fit_resample``) only needs ``set_fit_resample_request``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data to resample.
        y : array-like of shape (n_samples,)
            Class labels.
        **params : dict
            ``sensitive_features``; see :meth:`fit_resample`.

        Returns
        -------
        self : object
            The fitted sampler.
        """
        self.fit_resample(X, y, **params)
        return self

    @abstractmethod
    def _fit_resample(self, X, y, *, cells, targets, random_state):
        """Return ``(X_resampled, y_resampled, cells_resampled)``."""

    def _check_X_y(self, X, y):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if isinstance(X, pd.DataFrame):
            # Keep the frame (and its dtypes): rows are selected from it directly.
            validate_data(self, X, skip_check_array=True)
            check_consistent_length(X, y)
            return X, y, binarize_y
        X, y = validate_data(
            self,
            X,
            y,
            reset=True,
            accept_sparse=list(self._accept_sparse),
            dtype=None,
            ensure_all_finite=False,
        )
        return X, y, binarize_y

    def _record_outcome(self, groups, targets, cells_res):
        # One original row per group carries the group's attribute values.
        group_codes, frame = groups.codes, groups.frame
        first_row = np.zeros(self.groups_.size, dtype=np.intp)
        first_row[group_codes[::-1]] = np.arange(group_codes.size - 1, -1, -1)
        groups_res, _ = decode_cells(cells_res, self.classes_.size)
        columns = {}
        for column in frame.columns:
            # Categorical columns: one small code per output row, not one object.
            values = np.asarray(frame[column], dtype=object)[first_row]
            categories, codes = np.unique(values, return_inverse=True)
            columns[column] = pd.Categorical.from_codes(
                codes[groups_res], categories=categories
            )
        self.sensitive_features_ = pd.DataFrame(columns)
        self.cell_targets_ = targets
        self.sampling_strategy_ = dict(
            zip(self.classes_.tolist(), targets.sum(axis=0).tolist(), strict=True)
        )

    def _wrap_output(self, X, y, X_res, y_res, binarize_y):
        if binarize_y:
            y_res = label_binarize(y_res, classes=self.classes_)
        if isinstance(y, pd.Series):
            y_res = pd.Series(y_res, name=y.name, dtype=y.dtype)
        elif isinstance(y, pd.DataFrame):
            y_res = pd.DataFrame(np.asarray(y_res).reshape(len(y_res), -1))
            y_res.columns = y.columns
            y_res = y_res.astype(y.dtypes.to_dict())
        elif isinstance(y, list):
            y_res = np.asarray(y_res).tolist()
        if isinstance(X, list):
            X_res = np.asarray(X_res).tolist()
        return X_res, y_res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags


def small_codes(codes, n_codes):
    """Cast codes to the smallest unsigned type, so a stable argsort is a radix sort."""
    for dtype in (np.uint8, np.uint16):
        if n_codes <= np.iinfo(dtype).max + 1:
            return codes.astype(dtype)
    return codes


def random_rows(random_state, members, size, *, replace):
    """Draw ``size`` of the row indices ``members`` (a thin, seeded ``choice``)."""
    if size == 0:
        return np.empty(0, dtype=np.intp)
    return random_state.choice(members, size=size, replace=replace).astype(np.intp)
