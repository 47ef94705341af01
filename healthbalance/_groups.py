"""The group model: integer codes of the groups and of the group x class cells.

:mod:`healthbalance._sensitive` resolves ``sensitive_features`` /
``sensitive_columns`` into normalised labels; this module turns them into the codes
every package uses, and is the only place that builds them:

- a **group** is one value (or intersection of values) of the sensitive attributes;
  its code is its position in the sorted group labels;
- a **cell** is one group x class pair; its code is
  ``group_code * n_classes + class_code`` (:meth:`SensitiveGroups.cells`);
- labels of new data (predict time) are encoded against the fitted groups, an unseen
  group getting code ``-1`` (:func:`encode_labels`).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from healthbalance._sensitive import group_labels, resolve_sensitive_features

__all__ = [
    "SensitiveGroups",
    "cell_codes",
    "cell_counts",
    "decode_cells",
    "encode_classes",
    "encode_groups",
    "encode_labels",
]


def encode_groups(labels):
    """Encode group labels as integer codes.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Group labels, as returned by :func:`healthbalance._sensitive.group_labels`.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype=intp
        Index of each row's group in ``groups``.
    groups : ndarray of shape (n_groups,), dtype=object
        Sorted unique labels.

    Examples
    --------
    >>> from healthbalance._groups import encode_groups
    >>> codes, groups = encode_groups(["b", "a", "b"])
    >>> codes.tolist(), groups.tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    groups, codes = encode_classes(np.asarray(labels, dtype=object))
    return codes, groups


def encode_classes(y):
    """Return the sorted distinct values of ``y`` and the code of every row.

    Hash-based (``pandas.factorize``) then a sort of the few distinct values: as
    ``np.unique(y, return_inverse=True)``, in O(n).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class (or group) labels, of one comparable type.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Sorted distinct values.
    codes : ndarray of shape (n_samples,), dtype=intp
        Position of each row's value in ``classes``.

    Examples
    --------
    >>> from healthbalance._groups import encode_classes
    >>> classes, codes = encode_classes([1, 0, 1])
    >>> classes.tolist(), codes.tolist()
    ([0, 1], [1, 0, 1])
    """
    codes, uniques = pd.factorize(np.asarray(y), use_na_sentinel=False)
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return uniques[order], rank[codes].astype(np.intp, copy=False)


def encode_labels(labels, groups):
    """Encode labels of new data against fitted groups; unseen labels get ``-1``.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Group labels of the new rows.
    groups : ndarray of shape (n_groups,)
        Sorted labels of the fitted groups.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype=intp
        Position of each row's group in ``groups``, ``-1`` when it is not there.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance._groups import encode_labels
    >>> encode_labels(["b", "c", "a"], np.array(["a", "b"], dtype=object)).tolist()
    [1, -1, 0]
    """
    labels = np.asarray(labels, dtype=object)
    groups = np.asarray(groups, dtype=object)
    if groups.size == 0:
        return np.full(labels.size, -1, dtype=np.intp)
    positions = np.clip(np.searchsorted(groups, labels), 0, groups.size - 1)
    return np.where(groups[positions] == labels, positions, -1).astype(np.intp)


def cell_codes(group_codes, class_codes, n_classes):
    """Return the cell code ``group * n_classes + class`` of every row.

    Parameters
    ----------
    group_codes : ndarray of shape (n_samples,)
        Integer group of each row.
    class_codes : ndarray of shape (n_samples,)
        Integer class of each row, in ``[0, n_classes)``.
    n_classes : int
        Number of classes.

    Returns
    -------
    cells : ndarray of shape (n_samples,), dtype=intp
        Cell of each row; the cell ``k`` is group ``k // n_classes``, class
        ``k % n_classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance._groups import cell_codes
    >>> cell_codes(np.array([0, 1, 1]), np.array([1, 0, 1]), 2).tolist()
    [1, 2, 3]
    """
    group_codes = np.asarray(group_codes, dtype=np.intp)
    return group_codes * n_classes + np.asarray(class_codes, dtype=np.intp)


