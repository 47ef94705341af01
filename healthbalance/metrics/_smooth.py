"""Smoothers of the observed risk on the predicted risk, from weighted cells.

Every smoother reads *cells*: distinct predictions ``x`` (sorted), the counted
patients ``w`` at each (a weight of 3 is three patients) and their counted events
``e``; the rows of a group are the cells of weight 1. Weighted cells give the
same curve as the repeated rows, which is what lets the binned statistics of the
engine (:attr:`~healthbalance.metrics._count_batch.CountBatch.logit_data`) and
sources without rows feed them. All are vectorised over a batch of replicates
(weights of shape ``(n_replicates, n_cells)``, ``x`` shared).

- :func:`loess`: local polynomial regression with tricube weights, R's
  ``loess(y ~ p)`` with its defaults (``span=0.75``, ``degree=2``, gaussian
  family, no robustness iterations), as used by Austin and Steyerberg (2019) for
  the integrated calibration index; the neighbourhood of a point holds the
  ``floor(span * n)`` nearest patients (R's ``q``), counted with their weights. R
  interpolates the fit between the vertices of a k-d tree by default
  (``surface="interpolate"``); this is the exact fit of ``surface="direct"``.
- :func:`spline`: logistic regression of the outcome on a restricted cubic
  spline of ``logit(p)`` (Harrell's knots at fixed quantiles), fitted by Newton.
- :func:`bins`: the mean outcome and mean prediction of equal-width bins of
  [0, 1], as :func:`sklearn.calibration.calibration_curve` with
  ``strategy="uniform"``.
"""

import numpy as np
from scipy.special import expit

__all__ = ["LOESS_DEGREE", "LOESS_SPAN", "bins", "loess", "spline", "SPLINE_KNOTS"]

LOESS_SPAN = 0.75
LOESS_DEGREE = 2
SPLINE_KNOTS = 4
# Harrell's knot quantiles of a restricted cubic spline with 3 to 5 knots.
_KNOT_QUANTILES = {
    3: (0.1, 0.5, 0.9),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.5, 0.725, 0.95),
}
_BISECTIONS = 64
_BLOCK = 2**18  # elements of one (replicates, points, cells) array


def loess(x, w, e, at, *, span=LOESS_SPAN, degree=LOESS_DEGREE):
    """Local polynomial fit of the event rate on ``x``, evaluated at ``at``.

    Parameters
    ----------
    x : ndarray of shape (n_cells,)
        Sorted cell locations (predicted risks).
    w, e : ndarray of shape (n_replicates, n_cells)
        Counted patients and events of each cell.
    at : ndarray of shape (n_points,)
        Where to evaluate the fit.
    span : float, default=0.75
        Share of the patients in each neighbourhood, in (0, 1].
    degree : {1, 2}, default=2
        Degree of the local polynomials.

    Returns
    -------
    fit : ndarray of shape (n_replicates, n_points)
        NaN where the neighbourhood is empty (no counted patient).

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics._smooth import loess
    >>> x = np.linspace(0, 1, 11)
    >>> fit = loess(x, np.ones((1, 11)), x[None, :] ** 2, np.array([0.5]))
    >>> round(float(fit[0, 0]), 6)  # a quadratic is fitted exactly
    0.25
    """
    x, at = np.asarray(x, float), np.asarray(at, float)
    w, e = np.asarray(w, float), np.asarray(e, float)
    h = _bandwidth(x, w, at, span)
    # a few replicates at a time: the (replicates, points, cells) arrays stay small
    step = max(1, _BLOCK // max(at.size * x.size, 1))
    return np.concatenate(
        [
            _local_fit(x, w[k : k + step], e[k : k + step], at, h[k : k + step], degree)
            for k in range(0, w.shape[0], step)
        ]
    )


def _local_fit(x, w, e, at, h, degree):
    """Weighted least squares at each point, from the tricube-weighted moments."""
    z = (x[None, None, :] - at[None, :, None]) / h[:, :, None]
    kernel = np.clip(1 - np.abs(z) ** 3, 0, None) ** 3
    kw, ke = kernel * w[:, None, :], kernel * e[:, None, :]
    moments, targets = [kw.sum(axis=2)], [ke.sum(axis=2)]
    for j in range(1, 2 * degree + 1):
        kw *= z
        moments.append(kw.sum(axis=2))
        if j <= degree:
            ke *= z
            targets.append(ke.sum(axis=2))
    index = np.add.outer(np.arange(degree + 1), np.arange(degree + 1))
    gram = np.stack(moments, axis=-1)[..., index]
    # a ridge of 1e-12 of the scale: a neighbourhood with fewer distinct
    # predictions than coefficients gets a finite (lower-degree like) fit
    ridge = 1e-12 * np.maximum(moments[0], 1e-300)[..., None, None]
    gram = gram + ridge * np.eye(degree + 1)
    coef = np.linalg.solve(gram, np.stack(targets, axis=-1)[..., None])[..., 0]
    return np.where(moments[0] > 0, coef[..., 0], np.nan)


def _bandwidth(x, w, at, span):
    """Distance from each point to its ``floor(span * n)``-th nearest patient.

    Bisection on the radius (the counted patients within it grow with it), then
    snapped to the farthest cell inside, so the radius is a cell's distance.
    """
    cum = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(w, axis=1)], axis=1)
    q = np.floor(span * cum[:, -1] + 1e-9)[:, None]
    lo = np.zeros((w.shape[0], at.size))
    hi = np.full_like(lo, max(at.max(initial=0) - x[0], x[-1] - at.min(initial=0)))
    hi = np.maximum(hi, 0) + 1.0
    rows = np.arange(w.shape[0])[:, None]

    def inside(radius):
        left = np.searchsorted(x, at - radius, side="left")
        right = np.searchsorted(x, at + radius, side="right")
        return cum[rows, right] - cum[rows, left], left, right

    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        enough = inside(mid)[0] >= q
        hi = np.where(enough, mid, hi)
        lo = np.where(enough, lo, mid)
    _, left, right = inside(hi)
    far_left = np.where(left < x.size, at - x[np.minimum(left, x.size - 1)], 0)
    far_right = np.where(right > 0, x[np.maximum(right - 1, 0)] - at, 0)
    radius = np.maximum(far_left, far_right)
    return np.where(radius > 0, radius, np.finfo(float).tiny)


