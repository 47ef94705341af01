"""Exact solver of the worst-group logistic regression problem.

Minimise over ``theta = (w, b)``::

    F(theta) = max_g [ f_g(theta) ] + ||w||^2 / (2 * C * n_samples)

where ``f_g`` is the mean log-loss over group ``g`` plus a constant. The problem is
convex but not smooth. It is solved by sequential quadratic programming on its
epigraph form ``min t + R(w) s.t. f_g(theta) <= t``: at each iteration the model
``max_g [f_g + J_g d] + R'd + d'Hd / 2``, with ``H`` the Hessian of the Lagrangian
``sum_g q_g f_g + R`` at the current multipliers ``q``, is minimised exactly through
its dual, a quadratic program over the simplex with one variable per group. A
backtracking line search on ``F`` makes every step decrease the objective, and the
Newton-type model makes the last steps converge quadratically, so the optimum is
reached to machine precision in a few tens of passes over the data. The multipliers
``q`` are the optimal group weights (the adversary's distribution).
"""

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize
from scipy.special import expit

__all__ = ["GroupDROProblem", "solve_group_dro"]

_CHUNK = 65_536
_ARMIJO = 1e-4


class GroupDROProblem:
    """Data of a worst-group logistic problem, rows sorted by group.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features, float64.
    y : ndarray of shape (n_samples,)
        Targets in {0, 1}.
    codes : ndarray of shape (n_samples,)
        Group code of each row, in ``range(n_groups)``; every group non-empty.
    offsets : ndarray of shape (n_groups,)
        Constant added to each group's mean loss.
    alpha : float
        Penalty ``1 / (C * n_samples)`` on ``||w||^2 / 2``.
    fit_intercept : bool
        Whether ``theta`` ends with an unpenalised intercept.
    """

    def __init__(self, X, y, codes, offsets, alpha, fit_intercept):
        order = np.argsort(codes, kind="stable")
        columns = [X[order]] + ([np.ones((X.shape[0], 1))] if fit_intercept else [])
        self.X = np.hstack(columns) if fit_intercept else columns[0]
        self.y = y[order].astype(np.float64)
        self.sizes = np.bincount(codes)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.row_group = np.repeat(np.arange(self.sizes.size), self.sizes)
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.penalty = np.full(self.X.shape[1], alpha)
        if fit_intercept:
            self.penalty[-1] = 0.0

    def group_losses(self, z):
        """Mean log-loss of each group plus its offset, for the log-odds ``z``."""
        loss = np.logaddexp(0.0, z) - self.y * z
        return np.add.reduceat(loss, self.starts) / self.sizes + self.offsets

    def regulariser(self, theta):
        """Return ``||w||^2 / (2 C n)``."""
        return 0.5 * np.dot(self.penalty * theta, theta)

    def objective(self, theta, z=None):
        """Return ``F(theta)``."""
        z = self.X @ theta if z is None else z
        return self.group_losses(z).max() + self.regulariser(theta)

    def group_gradients(self, z):
        """Return the gradients of every ``f_g``, one row per group."""
        residual = (expit(z) - self.y) / self.sizes[self.row_group]
        blocks = zip(self.starts, self.starts + self.sizes, strict=True)
        return np.array([self.X[s:e].T @ residual[s:e] for s, e in blocks])

    def lagrangian_hessian(self, z, q):
        """Return the Hessian of ``sum_g q_g f_g + R`` at log-odds ``z``."""
        p = expit(z)
        weight = p * (1.0 - p) * (q / self.sizes)[self.row_group]
        hessian = np.diag(self.penalty)
        for start in range(0, self.X.shape[0], _CHUNK):
            block = self.X[start : start + _CHUNK]
            hessian += block.T @ (block * weight[start : start + _CHUNK, None])
        return hessian


