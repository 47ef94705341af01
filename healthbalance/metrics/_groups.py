"""The groups a report covers: overall, each attribute's groups, their intersections."""

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from healthbalance._groups import SensitiveGroups, encode_groups
from healthbalance._sensitive import INTERSECTION_SEP

__all__ = [
    "INTERSECTIONS",
    "OVERALL",
    "ReportedGroups",
    "build_groups",
    "check_intersections",
    "intersected_columns",
]

OVERALL = "overall"
INTERSECTIONS = ("pairwise", "all")


@dataclass
class ReportedGroups:
    """The reported groups and the bootstrap strata of one dataset.

    Attributes
    ----------
    attribute : list of str
        Attribute of each reported group (``"overall"`` for all rows, the column
        name for an attribute's groups, ``"race & sex"`` for intersections).
    group : list of str
        Label of each reported group.
    rows : list of ndarray
        Row indices of each reported group.
    codes : ndarray of shape (n_samples,)
        Code of each row's finest intersection of all attributes.
    """

    attribute: list = field(default_factory=list)
    group: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    codes: np.ndarray = None

    def add(self, attribute, codes, labels):
        """Add one group per label of an attribute given per-row codes."""
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=len(labels)))
        for label, rows in zip(labels, np.split(order, bounds[:-1]), strict=True):
            self.attribute.append(attribute)
            self.group.append(str(label))
            self.rows.append(np.sort(rows))

    def strata(self, stratify):
        """Bootstrap stratum of each row under a resampling design.

        Parameters
        ----------
        stratify : {"intersection", "none"}
            ``"intersection"``: rows are redrawn within the finest intersection of
            the attributes (group sizes fixed, outcomes free); ``"none"``: all rows
            are redrawn together. Outcomes are never held fixed.

        Returns
        -------
        strata : ndarray of shape (n_samples,), dtype=int64
        """
        if stratify == "none":
            return np.zeros(self.codes.size, dtype=np.int64)
        return self.codes.astype(np.int64)

    def index(self, attribute=None):
        """Return the positions of the groups of ``attribute`` (all but overall)."""
        return [
            i
            for i, a in enumerate(self.attribute)
            if (a == attribute if attribute is not None else a != OVERALL)
        ]


def build_groups(frame, *, intersections="pairwise", overall=True):
    """List the reported groups of a frame of sensitive features.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`healthbalance._sensitive.resolve_sensitive_features`.
    intersections : {"pairwise", "all"} or bool, default="pairwise"
        With several attributes, also report intersections: ``"pairwise"`` every
        two-way intersection (attribute ``"race & sex"``), ``"all"`` (or ``True``)
        the one intersection of every attribute, ``False`` none. With two
        attributes ``"pairwise"`` and ``"all"`` are the same.
    overall : bool, default=True
        Report an ``overall`` group of all rows first.

    Returns
    -------
    groups : ReportedGroups

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from healthbalance.metrics._groups import build_groups
    >>> frame = pd.DataFrame({"race": ["A", "B", "A"], "sex": ["F", "F", "M"]})
    >>> groups = build_groups(frame)
    >>> list(zip(groups.attribute, groups.group))[:4]
    [('overall', 'overall'), ('race', 'A'), ('race', 'B'), ('sex', 'F')]
    >>> groups.group[-3:]
    ['A & F', 'A & M', 'B & F']
    """
    check_intersections(intersections)
    groups = ReportedGroups()
    n_samples = frame.shape[0]
    if overall:
        groups.add(OVERALL, np.zeros(n_samples, dtype=np.intp), [OVERALL])
    for column in frame.columns:
        codes, labels = encode_groups(frame[column].to_numpy(dtype=object))
        groups.add(str(column), codes, labels)
    for columns in intersected_columns(list(frame.columns), intersections):
        part = SensitiveGroups.from_frame(frame[columns])
        groups.add(
            INTERSECTION_SEP.join(str(c) for c in columns), part.codes, part.groups
        )
    finest = SensitiveGroups.from_frame(frame)
    groups.codes = np.asarray(finest.codes, dtype=np.int64)
    return groups


def check_intersections(intersections):
    """Raise unless ``intersections`` is ``"pairwise"``, ``"all"`` or a bool."""
    if isinstance(intersections, bool | np.bool_):
        return
    if not isinstance(intersections, str) or intersections not in INTERSECTIONS:
        raise ValueError(
            f"intersections must be 'pairwise', 'all', True or False, got "
            f"{intersections!r}; 'pairwise' reports every two-way intersection."
        )


def intersected_columns(columns, intersections):
    """Return the lists of attributes whose intersections are reported.

    Examples
    --------
    >>> from healthbalance.metrics._groups import intersected_columns
    >>> intersected_columns(["race", "sex", "age"], "pairwise")
    [['race', 'sex'], ['race', 'age'], ['sex', 'age']]
    >>> intersected_columns(["race", "sex", "age"], "all")
    [['race', 'sex', 'age']]
    """
    if len(columns) < 2 or intersections is False or not intersections:
        return []
    if intersections == "pairwise" and len(columns) > 2:
        return [list(pair) for pair in combinations(columns, 2)]
    return [list(columns)]