def spline(x, w, e, at, *, knots=SPLINE_KNOTS):
    """Logistic regression on a restricted cubic spline of ``logit(p)``.

    Parameters
    ----------
    x : ndarray of shape (n_cells,)
        Sorted cell locations (predicted risks in (0, 1)).
    w, e : ndarray of shape (n_replicates, n_cells)
        Counted patients and events of each cell.
    at : ndarray of shape (n_points,)
        Where to evaluate the fit.
    knots : {3, 4, 5}, default=4
        Number of knots, at Harrell's quantiles of the (counted) logits.

    Returns
    -------
    fit : ndarray of shape (n_replicates, n_points)
    """
    logit = _logit(x)
    total = w.sum(axis=1)
    cum = np.cumsum(w, axis=1) / np.maximum(total, 1e-300)[:, None]
    fit = np.empty((w.shape[0], np.size(at)))
    for k in range(w.shape[0]):
        cut = np.searchsorted(cum[k], _KNOT_QUANTILES[knots])
        t = np.unique(logit[np.minimum(cut, logit.size - 1)])
        basis = _rcs(logit, t)
        beta = _logistic(basis, w[k], e[k])
        fit[k] = expit(_rcs(_logit(at), t) @ beta)
    return fit


def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-15, 1 - 1e-15)
    return np.log(p) - np.log1p(-p)


def _rcs(x, t):
    """Restricted cubic spline basis (Harrell): intercept, x, and len(t) - 2 terms."""
    columns = [np.ones_like(x), x]
    if t.size >= 3:
        scale = (t[-1] - t[0]) ** 2
        last, before = t[-1], t[-2]
        for tj in t[:-2]:
            term = (
                np.clip(x - tj, 0, None) ** 3
                - np.clip(x - before, 0, None) ** 3 * (last - tj) / (last - before)
                + np.clip(x - last, 0, None) ** 3 * (before - tj) / (last - before)
            )
            columns.append(term / scale)
    return np.stack(columns, axis=1)


def _logistic(basis, w, e, iterations=50):
    """Maximum-likelihood logistic fit on cells (Newton with a small ridge)."""
    beta = np.zeros(basis.shape[1])
    for _ in range(iterations):
        mu = expit(basis @ beta)
        gradient = basis.T @ (e - w * mu)
        hessian = (basis * (w * mu * (1 - mu))[:, None]).T @ basis
        hessian[np.diag_indices_from(hessian)] += 1e-9
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def bins(x, w, e, n_bins):
    """Mean prediction and event rate of equal-width bins (``calibration_curve``).

    Parameters
    ----------
    x : ndarray of shape (n_cells,)
        Cell locations (predicted risks in [0, 1]).
    w, e : ndarray of shape (n_replicates, n_cells)
        Counted patients and events of each cell.
    n_bins : int
        Number of bins of [0, 1].

    Returns
    -------
    predicted, observed, count : ndarray of shape (n_replicates, n_bins)
        NaN in the bins without counted patients.
    """
    inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    index = np.searchsorted(inner, x, side="left")
    one_hot = np.zeros((x.size, n_bins))
    one_hot[np.arange(x.size), index] = 1.0
    count = w @ one_hot
    with np.errstate(divide="ignore", invalid="ignore"):
        predicted = (w * x) @ one_hot / count
        observed = e @ one_hot / count
    return predicted, observed, count
