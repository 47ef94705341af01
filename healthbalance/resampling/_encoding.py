"""Numeric encoding of mixed data for SMOTE, and decoding of synthetic rows.

imbalanced-learn's ``SMOTENC(categorical_features="auto")`` only recognises pandas
``category`` columns, and its object round trip does not keep pandas 3 string
dtypes. Here categorical columns (detected from the dtypes, or given) become integer
codes in one float matrix; SMOTE-NC treats those columns as nominal, so synthetic
codes are always codes of values seen in the input; decoding maps them back and
restores every column's dtype.
"""

from numbers import Real

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

__all__ = ["FeatureCodec"]


class FeatureCodec:
    """Encode ``X`` as a float matrix and decode synthetic rows to ``X``'s container.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
        Validated data (a DataFrame is kept as is).
    categorical_features : "auto", None or array-like
        ``"auto"`` detects non-numeric columns (string, category, bool, and object
        columns holding anything but numbers: digit strings such as ``"1"`` are
        categories); otherwise indices, column names or a boolean mask; None means none.
    caller : str
        Name used in messages.
    """

    def __init__(self, X, categorical_features, caller):
        self.caller = caller
        self.frame = isinstance(X, pd.DataFrame)
        data = X if self.frame else pd.DataFrame(X, copy=False)
        self.dtypes = data.dtypes if self.frame else X.dtype
        self.columns = data.columns
        self.categorical = self._mask(data, categorical_features)
        self.categories = {}
        self.matrix = self._encode(X, data)

    def _mask(self, data, categorical_features):
        n_features = data.shape[1]
        if categorical_features is None:
            return np.zeros(n_features, dtype=bool)
        if isinstance(categorical_features, str) and categorical_features == "auto":
            return np.array([_is_categorical(data[c]) for c in data.columns])
        given = np.asarray(categorical_features)
        if given.dtype == bool:
            if given.size != n_features:
                raise ValueError(
                    f"categorical_features is a mask of {given.size} values but X has "
                    f"{n_features} columns: give one boolean per column."
                )
            return given
        mask = np.zeros(n_features, dtype=bool)
        for item in given.tolist():
            mask[self._position(item, n_features)] = True
        return mask

    def _position(self, item, n_features):
        if isinstance(item, str):
            names = [str(c) for c in self.columns]
            if not self.frame or item not in names:
                raise ValueError(
                    f"categorical_features names column {item!r}, which is not a "
                    f"column of X: use one of {names!r} or column indices."
                )
            return names.index(item)
        if not -n_features <= int(item) < n_features:
            raise ValueError(
                f"categorical_features has index {item!r} but X has {n_features} "
                "columns."
            )
        return int(item)

    def _encode(self, X, data):
        if not self.frame and not self.categorical.any():
            return self._numeric(X, "(any)")
        matrix = np.empty(data.shape, dtype=np.float64)
        for j, column in enumerate(data.columns):
            values = data[column]
            if self.categorical[j]:
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
                self.categories[j] = uniques
                matrix[:, j] = codes
            else:
                matrix[:, j] = self._numeric(values, column)
        return matrix

    def _numeric(self, values, column):
        try:
            if isinstance(values, np.ndarray):
                numeric = values.astype(np.float64, copy=False)
            else:
                numeric = values.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.caller}: column {column!r} is not numeric and not declared "
                "categorical: list it in categorical_features."
            ) from exc
        if not np.isfinite(numeric).all():
            raise ValueError(
                f"{self.caller} cannot interpolate NaN or inf in column {column!r}: "
                "impute missing values first (e.g. a SimpleImputer before it)."
            )
        return numeric

    @property
    def categorical_indices(self):
        """Indices of the categorical columns."""
        return np.flatnonzero(self.categorical)

    def start(self, X, n_new):
        """Prepare the output: ``X`` followed by room for ``n_new`` synthetic rows.

        A numeric array gets its output allocated once and filled in place, so the
        peak memory stays close to the output's size.
        """
        self._parts = []
        self._out = None
        if not self.frame and not self.categorical.any():
            self._out = np.empty((X.shape[0] + n_new, X.shape[1]), dtype=X.dtype)
            self._out[: X.shape[0]] = X
            self._position = X.shape[0]

    def add(self, rows):
        """Append encoded synthetic rows."""
        if self._out is None:
            self._parts.append(rows)
            return
        if np.dtype(self.dtypes).kind in "iub":
            rows = np.rint(rows)
        self._out[self._position : self._position + len(rows)] = rows
        self._position += len(rows)

    def finish(self, X):
        """Return ``X`` followed by the decoded synthetic rows, in X's container."""
        if self._out is not None:
            return self._out
        synthetic = (
            np.concatenate(self._parts) if self._parts else self.matrix[:0].copy()
        )
        if self.frame:
            new = pd.DataFrame(
                {
                    c: self._column(j, synthetic[:, j])
                    for j, c in enumerate(self.columns)
                }
            )
            out = pd.concat([X.reset_index(drop=True), new], ignore_index=True)
            return out.astype(self.dtypes.to_dict())
        columns = [self._column(j, synthetic[:, j]) for j in range(synthetic.shape[1])]
        new = np.column_stack(columns) if columns else synthetic
        return np.concatenate([X, new.astype(X.dtype, copy=False)])

    def _column(self, j, values):
        dtype = self.dtypes.iloc[j] if self.frame else self.dtypes
        if self.categorical[j]:
            codes = np.rint(values).astype(np.intp)
            decoded = self.categories[j].take(np.maximum(codes, 0))
            decoded = np.asarray(decoded, dtype=object)
            decoded[codes < 0] = np.nan
            return pd.array(decoded, dtype=dtype) if self.frame else decoded
        if _integer(dtype):
            values = np.rint(values)
        return pd.Series(values).astype(dtype) if self.frame else values


def _is_categorical(column):
    if is_bool_dtype(column.dtype):
        return True
    if is_numeric_dtype(column.dtype):
        return False
    if column.dtype != object:
        return True  # string, category and other extension dtypes
    # An object column is numeric only if every value is a number: digit strings
    # such as "1", "2" are category labels (codes), never interpolated.
    values = column.dropna().to_numpy()
    return not all(_is_number(v) for v in values)


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _integer(dtype):
    """Whether synthetic values of this column must be rounded (ints, bools)."""
    return is_integer_dtype(dtype) or is_bool_dtype(dtype)
