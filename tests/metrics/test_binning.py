"""Score bins: stand-ins fall in their bin, on the right side of every edge."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from healthbalance.metrics._binning import bin_codes, stand_ins

probabilities = st.floats(0, 1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    # edges as bin_edges makes them: never adjacent floats (its grid, k / n_bins)
    edges=st.lists(st.integers(0, 1000), min_size=1, max_size=20, unique=True),
    scores=st.lists(probabilities, min_size=1, max_size=50),
    exact=st.lists(st.integers(0, 19), max_size=10),
)
def test_stand_ins_keep_the_side_of_every_edge(edges, scores, exact):
    edges = np.sort(np.array(edges)) / 1000
    # scores equal to edges (the threshold, k / n_bins) are the delicate case
    scores = np.r_[scores, edges[np.array(exact, dtype=int) % edges.size]]
    codes = bin_codes(scores, edges)
    inside = stand_ins(codes, edges)
    np.testing.assert_array_equal(bin_codes(inside, edges), codes)
    for edge in edges:
        # the threshold rule (score >= t) and calibration_curve's (score <= edge
        # falls below it) see the stand-in as they see the score
        np.testing.assert_array_equal(inside >= edge, scores >= edge)
        np.testing.assert_array_equal(inside <= edge, scores <= edge)
