import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from healthbalance import UnseenGroupWarning
from healthbalance._prior import (
    apply_prior_shift,
    check_unseen_groups,
    class_priors,
    fit_intercept_shift,
    odds_ratio_shift,
)
from tests._strategies import cohorts
from tests.training._helpers import offset_mle


def _posterior(likelihood, prior):
    """Brute-force Bayes: p(c | x) for every x from p(x | c) and p(c)."""
    n_classes, n_values = likelihood.shape
    posterior = np.empty((n_values, n_classes))
    for x in range(n_values):
        joint = [likelihood[c, x] * prior[c] for c in range(n_classes)]
        posterior[x] = np.array(joint) / sum(joint)
    return posterior


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_classes=st.integers(2, 5),
    n_values=st.integers(1, 12),
)
def test_odds_ratio_recovers_the_posterior_under_the_original_prior(
    seed, n_classes, n_values
):
    rng = np.random.default_rng(seed)
    likelihood = rng.dirichlet(np.ones(n_values), size=n_classes)
    prior = rng.dirichlet(np.ones(n_classes))
    resampled_prior = rng.dirichlet(np.ones(n_classes))
    learnt = _posterior(likelihood, resampled_prior)
    corrected = apply_prior_shift(learnt, odds_ratio_shift(prior, resampled_prior))
    np.testing.assert_allclose(corrected, _posterior(likelihood, prior))


def test_binary_odds_ratio_is_an_intercept_shift():
    rng = np.random.default_rng(0)
    p = rng.random(20)
    pi, pi_res = 0.08, 0.5
    shift = odds_ratio_shift([1 - pi, pi], [1 - pi_res, pi_res])
    corrected = apply_prior_shift(np.c_[1 - p, p], shift)
    np.testing.assert_allclose(
        corrected[:, 1], expit(logit(p) + logit(pi) - logit(pi_res))
    )


def test_per_row_shifts_correct_each_row_with_its_own():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), size=5)
    shift = odds_ratio_shift(
        rng.dirichlet(np.ones(3), size=5), rng.dirichlet(np.ones(3), size=5)
    )
    corrected = apply_prior_shift(proba, shift)
    for i in range(5):
        row = proba[i] * np.exp(shift[i])
        np.testing.assert_allclose(corrected[i], row / row.sum())


@settings(max_examples=50, deadline=None)
@given(cohort=cohorts(), weighted=st.booleans(), extra_groups=st.integers(0, 2))
def test_class_priors_match_a_loop(cohort, weighted, extra_groups):
    # Sizes, groups, classes, class balance and empty cells vary; groups without
    # rows (``extra_groups``) must get zeros. Expectations loop over the raw labels.
    _, y, _, cells = cohort
    n_groups, n_classes = cells.counts.shape
    rng = np.random.default_rng(y.size)
    weights = rng.random(y.size) + 0.01 if weighted else None
    priors = class_priors(
        cells.group,
        cells.label,
        n_groups + extra_groups,
        n_classes,
        sample_weight=weights,
    )
    w = np.ones(y.size) if weights is None else weights
    assert priors.shape == (n_groups + extra_groups, n_classes)
    for g in range(n_groups):
        in_group = cells.group == g
        for c in range(n_classes):
            mass = w[in_group & (cells.label == c)].sum()
            assert np.isclose(priors[g, c], mass / w[in_group].sum())
    np.testing.assert_array_equal(priors[n_groups:], 0.0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 2000),
    bias=st.floats(-4.5, 3.0),
    slope=st.floats(0.3, 3.0),
    prevalence=st.floats(0.02, 0.6),
)
def test_intercept_shift_is_the_offset_mle(seed, n, bias, slope, prevalence):
    rng = np.random.default_rng(seed)
    eta = logit(prevalence) + rng.normal(size=n)
    y = (rng.random(n) < expit(eta)).astype(int)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    p = expit(bias + slope * eta)  # a strongly miscalibrated model
    shift = fit_intercept_shift(np.c_[1 - p, p], y)
    assert shift[0] == 0
    assert shift[1] == pytest.approx(offset_mle(y, p), abs=1e-6)
    corrected = apply_prior_shift(np.c_[1 - p, p], shift)
    assert corrected[:, 1].mean() == pytest.approx(y.mean(), abs=1e-9)


@pytest.mark.parametrize("n_classes", [3, 4])
def test_multiclass_intercept_shift_matches_every_class_share(n_classes):
    rng = np.random.default_rng(n_classes)
    proba = rng.dirichlet(np.ones(n_classes) * 0.7, size=500)
    y = rng.choice(n_classes, size=500, p=rng.dirichlet(np.ones(n_classes)))
    corrected = apply_prior_shift(proba, fit_intercept_shift(proba, y))
    np.testing.assert_allclose(
        corrected.mean(axis=0), np.bincount(y, minlength=n_classes) / 500, atol=1e-9
    )


def test_unseen_groups_warn_once_naming_them_or_raise():
    codes, labels = np.array([0, -1, -1, 1, -1]), np.array(list("axyby"))
    with pytest.warns(UnseenGroupWarning, match=r"\['x', 'y'\]") as record:
        unseen = check_unseen_groups(codes, labels, "overall", caller="t", fallback="f")
    assert len(record) == 1
    assert unseen.tolist() == [False, True, True, False, True]
    with pytest.raises(ValueError, match=r"t got groups \['x', 'y'\].*unseen_group"):
        check_unseen_groups(codes, labels, "error", caller="t", fallback="f")
