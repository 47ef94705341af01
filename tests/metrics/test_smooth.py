"""The smoothers against independent references: R's loess (scikit-misc), sklearn."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from healthbalance.metrics._calibration_error import weighted_quantile
from healthbalance.metrics._smooth import bins, loess, spline

skmisc_loess = pytest.importorskip("skmisc.loess")


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
