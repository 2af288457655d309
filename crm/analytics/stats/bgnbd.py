"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys as a Poisson process with rate λ; λ varies across customers as
Gamma(shape r, rate α).  After every repeat purchase the customer drops out with probability p; p varies
as Beta(a, b).  A customer is described by (x, t_x, T): the number of repeat purchases, the time of the
last one and the age, all in the model's period unit (α is in that unit too).

Likelihood of one customer (FHL 2005, eq. 6):

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · [ (α+T)^-(r+x) + δ(x>0) · a/(b+x-1) · (α+t_x)^-(r+x) ]

Everything here works on arrays and in log space (``gammaln``, ``betaln``, ``logaddexp``); the fit
maximises the summed log-likelihood over log-parameters with BFGS and the analytic gradient, on the
distinct (x, t_x, T) rows weighted by their counts.  With standard errors, a fit also reports the
condition number of the observed information in log-parameters (``BGNBDFit.condition``), which
identify.py uses to refuse fits the data cannot determine.

P(at least one purchase in the next t periods) = P(alive) · (1 − ((α+T)/(α+T+t))^(r+x))
(:func:`p_purchase_within`), in this model and in MBG/NBD (mbgnbd.py).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from . import mle
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
    # Condition number of the observed information in log-parameters (np.inf when singular); NaN when the
    # fit ran with std_errors=False.  Large values mean a weakly identified fit (see identify.py).
    condition: float = float("nan")
    model: str = "bgnbd"  # "bgnbd" or "mbgnbd" (mbgnbd.py), for whoever stores or reads the fit


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

    MBG/NBD (mbgnbd.py) has the same likelihood with b shifted by one in the Beta terms and the dropout
    branch present for x = 0 too: B(a, b+x+SHIFT)/B(a, b) and a/(b+x−1+SHIFT), on rows with x ≥ FIRST_X.
    BG/NBD is SHIFT = 0, FIRST_X = 1; MBG/NBD is SHIFT = 1, FIRST_X = 0.
    """

    SHIFT = 0
    FIRST_X = 1

    def __init__(self, enc, penalizer):
        (self.xu, self.tu, self.Tu) = (lv.astype(np.float64) for lv in enc.levels)
        xi, ti, Ti = enc.codes
        c = enc.counts
        x = self.xu[xi]
        self.W = c.sum()
        self.Wx = np.bincount(xi, weights=c, minlength=len(self.xu))
        self.WT = np.bincount(Ti, weights=c, minlength=len(self.Tu))
        self.XT = np.bincount(Ti, weights=c * x, minlength=len(self.Tu))
        rep = x >= self.FIRST_X
        self.xi, self.ti, self.Ti = xi[rep], ti[rep], Ti[rep]
        self.x, self.c = x[rep], c[rep]
        self.pos = self.xu >= self.FIRST_X
        self.penalizer = penalizer
        self.rows = enc.rows

    def _mixture(self, r, alpha, a, b):
        xu, pos = self.xu, self.pos
        lT = np.log(alpha + self.Tu)
        lt = np.log(alpha + self.tu)
        l4x = np.zeros(len(xu))
        l4x[pos] = np.log(a) - np.log(b + xu[pos] - 1 + self.SHIFT)
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
                  + special.betaln(a, b + xu + self.SHIFT) - special.betaln(a, b))
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
        inv_b[pos] = 1 / (b + xu[pos] - 1 + self.SHIFT)
        psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + xu + self.SHIFT)
        d_r = (_dot(self.Wx, special.digamma(r + xu) - special.digamma(r)) + np.log(alpha) * self.W
               - _dot(self.WT, lT) - _dot(cw4, delta))
        d_alpha = (r * self.W / alpha - _dot(r * self.WT + self.XT, inv_T)
                   - _dot(cw4 * (r + self.x), inv_t[self.ti] - inv_T[self.Ti]))
        s4 = cw4.sum()
        d_a = _dot(self.Wx, psi_ab - psi_abx) + s4 / a
        d_b = (_dot(self.Wx, special.digamma(b + xu + self.SHIFT) - psi_abx - special.digamma(b) + psi_ab)
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
    ``log_likelihood`` is the sum over customers at the maximum; with ``std_errors`` it also carries the
    standard errors and the condition number of the observed information.
    """
    return _fit(_Objective, "bgnbd", x, t_x, T, weights, penalizer=penalizer, initial=initial,
                std_errors=std_errors)


