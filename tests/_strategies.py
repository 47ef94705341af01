"""Hypothesis strategies shared by the tests: cohorts that vary more than the seed.

A cohort is drawn from a matrix of (group x class) cell counts, so that sizes, the
number of groups and classes, the class balance and empty cells all vary, and its
labels take every type a user may pass: class labels as int, str, float or bool;
group labels as int, str or float, with missing values (None / NaN) as a group of
their own. Tests compute their expectations from the raw labels (a brute-force loop
over the cells), never from the package's own encoding of the groups.
"""

import numpy as np
from hypothesis import strategies as st

CLASS_LABELS = {
    "int": [0, 1, 2, 3],
    "str": ["alive", "dead", "icu", "ward"],
    "float": [0.0, 1.0, 2.0, 3.0],
    "bool": [False, True],
}
# Strings with the intersection separator and digits: labels, not numbers.
GROUP_LABELS = {
    "int": [0, 1, 2, 3, 4],
    "str": ["A", "B & C", "10", "White", "x y"],
    "float": [0.5, 1.0, 2.25, 3.0, 4.5],
}


@st.composite
def cell_count_matrices(draw, *, max_groups=5, max_classes=3, max_count=12, empty=True):
    """Counts ``counts[g, c]``; every group and class has a row, cells may be 0."""
    n_groups = draw(st.integers(1, max_groups))
    n_classes = draw(st.integers(2, max_classes))
    low = 0 if empty else 1
    counts = np.array(
        draw(
            st.lists(
                st.integers(low, max_count),
                min_size=n_groups * n_classes,
                max_size=n_groups * n_classes,
            )
        ),
        dtype=np.int64,
    ).reshape(n_groups, n_classes)
    # Every group and every class needs at least one row to exist in the data.
    for g in np.nonzero(counts.sum(axis=1) == 0)[0]:
        counts[g, draw(st.integers(0, n_classes - 1))] = draw(st.integers(1, max_count))
    for c in np.nonzero(counts.sum(axis=0) == 0)[0]:
        counts[draw(st.integers(0, n_groups - 1)), c] = draw(st.integers(1, max_count))
    return counts


@st.composite
def cohorts(draw, *, max_groups=5, max_classes=3, max_count=12, empty=True):
    """Return ``(X, y, groups, counts)``: rows of a random cell count matrix.

    ``y`` and ``groups`` are 1-D object or typed arrays of labels of a random type;
    ``counts[g, c]`` counts the rows of the g-th distinct group and c-th class, in
    the order of ``group_values`` / ``class_values`` below (not sorted).
    """
    class_type = draw(st.sampled_from(sorted(CLASS_LABELS)))
    max_classes = 2 if class_type == "bool" else max_classes
    counts = draw(
        cell_count_matrices(
            max_groups=max_groups,
            max_classes=max_classes,
            max_count=max_count,
            empty=empty,
        )
    )
    n_groups, n_classes = counts.shape
    group_type = draw(st.sampled_from(sorted(GROUP_LABELS)))
    group_values = list(GROUP_LABELS[group_type][:n_groups])
    if draw(st.booleans()):  # one group is "missing"
        group_values[-1] = np.nan if group_type == "float" else None
    class_values = CLASS_LABELS[class_type][:n_classes]
    group_index = np.repeat(np.arange(n_groups), counts.sum(axis=1))
    class_index = np.concatenate(
        [np.repeat(np.arange(n_classes), row) for row in counts]
    )
    order = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(
        group_index.size
    )
    group_index, class_index = group_index[order], class_index[order]
    groups = _as_array(group_values, group_type)[group_index]
    y = _as_array(class_values, class_type)[class_index]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(y.size, 3))
    return X, y, groups, _Cells(group_index, class_index, counts)


class _Cells:
    """The true cell of every row (indices into the distinct groups and classes)."""

    def __init__(self, group_index, class_index, counts):
        self.group = group_index
        self.label = class_index
        self.counts = counts

    def of(self, rows):
        """Count the rows ``rows`` (indices into the cohort) of every cell."""
        n_groups, n_classes = self.counts.shape
        flat = self.group[rows] * n_classes + self.label[rows]
        return np.bincount(flat, minlength=n_groups * n_classes).reshape(
            n_groups, n_classes
        )


def _as_array(values, kind):
    if kind == "float":
        return np.array(values, dtype=float)
    if kind == "bool":
        return np.array(values, dtype=bool)
    if kind == "int" and None not in values:
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)
