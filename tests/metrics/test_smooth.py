"""The smoothers against independent references: R's loess (scikit-misc), sklearn."""

import numpy as np
import pytest
import skmisc.loess as skmisc_loess
from sklearn.calibration import calibration_curve

from healthbalance.metrics._calibration_error import weighted_quantile
from healthbalance.metrics._smooth import bins, loess, spline


def _reference(x, y, at, span, degree):
    """R's loess (the C/Fortran code of R, via scikit-misc), exact surface."""
    model = skmisc_loess.loess(
        x, y, span=span, degree=degree, family="gaussian", surface="direct"
    )
    model.fit()
    return model.predict(at).values


@pytest.mark.parametrize("degree", [1, 2])
@pytest.mark.parametrize(("n", "span"), [(40, 0.75), (300, 0.75), (1000, 0.3)])
def test_loess_equals_r_loess_on_rows(degree, n, span):
    rng = np.random.default_rng(n)
    x = np.sort(rng.beta(2, 5, n))
    y = rng.binomial(1, x).astype(float)
    at = np.linspace(x[2], x[-3], 37)
    ours = loess(x, np.ones((1, n)), y[None, :], at, span=span, degree=degree)[0]
    np.testing.assert_allclose(ours, _reference(x, y, at, span, degree), atol=1e-8)


def test_weighted_cells_equal_the_repeated_rows():
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0.02, 0.8, 60))
    w = rng.integers(0, 6, size=(3, 60)).astype(float)
    e = np.floor(w * rng.uniform(0, 1, size=(3, 60)))
    at = np.linspace(0.05, 0.75, 15)
    ours = loess(x, w, e, at)
    for k in range(3):
        rows_x = np.repeat(x, w[k].astype(int))
        rows_y = np.concatenate(
            [
                np.r_[np.ones(int(ek)), np.zeros(int(wk - ek))]
                for wk, ek in zip(w[k], e[k], strict=True)
            ]
        )
        np.testing.assert_allclose(
            ours[k], _reference(rows_x, rows_y, at, 0.75, 2), atol=1e-8
        )


@pytest.mark.parametrize("n_bins", [5, 10])
def test_bins_equal_calibration_curve(n_bins):
    rng = np.random.default_rng(n_bins)
    x = np.round(rng.beta(2, 4, 500), 1)  # values on the bin edges too
    y = rng.binomial(1, x)
    predicted, observed, count = bins(x, np.ones((1, 500)), y[None, :] * 1.0, n_bins)
    prob_true, prob_pred = calibration_curve(y, x, n_bins=n_bins)
    kept = count[0] > 0
    np.testing.assert_allclose(observed[0, kept], prob_true, rtol=1e-12)
    np.testing.assert_allclose(predicted[0, kept], prob_pred, rtol=1e-12)


def test_spline_recovers_a_logistic_recalibration():
    """A spline in logit(p) holds the linear logistic model: the fit is close."""
    rng = np.random.default_rng(3)
    p = np.sort(rng.uniform(0.02, 0.9, 40_000))
    truth = 1 / (1 + np.exp(-(0.4 + 0.8 * np.log(p / (1 - p)))))
    y = rng.binomial(1, truth).astype(float)
    at = np.linspace(0.1, 0.8, 8)
    fit = spline(p, np.ones((1, p.size)), y[None, :], at)[0]
    expected = 1 / (1 + np.exp(-(0.4 + 0.8 * np.log(at / (1 - at)))))
    np.testing.assert_allclose(fit, expected, atol=0.02)


@pytest.mark.parametrize("q", [0.0, 0.5, 0.9, 1.0])
def test_weighted_quantile_equals_numpy_on_repeated_rows(q):
    rng = np.random.default_rng(4)
    values = rng.uniform(size=(4, 30))
    weights = rng.integers(0, 4, size=(4, 30))
    ours = weighted_quantile(values, weights, q)
    for k in range(4):
        assert ours[k] == pytest.approx(
            np.quantile(np.repeat(values[k], weights[k]), q)
        )


def _natural_spline_basis(x, knots):
    """Natural cubic splines (linear beyond the outer knots), from scipy's interpolants.

    The same function space as the restricted cubic spline, in another basis.
    """
    from scipy.interpolate import CubicSpline

    columns = []
    for j in range(knots.size):
        spline_j = CubicSpline(knots, np.eye(knots.size)[j], bc_type="natural")
        value = spline_j(x)
        for end in (knots[0], knots[-1]):
            outside = x < end if end == knots[0] else x > end
            value[outside] = spline_j(end) + spline_j(end, 1) * (x[outside] - end)
        columns.append(value)
    return np.stack(columns, axis=1)


def test_spline_equals_a_natural_spline_logistic_fit_by_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    p = np.sort(rng.beta(2, 5, 3000))
    y = rng.binomial(1, np.clip(p * (1.5 - p), 0, 1))
    logit = np.log(p / (1 - p))
    knots = np.quantile(logit, [0.05, 0.35, 0.65, 0.95], method="inverted_cdf")
    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12)
    model.set_params(max_iter=10_000)
    model.fit(_natural_spline_basis(logit, knots), y)
    at = np.linspace(0.02, 0.8, 9)
    at_logit = np.log(at / (1 - at))
    expected = model.predict_proba(_natural_spline_basis(at_logit, knots))[:, 1]
    ours = spline(p, np.ones((1, p.size)), y[None, :] * 1.0, at)[0]
    np.testing.assert_allclose(ours, expected, atol=1e-6)
