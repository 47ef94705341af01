"""Random over- or under-sampling of (group x class) cells."""

import numpy as np
import pandas as pd

from healthbalance._compat import StrOptions, _safe_indexing
from healthbalance.resampling._base import BaseGroupSampler, random_rows, small_codes

__all__ = ["GroupBalancedSampler"]


class GroupBalancedSampler(BaseGroupSampler):
    """Randomly over- or under-sample rows so (group x class) cells reach a target.

    Balances patient groups and classes together: imbalanced-learn's random samplers
    balance classes only. Without groups, all rows form one group and the sampler
    balances classes like imbalanced-learn's ``RandomOverSampler`` /
    ``RandomUnderSampler`` (with a ``NoSensitiveFeaturesWarning``).

    Over-sampling keeps every row and adds draws with replacement from the same cell;
    under-sampling keeps a random subset of each cell, without replacement. Rows keep
    their order (added rows come last).

    Parameters
    ----------
    target : {"joint", "groups", "class_within_group"} or dict, default="joint"
        Size of each cell after resampling.

        - ``"joint"``: every non-empty cell gets the same size (the "SUBG" baseline
          of Idrissi et al. 2022).
        - ``"groups"``: every group gets the same size and keeps its prevalence.
        - ``"class_within_group"``: within each group every class gets the same
          size (group sizes still differ).
        - dict: target proportions per group (``{"Black": 0.13, ...}``, e.g. a
          reference population; each group keeps its prevalence) or per cell
          (``{("Black", 1): 0.05, ...}``), normalised to sum to one. With
          ``method="over"`` the smallest sizes reaching them are used.

        An empty cell stays empty, with an ``EmptyCellWarning`` naming it.
    method : {"over", "under"}, default="over"
        Add rows (random over-sampling) or remove rows (random under-sampling).
    sensitive_columns : str, list of str or None, default=None
        Columns of a DataFrame ``X`` holding the groups, instead of passing
        ``sensitive_features`` to :meth:`fit_resample`. The columns stay in ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_samples_new,)
        Index in the input of every output row.
    sensitive_features_ : DataFrame of shape (n_samples_new, n_attributes)
        Groups of the output rows (one categorical column of string labels per
        attribute), to pass on as ``sensitive_features`` to the next step.
    groups_ : ndarray of shape (n_groups,)
        Group labels (intersections of the attributes, ``"Black & F"``).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    cell_counts_ : ndarray of shape (n_groups, n_classes)
        Rows per (group, class) cell before resampling.
    cell_targets_ : ndarray of shape (n_groups, n_classes)
        Rows per cell after resampling.
    sampling_strategy_ : dict
        Rows per class after resampling (imbalanced-learn's attribute).
    n_features_in_ : int
        Number of features seen in ``fit_resample``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.

    Notes
    -----
    In an imbalanced-learn ``Pipeline`` with metadata routing enabled, the sampler
    requests ``sensitive_features`` by default (``pipe.fit(X, y,
    sensitive_features=race)``); without routing imbalanced-learn 0.14 drops
    ``step__sensitive_features`` before ``fit_resample``: use routing or
    ``sensitive_columns``. Metadata of
    later steps (``sample_weight``, groups) is not resampled by that pipeline
    (imbalanced-learn issue 457): use
    :class:`~healthbalance.training.ResampledClassifier`, which passes the
    resampled weights and groups on, and works in a scikit-learn ``Pipeline``.

    See Also
    --------
    GroupSMOTE : Synthetic over-sampling within each group.
    imblearn.over_sampling.RandomOverSampler : Class balancing, no groups.

    References
    ----------
    .. [1] B. Y. Idrissi, M. Arjovsky, M. Pezeshki and D. Lopez-Paz, "Simple data
       balancing achieves competitive worst-group-accuracy", CLeaR 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.resampling import GroupBalancedSampler
    >>> X = np.arange(12).reshape(6, 2)
    >>> y = np.array([0, 0, 0, 1, 0, 1])
    >>> sex = ["F", "F", "F", "F", "M", "M"]
    >>> sampler = GroupBalancedSampler(target="class_within_group", random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y, sensitive_features=sex)
    >>> X_res.shape
    (8, 2)
    >>> sampler.sensitive_features_["sensitive_feature"].value_counts().to_dict()
    {'F': 6, 'M': 2}
    """

    _parameter_constraints: dict = {
        **BaseGroupSampler._parameter_constraints,
        "method": [StrOptions({"over", "under"})],
    }

    def __init__(
        self,
        *,
        target="joint",
        method="over",
        sensitive_columns=None,
        random_state=None,
    ):
        self.target = target
        self.method = method
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state

    @property
    def _method(self):
        return self.method

    def _fit_resample(self, X, y, *, cells, targets, random_state):
        members = _cell_members(cells, targets.size)
        if self.method == "over":
            extra = [
                random_rows(
                    random_state, rows, targets.flat[cell] - rows.size, replace=True
                )
                for cell, rows in enumerate(members)
            ]
            added = np.concatenate(extra)
            indices = np.concatenate([np.arange(cells.size, dtype=np.intp), added])
            X_res = _append_rows(X, added, indices)
        else:
            kept = [
                random_rows(random_state, rows, targets.flat[cell], replace=False)
                for cell, rows in enumerate(members)
            ]
            indices = np.sort(np.concatenate(kept))
            X_res = _take_rows(X, indices)
        self.sample_indices_ = indices
        return X_res, y[indices], cells[indices]


def _cell_members(cells, n_cells):
    """Return the row indices of every cell, in row order (one radix sort)."""
    counts = np.bincount(cells, minlength=n_cells)
    order = np.argsort(small_codes(cells, n_cells), kind="stable")
    return np.split(order, np.cumsum(counts)[:-1])


def _append_rows(X, added, indices):
    """Return ``X`` followed by its rows ``added`` (``X[indices]``, but faster).

    Over-sampling keeps every row in place, so a dense array is copied in one block
    and only the added rows are gathered, straight into the output buffer.
    """
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        return _take_rows(X, indices)
    out = np.empty((X.shape[0] + added.size, X.shape[1]), dtype=X.dtype)
    out[: X.shape[0]] = X
    # mode="clip" lets take write straight into out (mode="raise" buffers a copy);
    # every index comes from the data, so none is clipped.
    np.take(X, added, axis=0, out=out[X.shape[0] :], mode="clip")
    return out


def _take_rows(X, indices):
    if isinstance(X, pd.DataFrame):
        return X.iloc[indices].reset_index(drop=True)
    return _safe_indexing(X, indices)
