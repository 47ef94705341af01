"""One place that turns ``sensitive_features`` / ``sensitive_columns`` into groups.

Every estimator, sampler, reweighter and metric of healthbalance resolves the patient
groups through :func:`resolve_sensitive_features`, so that the same rules hold
everywhere:

- groups arrive as a keyword-only ``sensitive_features=`` argument (a 1-D array,
  Series, 2-D array, DataFrame or dict of columns, one row per sample), or are read from
  the columns of a DataFrame ``X`` named by ``sensitive_columns`` (the columns stay in
  ``X``);
- a missing value is a group of its own, labelled ``"(missing)"``, never dropped;
- labels are strings, so that ``0`` at fit time and ``"0"`` at predict time agree;
- several attributes form intersections labelled ``"Black & F"``;
- with no groups at all a step sees a single group ``"all"`` and warns once with
  :class:`NoSensitiveFeaturesWarning`.
"""

import warnings

import numpy as np
import pandas as pd

from healthbalance._compat import _num_samples

__all__ = [
    "MISSING_LABEL",
    "NoSensitiveFeaturesWarning",
    "check_sensitive_features",
    "encode_groups",
    "group_labels",
    "resolve_sensitive_features",
]

MISSING_LABEL = "(missing)"
SINGLE_GROUP = "all"
INTERSECTION_SEP = " & "


class NoSensitiveFeaturesWarning(UserWarning):
    """Warn that no groups were given, so all rows form a single group."""


def check_sensitive_features(
    sensitive_features, n_samples, *, name="sensitive_features"
):
    """Validate sensitive features and return them as a DataFrame of string labels.

    Parameters
    ----------
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership: a 1-D array or Series for one attribute, a 2-D array,
        DataFrame or dict of 1-D arrays for several.
    n_samples : int
        Number of rows the groups must have (the rows of ``X`` or ``y``).
    name : str, default="sensitive_features"
        Name of the argument, used in error messages.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_samples, n_attributes)
        One column per attribute, object dtype, missing values as ``"(missing)"``.
        The index is a plain ``RangeIndex``.

    Examples
    --------
    >>> from healthbalance._sensitive import check_sensitive_features
    >>> check_sensitive_features(["F", "M", None], 3)["sensitive_feature"].tolist()
    ['F', 'M', '(missing)']
    """
    frame = _as_frame(sensitive_features, name)
    if frame.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {frame.shape[0]} rows but X has {n_samples}: pass one group "
            "label per sample."
        )
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no columns: pass at least one attribute.")
    return frame.apply(_as_labels).reset_index(drop=True)


def _as_frame(sensitive_features, name):
    if isinstance(sensitive_features, pd.DataFrame):
        return sensitive_features.copy()
    if isinstance(sensitive_features, pd.Series):
        return sensitive_features.to_frame(
            sensitive_features.name or "sensitive_feature"
        )
    if isinstance(sensitive_features, dict):
        return pd.DataFrame(
            {str(k): np.asarray(v) for k, v in sensitive_features.items()}
        )
    if hasattr(sensitive_features, "to_pandas"):  # polars and pyarrow
        return _as_frame(sensitive_features.to_pandas(), name)
    if isinstance(sensitive_features, str) or not hasattr(
        sensitive_features, "__len__"
    ):
        raise TypeError(
            f"{name} must be array-like with one row per sample, got "
            f"{type(sensitive_features).__name__}."
        )
    array = np.asarray(sensitive_features, dtype=object)
    if array.ndim == 1:
        return pd.DataFrame({"sensitive_feature": array})
    if array.ndim == 2:
        columns = [f"sensitive_feature_{i}" for i in range(array.shape[1])]
        return pd.DataFrame(array, columns=columns)
    raise ValueError(f"{name} must be 1-D or 2-D, got an array of shape {array.shape}.")


def _as_labels(column):
    values = column.astype(object)
    # Convert each distinct value once (fast on large cohorts); values of different
    # types that compare equal (1, 1.0, True) are converted one by one instead.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if column.dtype == object and not all(isinstance(u, str) for u in uniques):
        missing = values.isna().to_numpy()
        labels = np.array([str(v) for v in values.to_numpy()], dtype=object)
        labels[missing] = MISSING_LABEL
    else:
        names = np.array([str(u) for u in uniques] + [MISSING_LABEL], dtype=object)
        labels = names[codes]  # code -1 (missing) takes the last name
    return pd.Series(labels, index=column.index, name=column.name, dtype=object)


