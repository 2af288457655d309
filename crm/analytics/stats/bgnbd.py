"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys as a Poisson process with rate λ; λ varies across customers as
Gamma(shape r, rate α).  After every repeat purchase the customer drops out with probability p; p varies
as Beta(a, b).  A customer is described by (x, t_x, T): the number of repeat purchases, the time of the
last one and the age, all in the model's period unit (α is in that unit too).

Likelihood of one customer (FHL 2005, eq. 6):

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · [ (α+T)^-(r+x) + δ(x>0) · a/(b+x-1) · (α+t_x)^-(r+x) ]

Everything here works on arrays and in log space (``gammaln``, ``betaln``, ``logaddexp``); the fit
maximises the summed log-likelihood over log-parameters with L-BFGS-B and the analytic gradient, on the
distinct (x, t_x, T) rows weighted by their counts.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from .compress import encode_rows, unique_rows


def _dot(u, v):
    """Σ u·v without BLAS: a threaded BLAS dot on a busy machine costs more than the sum itself."""
    return float(np.sum(u * v))


PARAM_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_array(self):
        return np.array([self.r, self.alpha, self.a, self.b], dtype=np.float64)

    def as_dict(self):
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class BGNBDFit:
    params: BGNBDParams
    log_likelihood: float  # summed over customers (weighted), at the maximum; the penalty is not included
    customers: float  # total weight (number of customers)
    rows: int  # distinct (x, t_x, T) rows the fit ran on
    iterations: int
    converged: bool
    message: str
    penalizer: float = 0.0
    std_errors: dict = field(default_factory=dict)  # asymptotic standard errors (inverse observed information)


def _arrays(x, t_x, T):
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if (np.any(x < 0) or np.any(x != np.floor(x)) or np.any(t_x < 0) or np.any(t_x > T)
            or np.any((x == 0) & (t_x != 0))):
        raise ValueError("need whole x >= 0, 0 <= t_x <= T, and t_x = 0 when x = 0")
    return x, t_x, T


def log_likelihood(params, x, t_x, T):
    """Log-likelihood of each customer (an array), FHL 2005 eq. 6 in log space."""
    r, alpha, a, b = _params(params)
    x, t_x, T = _arrays(x, t_x, T)
    rx = r + x
    common = (special.gammaln(rx) - special.gammaln(r) + r * np.log(alpha)
              + special.betaln(a, b + x) - special.betaln(a, b))
    l3 = -rx * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        l4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - rx * np.log(alpha + t_x), -np.inf)
    return common + np.logaddexp(l3, l4)


def _params(params):
    if isinstance(params, BGNBDParams):
        return params.r, params.alpha, params.a, params.b
    if isinstance(params, BGNBDFit):
        return _params(params.params)
    r, alpha, a, b = (float(v) for v in params)
    return r, alpha, a, b


