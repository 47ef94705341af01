import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from healthbalance.training._operating_points import (
    NO_POSITIVES,
    events_needed,
    lower_confidence_bound,
    operating_point,
)


def _exact_lower(k, n, confidence):
    """Reference bound: scipy's exact one-sided binomial interval."""
    test = binomtest(int(k), int(n), alternative="greater")
    return test.proportion_ci(confidence_level=confidence, method="exact").low


def _brute_force(y, s, objective, target, confidence):
    """Try every distinct score (and one above all); pick by the definition."""
    positives = objective != "specificity"
    n = int(y.sum()) if positives else int((1 - y).sum())
    rows = []
    for t in np.append(np.unique(s), np.inf):
        flagged = s >= t
        k = int(flagged[y == 1].sum()) if positives else int((~flagged[y == 0]).sum())
        bound = k / n if confidence is None else _exact_lower(k, n, confidence)
        rows.append((t, k, bound))
    ok = [r for r in rows if r[2] >= target - 1e-12]
    if not ok:
        ok = [r for r in rows if r[1] == n]
    if objective == "equal_fnr" and confidence is None:
        return min(rows, key=lambda r: (abs(r[1] / n - target), -r[0]))
    pick = min if objective == "specificity" else max
    return pick(ok, key=lambda r: r[0])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 40)), min_size=2, max_size=60),
    st.sampled_from(["sensitivity", "specificity", "equal_fnr"]),
    st.floats(0.0, 1.0),
    st.one_of(st.none(), st.floats(0.5, 0.99)),
    st.integers(1, 40),
)
def test_operating_point_matches_brute_force(rows, objective, target, conf, levels):
    y = np.array([int(r[0]) for r in rows])
    s = np.array([r[1] % levels / levels for r in rows])  # few levels: many ties
    if y.min() == y.max():
        y[0] = 1 - y[0]
    point = operating_point(y, s, objective, target, conf)
    t, k, bound = _brute_force(y, s, objective, target, conf)
    expected = NO_POSITIVES if np.isinf(t) else t
    assert point.threshold == expected
    n = y.sum() if objective != "specificity" else (1 - y).sum()
    assert point.rate == pytest.approx(k / n)
    assert point.reached == (bound >= target - 1e-12)
    if conf is None:
        assert np.isnan(point.lower_bound)
    else:
        assert point.lower_bound == pytest.approx(bound, abs=1e-9)


@pytest.mark.parametrize("n", [1, 7, 20, 200])
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.975])
def test_lower_bound_is_scipys_exact_one_sided_bound(n, confidence):
    k = np.arange(n + 1)
    expected = [_exact_lower(i, n, confidence) for i in k]
    np.testing.assert_allclose(lower_confidence_bound(k, n, confidence), expected)


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95])
def test_events_needed_is_the_first_n_whose_bound_can_reach_the_target(
    target, confidence
):
    n = next(n for n in range(1, 1000) if _exact_lower(n, n, confidence) >= target)
    assert events_needed(target, confidence) == n


def test_no_number_of_events_shows_a_target_of_one():
    assert events_needed(1.0, 0.9) is None
