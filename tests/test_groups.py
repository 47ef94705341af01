import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthbalance._groups import (
    SensitiveGroups,
    cell_codes,
    cell_counts,
    decode_cells,
    encode_labels,
)
from healthbalance._sensitive import MISSING_LABEL, check_sensitive_features


def _groups(values):
    return SensitiveGroups.resolve(None, values, caller="test")


def test_integral_float_and_its_integer_are_one_group():
    # Fit sees integers; a NaN in the predict batch turns the column into floats.
    fitted = _groups(pd.Series([1, 2, 1]))
    batch = _groups(pd.Series([1, np.nan, 2]))
    assert batch.frame.iloc[:, 0].tolist() == ["1", MISSING_LABEL, "2"]
    assert fitted.encode(batch).tolist() == [0, -1, 1]


def test_colliding_intersections_stay_apart():
    frame = pd.DataFrame({"a": ["A & B", "A"], "b": ["C", "B & C"]})
    groups = _groups(frame)
    assert groups.n_groups == 2
    assert groups.codes[0] != groups.codes[1]


def test_plain_intersection_labels_stay_readable():
    frame = pd.DataFrame({"race": ["Black", "White"], "sex": ["F", "M"]})
    assert _groups(frame).labels.tolist() == ["Black & F", "White & M"]


def test_cells_and_counts_match_a_loop():
    rng = np.random.default_rng(3)
    groups = _groups(rng.choice(["a", "b", "c"], size=50))
    y = rng.integers(0, 3, size=50)
    counts = groups.cell_counts(y, 3)
    for g, c in itertools.product(range(3), range(3)):
        assert counts[g, c] == np.sum((groups.codes == g) & (y == c))
    weights = rng.random(50)
    weighted = groups.cell_counts(y, 3, sample_weight=weights)
    assert weighted[1, 2] == pytest.approx(
        weights[(groups.codes == 1) & (y == 2)].sum()
    )
    g, c = decode_cells(groups.cells(y, 3), 3)
    assert g.tolist() == groups.codes.tolist() and c.tolist() == y.tolist()


def test_encode_labels_marks_unseen():
    known = np.array(["a", "c"], dtype=object)
    assert encode_labels(["c", "b", "a", "z"], known).tolist() == [1, -1, 0, -1]
    assert encode_labels(["a"], np.array([], dtype=object)).tolist() == [-1]


def test_resolve_without_data_or_groups_names_the_fix():
    with pytest.raises(ValueError, match="pass the data X or the groups"):
        SensitiveGroups.resolve(None, None, caller="test")


VALUES = st.one_of(
    st.integers(-3, 3),
    st.floats(-3, 3).map(lambda v: round(v, 1)),
    st.sampled_from(["a", "b", "1", "A & B", "x\\&"]),
    st.booleans(),
    st.none(),
)


def _reference_label(value):
    """Independent statement of the documented normalisation rule."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING_LABEL
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


@settings(deadline=None, max_examples=60)
@given(st.lists(VALUES, min_size=1, max_size=40))
def test_labels_follow_the_documented_rule(values):
    frame = check_sensitive_features(pd.Series(values, dtype=object), len(values))
    assert frame.iloc[:, 0].tolist() == [_reference_label(v) for v in values]


@settings(deadline=None, max_examples=60)
@given(
    st.integers(1, 3).flatmap(
        lambda k: st.lists(st.tuples(*[VALUES] * k), min_size=1, max_size=40)
    ),
    st.randoms(use_true_random=False),
)
def test_codes_and_cells_are_invariant_to_row_order(rows, rnd):
    k = len(rows[0])
    frame = pd.DataFrame(
        {f"attr{j}": pd.Series([r[j] for r in rows], dtype=object) for j in range(k)}
    )
    y = np.array([len(str(r)) % 2 for r in rows])
    order = list(range(len(rows)))
    rnd.shuffle(order)
    groups = _groups(frame)
    shuffled = _groups(frame.iloc[order].reset_index(drop=True))
    # Same groups whatever the order, each row keeps its group ...
    assert shuffled.groups.tolist() == groups.groups.tolist()
    assert shuffled.codes.tolist() == groups.codes[order].tolist()
    assert (shuffled.cell_counts(y[order], 2) == groups.cell_counts(y, 2)).all()
    # ... no invented group, and distinct value tuples never share a label.
    reference = [tuple(_reference_label(v) for v in r) for r in rows]
    assert groups.n_groups == len(set(reference))
    by_label = {}
    for label, ref in zip(groups.labels, reference, strict=True):
        assert by_label.setdefault(label, ref) == ref


def test_cell_codes_are_the_documented_formula():
    g, c = np.array([0, 2, 1]), np.array([1, 0, 2])
    assert cell_codes(g, c, 3).tolist() == [1, 6, 5]
    assert cell_counts(g, c, 3, 3).sum() == 3