class _Objective:
    """Mean negative log-likelihood and its gradient in log-parameters, on weighted distinct rows.

    The mixture term is written as log(A3 + A4) = l3 + log(1 + e^d) with d = l4 − l3.  Everything in l3 and
    in the x-only terms is summed through per-T and per-x totals prepared once; only the customers with
    x > 0 pay for a per-row term, and that term needs no logarithm of the data: log(α+T) and log(α+t_x)
    are computed once per distinct T and t_x and gathered.
    """

    def __init__(self, enc, penalizer):
        (self.xu, self.tu, self.Tu) = (lv.astype(np.float64) for lv in enc.levels)
        xi, ti, Ti = enc.codes
        c = enc.counts
        x = self.xu[xi]
        self.W = c.sum()
        self.Wx = np.bincount(xi, weights=c, minlength=len(self.xu))
        self.WT = np.bincount(Ti, weights=c, minlength=len(self.Tu))
        self.XT = np.bincount(Ti, weights=c * x, minlength=len(self.Tu))
        rep = x > 0
        self.xi, self.ti, self.Ti = xi[rep], ti[rep], Ti[rep]
        self.x, self.c = x[rep], c[rep]
        self.pos = self.xu > 0
        self.penalizer = penalizer
        self.rows = enc.rows

    def _mixture(self, r, alpha, a, b):
        xu, pos = self.xu, self.pos
        lT = np.log(alpha + self.Tu)
        lt = np.log(alpha + self.tu)
        l4x = np.zeros(len(xu))
        l4x[pos] = np.log(a) - np.log(b + xu[pos] - 1)
        delta = lt[self.ti] - lT[self.Ti]  # log(α+t_x) − log(α+T) ≤ 0
        d = l4x[self.xi] - (r + self.x) * delta  # l4 − l3
        return lT, delta, d

    def log_likelihood(self, theta):
        r, alpha, a, b = np.exp(theta)
        lT, _delta, d = self._mixture(r, alpha, a, b)
        return self._ll(r, alpha, a, b, lT, d)

    def _ll(self, r, alpha, a, b, lT, d):
        xu = self.xu
        common = (special.gammaln(r + xu) - special.gammaln(r)
                  + special.betaln(a, b + xu) - special.betaln(a, b))
        return (_dot(self.Wx, common) + r * np.log(alpha) * self.W
                - _dot(r * self.WT + self.XT, lT) + _dot(self.c, np.logaddexp(0.0, d)))

    def value_and_grad(self, theta):
        r, alpha, a, b = np.exp(theta)
        xu, pos = self.xu, self.pos
        lT, delta, d = self._mixture(r, alpha, a, b)
        ll = self._ll(r, alpha, a, b, lT, d)
        cw4 = self.c * special.expit(d)  # weight of the "dropped out after the last purchase" branch
        inv_T = 1 / (alpha + self.Tu)
        inv_t = 1 / (alpha + self.tu)
        inv_b = np.zeros(len(xu))
        inv_b[pos] = 1 / (b + xu[pos] - 1)
        psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + xu)
        d_r = (_dot(self.Wx, special.digamma(r + xu) - special.digamma(r)) + np.log(alpha) * self.W
               - _dot(self.WT, lT) - _dot(cw4, delta))
        d_alpha = (r * self.W / alpha - _dot(r * self.WT + self.XT, inv_T)
                   - _dot(cw4 * (r + self.x), inv_t[self.ti] - inv_T[self.Ti]))
        s4 = cw4.sum()
        d_a = _dot(self.Wx, psi_ab - psi_abx) + s4 / a
        d_b = (_dot(self.Wx, special.digamma(b + xu) - psi_abx - special.digamma(b) + psi_ab)
               - _dot(np.bincount(self.xi, weights=cw4, minlength=len(xu)), inv_b))
        params = np.array([r, alpha, a, b])
        grad_nat = np.array([d_r, d_alpha, d_a, d_b])
        value = -ll / self.W + self.penalizer * np.sum(params**2)
        grad = -grad_nat * params / self.W + 2 * self.penalizer * params**2
        return value, grad, ll


def fit(x, t_x, T, weights=None, *, penalizer=0.0, initial=None, std_errors=True):
    """Maximum-likelihood BG/NBD fit.

    ``weights`` count customers per row (for data that is already compressed).  ``penalizer`` adds
    ``penalizer · Σ θ²`` to the mean negative log-likelihood (as ``lifetimes`` does); 0 by default.
    The fit runs on the distinct (x, t_x, T) rows.  Returns a :class:`BGNBDFit` whose
    ``log_likelihood`` is the sum over customers at the maximum.
    """
    x, t_x, T = _arrays(x, t_x, T)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(x) == 0 or w.sum() <= 0:
        raise ValueError("no customers to fit")
    objective = _Objective(encode_rows(x.astype(np.int64), t_x, T, weights=w), penalizer)
    if initial is None:
        rate = max(_dot(w, x) / max(_dot(w, T), 1e-12), 1e-6)
        initial = (1.0, 1.0 / rate, 1.0, 1.0)
    theta0 = np.log(np.asarray(_params(initial), dtype=np.float64))

    def fun(theta):
        value, grad, _ = objective.value_and_grad(theta)
        return value, grad

    result = _minimize(fun, theta0)
    theta = result.x
    ll = objective.log_likelihood(theta)
    params = BGNBDParams(*(float(v) for v in np.exp(theta)))
    errors = _std_errors(objective, theta) if std_errors else {}
    return BGNBDFit(params=params, log_likelihood=float(ll), customers=float(objective.W), rows=objective.rows,
                    iterations=int(result.nit), converged=result.converged, message=str(result.message),
                    penalizer=penalizer, std_errors=errors)


