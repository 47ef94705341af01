import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from healthbalance.utils._prior import class_priors, correct_priors


def _posterior(likelihood, prior):
    """Brute-force Bayes: p(c | x) for every x from p(x | c) and p(c)."""
    n_classes, n_values = likelihood.shape
    posterior = np.empty((n_values, n_classes))
    for x in range(n_values):
        joint = [likelihood[c, x] * prior[c] for c in range(n_classes)]
        posterior[x] = np.array(joint) / sum(joint)
    return posterior


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), n_classes=st.integers(2, 4))
def test_correction_recovers_the_posterior_under_the_original_prior(seed, n_classes):
    rng = np.random.default_rng(seed)
    likelihood = rng.dirichlet(np.ones(6), size=n_classes)
    prior = rng.dirichlet(np.ones(n_classes))
    resampled_prior = rng.dirichlet(np.ones(n_classes))
    learnt = _posterior(likelihood, resampled_prior)
    corrected = correct_priors(learnt, prior, resampled_prior)
    np.testing.assert_allclose(corrected, _posterior(likelihood, prior))


def test_binary_correction_is_the_odds_correction():
    rng = np.random.default_rng(0)
    p = rng.random(20)
    pi, pi_res = 0.08, 0.5
    odds = p / (1 - p) * (pi / (1 - pi)) / (pi_res / (1 - pi_res))
    corrected = correct_priors(np.c_[1 - p, p], [1 - pi, pi], [1 - pi_res, pi_res])
    np.testing.assert_allclose(corrected[:, 1], odds / (1 + odds))
    # On the logit scale it is a shift of the intercept.
    shift = logit(pi) - logit(pi_res)
    np.testing.assert_allclose(corrected[:, 1], expit(logit(p) + shift))


def test_per_row_priors_correct_each_row_with_its_own_prior():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(2), size=5)
    before = rng.dirichlet(np.ones(2), size=5)
    after = rng.dirichlet(np.ones(2), size=5)
    corrected = correct_priors(proba, before, after)
    for i in range(5):
        np.testing.assert_allclose(
            corrected[i], correct_priors(proba[i : i + 1], before[i], after[i])[0]
        )


def test_class_priors_match_a_loop():
    rng = np.random.default_rng(2)
    groups, classes = rng.integers(0, 3, 100), rng.integers(0, 2, 100)
    weights = rng.random(100)
    priors = class_priors(groups * 2 + classes, 3, 2, sample_weight=weights)
    for g in range(3):
        for c in range(2):
            mass = weights[(groups == g) & (classes == c)].sum()
            assert np.isclose(priors[g, c], mass / weights[groups == g].sum())