def solve_group_dro(problem, *, tol, max_iter):
    """Minimise ``F`` of ``problem``; return ``theta, q, losses, n_iter, converged``.

    Parameters
    ----------
    problem : GroupDROProblem
        The data.
    tol : float
        Stop when the model predicts a decrease of ``F`` below
        ``tol * max(1, |F|)``, an upper bound on the relative optimality gap
        near the solution.
    max_iter : int
        Maximum number of SQP iterations.

    Returns
    -------
    theta : ndarray of shape (n_features + fit_intercept,)
    q : ndarray of shape (n_groups,)
        Optimal group weights (Lagrange multipliers), on the simplex.
    losses : ndarray of shape (n_groups,)
        ``f_g`` at ``theta``.
    n_iter : int
    converged : bool
    """
    theta = np.zeros(problem.X.shape[1])
    q = problem.sizes / problem.sizes.sum()
    z = np.zeros(problem.X.shape[0])
    for n_iter in range(1, max_iter + 1):
        losses = problem.group_losses(z)
        value = losses.max() + problem.regulariser(theta)
        step, q_new, decrease = _sqp_step(problem, theta, z, q, losses)
        q = q_new
        if -decrease <= tol * max(1.0, abs(value)):
            theta, z = _final_step(problem, theta, z, step, value)
            return theta, q, problem.group_losses(z), n_iter, True
        theta, z = _line_search(problem, theta, z, step, value, decrease)
    return theta, q, problem.group_losses(z), max_iter, False


def _sqp_step(problem, theta, z, q, losses):
    jacobian = problem.group_gradients(z)
    hessian = problem.lagrangian_hessian(z, q)
    hessian[np.diag_indices_from(hessian)] += 1e-12 * max(np.trace(hessian), 1e-300)
    factor = cho_factor(hessian)
    reg_gradient = problem.penalty * theta
    h_inv_jt = cho_solve(factor, jacobian.T)
    gram = jacobian @ h_inv_jt
    linear = losses - jacobian @ cho_solve(factor, reg_gradient)
    q_new = solve_simplex_qp(0.5 * (gram + gram.T), linear, q)
    step = -cho_solve(factor, reg_gradient + jacobian.T @ q_new)
    decrease = (losses + jacobian @ step).max() - losses.max() + reg_gradient @ step
    return step, q_new, min(decrease, 0.0)


def _final_step(problem, theta, z, step, value):
    # The last Newton step is nearly free and squares the remaining error.
    candidate, z_candidate = theta + step, z + problem.X @ step
    if problem.objective(candidate, z_candidate) <= value:
        return candidate, z_candidate
    return theta, z


def _line_search(problem, theta, z, step, value, decrease):
    direction = problem.X @ step
    alpha = 1.0
    for _ in range(60):
        candidate = theta + alpha * step
        z_candidate = z + alpha * direction
        if (
            problem.objective(candidate, z_candidate)
            <= value + _ARMIJO * alpha * decrease
        ):
            return candidate, z_candidate
        alpha *= 0.5
    return theta, z


def solve_simplex_qp(gram, linear, start):
    """Minimise ``q'Mq/2 - b'q`` over the probability simplex.

    Parameters
    ----------
    gram : ndarray of shape (k, k)
        Symmetric positive semi-definite ``M``.
    linear : ndarray of shape (k,)
        ``b``.
    start : ndarray of shape (k,)
        Starting point on the simplex.

    Returns
    -------
    q : ndarray of shape (k,)
        The minimiser, refined by solving the optimality conditions on its support.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.training._dro_solver import solve_simplex_qp
    >>> solve_simplex_qp(np.eye(2), np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    array([1., 0.])
    """
    if linear.size == 1:
        return np.ones(1)
    result = minimize(
        lambda q: (0.5 * q @ gram @ q - linear @ q, gram @ q - linear),
        start,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * linear.size,
        constraints={"type": "eq", "fun": lambda q: q.sum() - 1.0, "jac": np.ones_like},
        options={"ftol": 1e-16, "maxiter": 500},
    )
    q = np.clip(result.x, 0.0, None)
    q /= q.sum()
    return _polish(gram, linear, q)


def _polish(gram, linear, q):
    support = q > 1e-9
    k = int(support.sum())
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = gram[np.ix_(support, support)]
    kkt[:k, k] = kkt[k, :k] = 1.0
    try:
        solution = np.linalg.solve(kkt, np.concatenate([linear[support], [1.0]]))
    except np.linalg.LinAlgError:
        return q
    if np.any(solution[:k] < 0) or not np.all(np.isfinite(solution)):
        return q
    polished = np.zeros_like(q)
    polished[support] = solution[:k]

    def value(v):
        return 0.5 * v @ gram @ v - linear @ v

    return polished if value(polished) <= value(q) + 1e-15 else q