def decode_cells(cells, n_classes):
    """Return the group and class codes of cell codes (inverse of :func:`cell_codes`).

    Parameters
    ----------
    cells : array-like of int
        Cell codes.
    n_classes : int
        Number of classes.

    Returns
    -------
    group_codes, class_codes : ndarray of the shape of ``cells``
        Group and class of each cell.

    Examples
    --------
    >>> from healthbalance._groups import decode_cells
    >>> [c.tolist() for c in decode_cells([1, 2, 3], 2)]
    [[0, 1, 1], [1, 0, 1]]
    """
    return np.divmod(np.asarray(cells), n_classes)


def cell_counts(group_codes, class_codes, n_groups, n_classes, sample_weight=None):
    """Count (or weigh) the rows of every (group, class) cell.

    Parameters
    ----------
    group_codes : ndarray of shape (n_samples,)
        Integer group of each row, in ``[0, n_groups)``.
    class_codes : ndarray of shape (n_samples,)
        Integer class of each row, in ``[0, n_classes)``.
    n_groups, n_classes : int
        Number of groups and classes.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Row weights; the result is then the weight of each cell (float).

    Returns
    -------
    counts : ndarray of shape (n_groups, n_classes)
        Rows per cell (int64), or their total weight (float64).

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance._groups import cell_counts
    >>> cell_counts(np.array([0, 0, 1]), np.array([0, 1, 1]), 2, 2).tolist()
    [[1, 1], [0, 1]]
    """
    cells = cell_codes(group_codes, class_codes, n_classes)
    flat = np.bincount(cells, weights=sample_weight, minlength=n_groups * n_classes)
    counts = flat.reshape(n_groups, n_classes)
    return counts.astype(np.int64 if sample_weight is None else np.float64)


