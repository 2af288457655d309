"""Maximum-likelihood helpers shared by the purchase and spend models.

    minimize      BFGS over log-parameters, with a convergence flag that accepts a flat optimum
    information   observed information (Hessian of the summed negative log-likelihood) by central
                  differences of an analytic gradient
    std_errors    standard errors (delta method to the natural scale) and the condition number of the
                  information, the fit diagnostic that tells a weakly identified model
    log_hyp2f1    log ₂F₁(a, b; c; z) that falls back to Euler's transformation when the series overflows
"""

import numpy as np
from scipy import optimize, special


def minimize(fun, theta0):
    """BFGS on the log-parameters (unconstrained), to a gradient of the mean log-likelihood below 1e-9.

    BFGS rather than L-BFGS-B: with a handful of parameters the quasi-Newton matrix is tiny, and L-BFGS-B's
    calls into a threaded BLAS cost more on a busy machine than the whole likelihood.  ``converged`` also
    accepts a stop for "precision loss" when the gradient is already negligible (the optimum is flat in
    double precision).
    """
    result = optimize.minimize(fun, theta0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 1000})
    gradient = np.max(np.abs(result.jac)) if result.jac is not None else np.inf
    result.converged = bool(result.success or gradient < 1e-6)
    return result


def information(grad, theta, weight, step=1e-5):
    """Observed information in log-parameters: the Hessian of the summed negative log-likelihood.

    ``grad(theta)`` is the gradient of the *mean* negative log-likelihood (the objective the fits
    minimise); ``weight`` is the number of customers it averages over.  The Hessian is taken by central
    differences of that gradient and symmetrised.
    """
    k = len(theta)
    hessian = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = step
        hessian[:, j] = (grad(theta + e) - grad(theta - e)) / (2 * step)
    return (hessian + hessian.T) / 2 * weight


def std_errors(hessian, theta, names):
    """``(errors, condition)`` from the observed information in log-parameters.

    ``errors`` maps each name to the asymptotic standard error of exp(θ) (delta method:
    d(exp θ) = exp θ · dθ); it is empty when the information is singular or not positive on the diagonal
    of its inverse.  ``condition`` is the 2-norm condition number of the information (np.inf when it is
    singular or not finite): a large value means some combination of parameters is barely determined
    by the data.
    """
    if not np.all(np.isfinite(hessian)):
        return {}, float("inf")
    condition = float(np.linalg.cond(hessian))
    if not np.isfinite(condition):
        condition = float("inf")
    try:
        cov_log = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return {}, float("inf")
    var = np.diag(cov_log)
    if np.any(~np.isfinite(var)) or np.any(var <= 0):
        return {}, condition
    se = np.exp(theta) * np.sqrt(var)
    return dict(zip(names, (float(v) for v in se), strict=True)), condition


def log_hyp2f1(a, b, c, z):
    """log ₂F₁(a, b; c; z) element-wise, for 0 ≤ z < 1.

    Where ``scipy.special.hyp2f1`` overflows or fails (large a and b, as for very frequent buyers),
    Euler's transformation ₂F₁(a, b; c; z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) gives the value instead.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_hyp = np.log(special.hyp2f1(a, b, c, z))
        bad = ~np.isfinite(log_hyp)
        if np.any(bad):
            a_b, b_b = np.broadcast_to(a, bad.shape)[bad], np.broadcast_to(b, bad.shape)[bad]
            c_b, z_b = np.broadcast_to(c, bad.shape)[bad], np.broadcast_to(z, bad.shape)[bad]
            log_hyp[bad] = (np.log(special.hyp2f1(c_b - a_b, c_b - b_b, c_b, z_b))
                            + (c_b - a_b - b_b) * np.log1p(-z_b))
    return log_hyp
