"""Checks of user inputs shared by several packages: sample weights."""

import numpy as np

__all__ = ["check_sample_weight"]


def check_sample_weight(sample_weight, n_samples, *, name="sample_weight"):
    """Return ``sample_weight`` as a float array, refusing weights that cannot work.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,)
        Weight of each row.
    n_samples : int
        Number of rows of ``X``.
    name : str, default="sample_weight"
        Name of the argument, used in messages.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), dtype=float64
        The weights.

    Raises
    ------
    TypeError
        If the weights are not numbers.
    ValueError
        If their shape does not match ``X``, or a weight is NaN, infinite or
        negative, or all weights are zero.

    Examples
    --------
    >>> from healthbalance.utils import check_sample_weight
    >>> check_sample_weight([1, 2, 0], 3).tolist()
    [1.0, 2.0, 0.0]
    >>> check_sample_weight([1, -2, 0], 3)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight contains negative values (fewer than 11 rows, ...
    """
    values = np.asarray(sample_weight)
    if values.dtype == bool or not (
        np.issubdtype(values.dtype, np.number) or values.dtype == object
    ):
        raise TypeError(
            f"{name} must hold numbers, got dtype {values.dtype}: pass one "
            "non-negative float per row."
        )
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must hold numbers: pass one non-negative float per row."
        ) from exc
    if values.ndim != 1 or values.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {_rows(values)} but X has "
            f"{_count_text(n_samples)} rows: pass one weight per row of X."
        )
    _check_values(values, name)
    return values


def _check_values(values, name):
    for bad, what in ((~np.isfinite(values), "NaN or infinite"), (values < 0, "")):
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            count = _count_text(bad.sum())
            kind = what or "negative"
            raise ValueError(
                f"{name} contains {kind} values ({count} rows, the first at row "
                f"{first}, {values[first]:g}): every weight must be a finite "
                "number >= 0; drop those rows or fix their weights."
            )
    if values.size and not values.any():
        raise ValueError(
            f"{name} is zero for every row: at least one row needs a positive "
            "weight (use None for equal weights)."
        )


def plain(value):
    """Return a numpy scalar as the Python scalar it holds, for messages.

    ``repr(np.float64(1.5))`` is ``'np.float64(1.5)'`` under numpy 2; messages and
    summaries show ``1.5``.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.utils._validation import plain
    >>> repr(plain(np.float64(1.5))), plain("a")
    ('1.5', 'a')
    """
    return value.item() if isinstance(value, np.generic) else value


def _count_text(count):
    """Write a count for a message by the small-count rule (``"fewer than 11"``)."""
    # Imported here: _small_counts imports plain() from this module.
    from healthbalance._small_counts import count_text

    return count_text(count)


def _rows(values):
    """Describe the shape of weights for a message, small counts written as words."""
    if values.ndim != 1:  # a shape such as (3, 1) would show a small count
        return f"{values.ndim} dimensions"
    return f"{_count_text(values.shape[0])} rows"