def _fit(objective_class, model, x, t_x, T, weights, *, penalizer, initial, std_errors):
    """The fit of :func:`fit`, for either objective (BG/NBD here, MBG/NBD in mbgnbd.py)."""
    x, t_x, T = _arrays(x, t_x, T)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(x) == 0 or w.sum() <= 0:
        raise ValueError("no customers to fit")
    objective = objective_class(encode_rows(x.astype(np.int64), t_x, T, weights=w), penalizer)
    if initial is None:
        rate = max(_dot(w, x) / max(_dot(w, T), 1e-12), 1e-6)
        initial = (1.0, 1.0 / rate, 1.0, 1.0)
    theta0 = np.log(np.asarray(_params(initial), dtype=np.float64))

    def fun(theta):
        value, grad, _ = objective.value_and_grad(theta)
        return value, grad

    # A fit the data cannot identify runs off to infinity on the way (identify.refusal says so afterwards);
    # the overflows on that road are expected, not warnings for the log.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = mle.minimize(fun, theta0)
        theta = result.x
        ll = objective.log_likelihood(theta)
        params = BGNBDParams(*(float(v) for v in np.exp(theta)))
        errors, condition = {}, float("nan")
        if std_errors:
            hessian = mle.information(lambda th: objective.value_and_grad(th)[1], theta, objective.W)
            errors, condition = mle.std_errors(hessian, theta, PARAM_NAMES)
    return BGNBDFit(params=params, log_likelihood=float(ll), customers=float(objective.W), rows=objective.rows,
                    iterations=int(result.nit), converged=result.converged, message=str(result.message),
                    penalizer=penalizer, std_errors=errors, condition=condition, model=model)


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
    return _purchases_if_alive(*_params(params), t, x, T)


def _purchases_if_alive(r, alpha, a, b, t, x, T):
    """(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))].

    Given that the customer is active at T, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x−1+1) a posteriori, and
    an active customer buys (1 − e^(−λpt))/p times on average in the next t periods.  MBG/NBD's customer
    has survived one more dropout chance, so its value is this one with b+1.
    """
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if t <= 0:
        return np.zeros(np.broadcast(x, T).shape)
    z = t / (alpha + T + t)
    log_hyp = mle.log_hyp2f1(r + x, b + x, a + b + x - 1, z)
    bracket = -np.expm1(log_hyp + (r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return (a + b + x - 1) / (a - 1) * bracket


def p_purchase_within(params, t, x, t_x, T):
    """Probability of at least one purchase in the next ``t`` periods, given the history (x, t_x, T).

    P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)): an active customer's rate is Gamma(r+x, α+T) a posteriori, and
    the next purchase comes as a Poisson event whatever happens after it (dropout only follows purchases),
    so P(no purchase in t | active) = E[e^(−λt)] = ((α+T)/(α+T+t))^(r+x).
    """
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, _a, _b = _params(params)
    return p_alive(params, x, t_x, T) * _p_any_if_alive(r, alpha, t, x, T)


def _p_any_if_alive(r, alpha, t, x, T):
    """1 − ((α+T)/(α+T+t))^(r+x): P(at least one purchase in the next t | active), in both models."""
    t = np.asarray(t, dtype=np.float64)
    return -np.expm1((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))


def expected_purchases_new(params, t):
    """Expected repeat purchases in (0, t] of a customer just acquired (FHL 2005 eq. 9)."""
    r, alpha, a, b = _params(params)
    t = np.asarray(t, dtype=np.float64)
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)