def _minimize(fun, theta0):
    """BFGS on the log-parameters (unconstrained), to a gradient of the mean log-likelihood below 1e-9.

    BFGS rather than L-BFGS-B: with four parameters the quasi-Newton matrix is tiny, and L-BFGS-B's calls
    into a threaded BLAS cost more on a busy machine than the whole likelihood.  ``converged`` also accepts
    a stop for "precision loss" when the gradient is already negligible (the optimum is flat in double
    precision).
    """
    result = optimize.minimize(fun, theta0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 1000})
    gradient = np.max(np.abs(result.jac)) if result.jac is not None else np.inf
    result.converged = bool(result.success or gradient < 1e-6)
    return result


def _std_errors(objective, theta, step=1e-5):
    """Standard errors from the observed information: central differences of the analytic gradient."""
    k = len(theta)
    hessian = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = step
        g_plus = objective.value_and_grad(theta + e)[1]
        g_minus = objective.value_and_grad(theta - e)[1]
        hessian[:, j] = (g_plus - g_minus) / (2 * step)
    hessian = (hessian + hessian.T) / 2 * objective.W  # of the summed negative log-likelihood
    try:
        cov_log = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return {}
    var = np.diag(cov_log)
    if np.any(var <= 0):
        return {}
    se = np.exp(theta) * np.sqrt(var)  # delta method: d(exp θ) = exp θ · dθ
    return dict(zip(PARAM_NAMES, (float(v) for v in se), strict=True))


def _log_alive_odds(params, x, t_x, T):
    """log of a/(b+x-1) · ((α+T)/(α+t_x))^(r+x) for x > 0, −inf for x = 0."""
    r, alpha, a, b = _params(params)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(a) - np.log(b + x - 1)
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)


def p_alive(params, x, t_x, T):
    """P(still active | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)); 1 when x = 0."""
    x, t_x, T = _arrays(x, t_x, T)
    return special.expit(-_log_alive_odds(params, x, t_x, T))


def expected_purchases(params, t, x, t_x, T):
    """Expected repeat purchases in the next ``t`` periods of a customer with history (x, t_x, T).

    FHL 2005 eq. 10:  E[Y(t)] = (a+b+x-1)/(a-1) · [1 − ((α+T)/(α+T+t))^(r+x) ·
    ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] · P(alive).  The part before P(alive) depends on (x, T) only, so
    the hypergeometric function runs once per distinct (x, T) pair.  ``t`` is a scalar.
    """
    x, t_x, T = _arrays(x, t_x, T)
    (xu, Tu), _, inv = unique_rows(x, T)
    return purchases_if_alive(params, t, xu, Tu)[inv] * p_alive(params, x, t_x, T)


def purchases_if_alive(params, t, x, T):
    """Expected repeat purchases in the next ``t`` periods *given the customer is still active*.

    (a+b+x-1)/(a-1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]; multiplied by
    P(alive) it is :func:`expected_purchases`.  Element-wise on ``x`` and ``T``; ``t`` scalar.
    """
    r, alpha, a, b = _params(params)
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if t <= 0:
        return np.zeros(np.broadcast(x, T).shape)
    z = t / (alpha + T + t)
    ha, hb, hc = r + x, b + x, a + b + x - 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_hyp = np.log(special.hyp2f1(ha, hb, hc, z))
        bad = ~np.isfinite(log_hyp)
        if np.any(bad):
            # Euler's transformation, 2F1(a,b;c;z) = (1−z)^(c−a−b) 2F1(c−a,c−b;c;z), for large x where the
            # direct series overflows.
            hc_b, z_b = np.broadcast_to(hc, bad.shape)[bad], np.broadcast_to(z, bad.shape)[bad]
            ha_b, hb_b = np.broadcast_to(ha, bad.shape)[bad], np.broadcast_to(hb, bad.shape)[bad]
            log_hyp[bad] = (np.log(special.hyp2f1(hc_b - ha_b, hc_b - hb_b, hc_b, z_b))
                            + (hc_b - ha_b - hb_b) * np.log1p(-z_b))
    bracket = -np.expm1(log_hyp + (r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return (a + b + x - 1) / (a - 1) * bracket


def expected_purchases_new(params, t):
    """Expected repeat purchases in (0, t] of a customer just acquired (FHL 2005 eq. 9)."""
    r, alpha, a, b = _params(params)
    t = np.asarray(t, dtype=np.float64)
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)