def group_labels(frame):
    """Return one label per row: the intersection of all attributes of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`check_sensitive_features`.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype=object
        The attribute values joined by ``" & "`` (the value itself for one attribute).

    Examples
    --------
    >>> import pandas as pd
    >>> from healthbalance._sensitive import group_labels
    >>> group_labels(pd.DataFrame({"race": ["A", "B"], "sex": ["F", "M"]})).tolist()
    ['A & F', 'B & M']
    """
    first, *rest = (frame[c].astype(object) for c in frame.columns)
    if rest:
        first = first.str.cat(rest, sep=INTERSECTION_SEP)
    return first.to_numpy(dtype=object, copy=True)


def encode_groups(labels):
    """Encode group labels as integer codes.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Group labels, as returned by :func:`group_labels`.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype=intp
        Index of each row's group in ``groups``.
    groups : ndarray of shape (n_groups,), dtype=object
        Sorted unique labels.

    Examples
    --------
    >>> from healthbalance._sensitive import encode_groups
    >>> codes, groups = encode_groups(["b", "a", "b"])
    >>> codes.tolist(), groups.tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    # Hash-based factorize, then sort the few groups: as np.unique, much faster.
    codes, uniques = pd.factorize(
        np.asarray(labels, dtype=object), use_na_sentinel=False
    )
    order = np.argsort(np.asarray(uniques, dtype=object), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[codes].astype(np.intp, copy=False), np.asarray(uniques, dtype=object)[
        order
    ]


def resolve_sensitive_features(
    X, sensitive_features=None, sensitive_columns=None, *, caller
):
    """Return the groups of the rows of ``X`` from either source, or a single group.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data; must be a DataFrame when ``sensitive_columns`` is given.
    sensitive_features : array-like or None, default=None
        Groups passed to ``fit`` / ``fit_resample`` / ``predict``.
    sensitive_columns : str, list of str or None, default=None
        Names of columns of ``X`` holding the groups (a constructor parameter).
    caller : str
        Name of the estimator or function, used in messages.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_samples, n_attributes)
        See :func:`check_sensitive_features`. Without any groups, a single column
        ``"group"`` whose value is ``"all"`` for every row.

    Warns
    -----
    NoSensitiveFeaturesWarning
        When neither source gives groups: every row then belongs to one group.

    Examples
    --------
    >>> import pandas as pd
    >>> from healthbalance._sensitive import resolve_sensitive_features
    >>> X = pd.DataFrame({"age": [70, 54], "sex": ["F", "M"]})
    >>> frame = resolve_sensitive_features(X, sensitive_columns="sex", caller="demo")
    >>> frame["sex"].tolist()
    ['F', 'M']
    """
    n_samples = _num_samples(X)
    if sensitive_features is not None and sensitive_columns is not None:
        raise ValueError(
            f"{caller} got both sensitive_features and sensitive_columns="
            f"{sensitive_columns!r}: pass only one of them."
        )
    if sensitive_columns is not None:
        return check_sensitive_features(
            _columns_of(X, sensitive_columns, caller),
            n_samples,
            name="sensitive_columns",
        )
    if sensitive_features is not None:
        return check_sensitive_features(sensitive_features, n_samples)
    warnings.warn(
        f"{caller} got no sensitive_features and no sensitive_columns: all rows are "
        "treated as one group. Pass sensitive_features=... to fit, or set "
        "sensitive_columns, to account for patient groups.",
        NoSensitiveFeaturesWarning,
        stacklevel=3,
    )
    return pd.DataFrame({"group": np.full(n_samples, SINGLE_GROUP, dtype=object)})


def _columns_of(X, sensitive_columns, caller):
    names = (
        [sensitive_columns] if isinstance(sensitive_columns, str) else sensitive_columns
    )
    names = list(names)
    if not hasattr(X, "columns"):
        raise ValueError(
            f"{caller} has sensitive_columns={names!r} but X is a "
            f"{type(X).__name__} without column names: pass a DataFrame, or pass the "
            "groups as sensitive_features=."
        )
    missing = [c for c in names if c not in list(X.columns)]
    if missing:
        raise ValueError(
            f"{caller}: sensitive_columns {missing!r} are not columns of X (its "
            f"columns are {list(X.columns)!r})."
        )
    selected = X[names]
    return selected.to_pandas() if hasattr(selected, "to_pandas") else selected
