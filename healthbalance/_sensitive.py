r"""One place that turns ``sensitive_features`` / ``sensitive_columns`` into groups.

Every estimator, sampler, reweighter and metric of healthbalance resolves the patient
groups through :func:`resolve_sensitive_features`, so that the same rules hold
everywhere:

- groups arrive as a keyword-only ``sensitive_features=`` argument (a 1-D array,
  Series, 2-D array, DataFrame or dict of columns, one row per sample), or are read from
  the columns of a DataFrame ``X`` named by ``sensitive_columns`` (the columns stay in
  ``X``);
- a missing value (``None``, ``NaN``, ``pd.NA``, ``NaT``) is a group of its own,
  labelled ``"(missing)"``, never dropped;
- labels are strings, normalised once by :func:`normalise_label`, so that the same
  value gives the same group whatever the container or dtype: ``0`` at fit time and
  ``"0"`` at predict time agree, and an integral float is its integer (``1.0`` ->
  ``"1"``, also when a missing value in a batch turns an integer column into
  floats); other floats keep their shortest repr (``1.5`` -> ``"1.5"``), booleans
  read ``"True"`` / ``"False"``;
- several attributes form intersections labelled ``"Black & F"``: the attribute
  labels joined by ``" & "``, where, inside each attribute label, ``\`` is written
  ``\\`` and ``&`` is written ``\&``, so that two different intersections never
  get the same label (``("A & B", "C")`` -> ``"A \& B & C"`` and ``("A", "B & C")``
  -> ``"A & B \& C"``) while plain labels stay readable;
- with no groups at all a step sees a single group ``"all"`` and warns once with
  :class:`NoSensitiveFeaturesWarning`.
"""

import numpy as np
import pandas as pd

from healthbalance._compat import _num_samples
from healthbalance.utils._warnings import warn

__all__ = [
    "MISSING_LABEL",
    "NoSensitiveFeaturesWarning",
    "check_sensitive_features",
    "group_labels",
    "normalise_label",
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
            f"{name} has {_count_text(frame.shape[0])} rows but X has "
            f"{_count_text(n_samples)}: pass one group label per sample."
        )
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no columns: pass at least one attribute.")
    return frame.apply(_as_labels).reset_index(drop=True)


def _count_text(count):
    """Write a count for a message by the small-count rule (``"fewer than 11"``)."""
    # Imported here: _small_counts imports INTERSECTION_SEP from this module.
    from healthbalance._small_counts import count_text

    return count_text(count)


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


def normalise_label(value):
    """Return the group label of one attribute value.

    Parameters
    ----------
    value : object
        A value of a sensitive attribute.

    Returns
    -------
    label : str
        ``"(missing)"`` for a missing value; the integer's digits for an integral
        float (``1.0`` -> ``"1"``, ``-0.0`` -> ``"0"``); ``str(value)`` otherwise.

    Examples
    --------
    >>> from healthbalance._sensitive import normalise_label
    >>> [normalise_label(v) for v in (1, 1.0, "1", 1.5, True, None, float("nan"))]
    ['1', '1', '1', '1.5', 'True', '(missing)', '(missing)']
    """
    if isinstance(value, str):
        return value
    if value is None or (not isinstance(value, bool | np.bool_) and pd.isna(value)):
        return MISSING_LABEL
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and np.isfinite(value):
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _as_labels(column):
    values = column.astype(object)
    # Convert each distinct value once (fast on large cohorts). factorize merges
    # values that compare equal (1 and 1.0, which share a label, but also 1 and
    # True, which do not): with booleans among other values, convert row by row.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if column.dtype == object and _mixes_bools(values, uniques):
        labels = np.array([normalise_label(v) for v in values], dtype=object)
    else:
        names = [normalise_label(u) for u in uniques] + [MISSING_LABEL]
        labels = np.array(names, dtype=object)[codes]  # code -1 takes the last
    return pd.Series(labels, index=column.index, name=column.name, dtype=object)


def _mixes_bools(values, uniques):
    """Whether an object column holds booleans and other values (0, 1, strings)."""
    if not any(isinstance(u, bool | np.bool_) or _is_zero_or_one(u) for u in uniques):
        return False
    is_bool = np.fromiter(
        (isinstance(v, bool | np.bool_) for v in values), bool, len(values)
    )
    return is_bool.any() and not is_bool[values.notna().to_numpy()].all()


def _is_zero_or_one(value):
    return isinstance(value, int | float | np.number) and value in (0, 1)


def group_labels(frame):
    r"""Return one label per row: the intersection of all attributes of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`check_sensitive_features`.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype=object
        The value itself for one attribute; for several, the attribute labels
        joined by ``" & "`` after escaping ``\`` and ``&`` inside each of them
        (see the module docstring), so that different intersections never share
        a label.

    Examples
    --------
    >>> import pandas as pd
    >>> from healthbalance._sensitive import group_labels
    >>> group_labels(pd.DataFrame({"race": ["A", "B"], "sex": ["F", "M"]})).tolist()
    ['A & F', 'B & M']
    >>> group_labels(pd.DataFrame({"a": ["A & B", "A"], "b": ["C", "B & C"]})).tolist()
    ['A \\& B & C', 'A & B \\& C']
    """
    columns = [frame[c].astype(object) for c in frame.columns]
    if len(columns) == 1:
        return columns[0].to_numpy(dtype=object, copy=True)
    first, *rest = (_escape(column) for column in columns)
    return first.str.cat(rest, sep=INTERSECTION_SEP).to_numpy(dtype=object, copy=True)


def _escape(column):
    # Escape the distinct labels only (a few per attribute), then map the rows.
    codes, uniques = pd.factorize(column)
    escaped = np.array(
        [u.replace("\\", "\\\\").replace("&", "\\&") for u in uniques], dtype=object
    )
    return pd.Series(escaped[codes], index=column.index, dtype=object)


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
    warn(
        f"{caller} got no sensitive_features and no sensitive_columns: all rows are "
        "treated as one group. Pass sensitive_features=... to fit, or set "
        "sensitive_columns, to account for patient groups.",
        NoSensitiveFeaturesWarning,
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