@dataclass(frozen=True, eq=False)
class SensitiveGroups:
    """The groups of a dataset: attributes, labels, codes and cells.

    Build it with :meth:`resolve` (from ``sensitive_features`` or
    ``sensitive_columns``) or :meth:`from_frame` (from a resolved frame).

    Attributes
    ----------
    frame : pandas.DataFrame of shape (n_samples, n_attributes)
        Normalised label of each attribute (see :mod:`healthbalance._sensitive`).
    labels : ndarray of shape (n_samples,), dtype=object
        Group label of every row (an intersection with several attributes).
    groups : ndarray of shape (n_groups,), dtype=object
        Sorted distinct group labels.
    codes : ndarray of shape (n_samples,), dtype=intp
        Position of each row's group in ``groups``.

    Examples
    --------
    >>> from healthbalance._groups import SensitiveGroups
    >>> sg = SensitiveGroups.resolve(None, {"sex": ["F", "M", "F"]}, caller="demo")
    >>> sg.groups.tolist(), sg.codes.tolist()
    (['F', 'M'], [0, 1, 0])
    >>> sg.cell_counts([1, 0, 0], 2).tolist()
    [[1, 1], [1, 0]]
    >>> sg.encode(["M", "X"]).tolist()
    [1, -1]
    """

    frame: pd.DataFrame
    labels: np.ndarray
    groups: np.ndarray
    codes: np.ndarray

    @classmethod
    def from_frame(cls, frame):
        """Build the groups of a frame returned by ``resolve_sensitive_features``.

        Parameters
        ----------
        frame : pandas.DataFrame of shape (n_samples, n_attributes)
            Normalised attribute labels.

        Returns
        -------
        groups : SensitiveGroups
            The group model of the rows of ``frame``.

        Examples
        --------
        >>> import pandas as pd
        >>> from healthbalance._groups import SensitiveGroups
        >>> frame = pd.DataFrame({"race": ["A", "B"], "sex": ["F", "F"]})
        >>> SensitiveGroups.from_frame(frame).groups.tolist()
        ['A & F', 'B & F']
        """
        labels = group_labels(frame)
        codes, groups = encode_groups(labels)
        return cls(frame=frame, labels=labels, groups=groups, codes=codes)

    @classmethod
    def resolve(cls, X, sensitive_features=None, sensitive_columns=None, *, caller):
        """Resolve the groups of the rows of ``X`` from either source.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            The data; a DataFrame when ``sensitive_columns`` is given. With None,
            the number of rows is read from ``sensitive_features``.
        sensitive_features : array-like or None, default=None
            Groups passed to the method.
        sensitive_columns : str, list of str or None, default=None
            Columns of ``X`` holding the groups.
        caller : str
            Name of the estimator or function, used in messages.

        Returns
        -------
        groups : SensitiveGroups
            The group model (a single group ``"all"`` without groups, with a
            ``NoSensitiveFeaturesWarning``).

        Examples
        --------
        >>> from healthbalance._groups import SensitiveGroups
        >>> SensitiveGroups.resolve([[0], [1]], [1.0, 2], caller="demo").groups
        array(['1', '2'], dtype=object)
        """
        if isinstance(sensitive_features, cls):
            return sensitive_features
        if X is None:
            X = np.empty((len(_first_column(sensitive_features)), 0))
        frame = resolve_sensitive_features(
            X, sensitive_features, sensitive_columns, caller=caller
        )
        return cls.from_frame(frame)

    @property
    def attributes(self):
        """List of str: names of the sensitive attributes."""
        return [str(c) for c in self.frame.columns]

    @property
    def n_groups(self):
        """int: number of groups."""
        return self.groups.size

    def encode(self, labels):
        """Encode labels of new data against these groups (unseen -> ``-1``).

        Parameters
        ----------
        labels : array-like of shape (n_samples,) or SensitiveGroups
            Group labels of the new rows, or their group model.

        Returns
        -------
        codes : ndarray of shape (n_samples,), dtype=intp
            See :func:`encode_labels`.
        """
        if isinstance(labels, SensitiveGroups):
            labels = labels.labels
        return encode_labels(labels, self.groups)

    def cells(self, class_codes, n_classes):
        """Return the cell code of every row (see :func:`cell_codes`).

        Parameters
        ----------
        class_codes : array-like of shape (n_samples,)
            Integer class of each row, in ``[0, n_classes)``.
        n_classes : int
            Number of classes.

        Returns
        -------
        cells : ndarray of shape (n_samples,), dtype=intp
            ``codes * n_classes + class_codes``.
        """
        return cell_codes(self.codes, class_codes, n_classes)

    def cell_counts(self, class_codes, n_classes, sample_weight=None):
        """Count (or weigh) the rows of every (group, class) cell.

        Parameters
        ----------
        class_codes : array-like of shape (n_samples,)
            Integer class of each row, in ``[0, n_classes)``.
        n_classes : int
            Number of classes.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Row weights.

        Returns
        -------
        counts : ndarray of shape (n_groups, n_classes)
            See :func:`cell_counts`.
        """
        return cell_counts(
            self.codes, class_codes, self.n_groups, n_classes, sample_weight
        )

    def take(self, rows):
        """Return the group model of a subset (or resampling) of the rows.

        The groups keep their labels; groups without rows in ``rows`` are dropped.

        Parameters
        ----------
        rows : array-like of int
            Row positions, repeats allowed.

        Returns
        -------
        groups : SensitiveGroups
            The groups of the selected rows.
        """
        return SensitiveGroups.from_frame(
            self.frame.iloc[np.asarray(rows)].reset_index(drop=True)
        )


def _first_column(sensitive_features):
    if sensitive_features is None:
        raise ValueError(
            "SensitiveGroups.resolve got X=None and no sensitive_features: pass the "
            "data X or the groups."
        )
    if isinstance(sensitive_features, dict):
        return next(iter(sensitive_features.values()))
    return sensitive_features
