"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves for customer base analysis"; Fader & Hardie 2013, "The Gamma-Gamma model of monetary
value").

Each transaction of a customer has a value z ~ Gamma(p, ν); the customer's scale ν varies across
customers as Gamma(q, γ).  The model is fitted on customers with at least one repeat transaction, from
x (repeat transactions) and z̄ (the mean value of those transactions).  Density of z̄ given x:

    f(z̄ | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · z̄^(px−1) · x^(px) / (γ + x z̄)^(px+q)

and the conditional expected spend per transaction is a weighted mean of the population mean pγ/(q−1)
and the customer's own z̄:

    E[Z | x, z̄] = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · z̄ = p (γ + x z̄) / (px + q − 1).

The model assumes spend is independent of purchase frequency; check it (a correlation near 0 between x
and z̄) before trusting the CLV figures.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from . import mle
from .compress import unique_rows


def _dot(u, v):
    """Σ u·v without BLAS: a threaded BLAS dot on a busy machine costs more than the sum itself."""
    return float(np.sum(u * v))


PARAM_NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self):
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def mean_spend(self):
        """Population mean spend per transaction, pγ/(q−1) (infinite when q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float  # summed over the customers used, at the maximum
    customers: float  # number (total weight) of customers used: x > 0 and z̄ > 0
    rows: int
    iterations: int
    converged: bool
    message: str
    penalizer: float = 0.0
    std_errors: dict = field(default_factory=dict)
    # Condition number of the observed information in log-parameters (np.inf when singular); NaN when the
    # fit ran with std_errors=False.  See identify.py.
    condition: float = float("nan")


def _params(params):
    if isinstance(params, GammaGammaParams):
        return params.p, params.q, params.gamma
    if isinstance(params, GammaGammaFit):
        return _params(params.params)
    p, q, g = (float(v) for v in params)
    return p, q, g


def usable(x, monetary):
    """Customers the model can be fitted on: at least one repeat transaction and a positive mean value."""
    return (np.asarray(x) > 0) & (np.asarray(monetary) > 0)


def log_likelihood(params, x, monetary):
    """Log-density of z̄ for each customer (x > 0 and z̄ > 0 required)."""
    p, q, g = _params(params)
    x = np.asarray(x, dtype=np.float64)
    z = np.asarray(monetary, dtype=np.float64)
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(z) + px * np.log(x) - (px + q) * np.log(g + x * z))


def _value_and_grad(theta, x, z, w, W, penalizer):
    p, q, g = np.exp(theta)
    px = p * x
    log_xz = np.log(g + x * z)
    ll_rows = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
               + (px - 1) * np.log(z) + px * np.log(x) - (px + q) * log_xz)
    psi_pxq = special.digamma(px + q)
    d_p = _dot(w, x * (psi_pxq - special.digamma(px) + np.log(z) + np.log(x) - log_xz))
    d_q = _dot(w, psi_pxq - special.digamma(q) + np.log(g) - log_xz)
    d_g = _dot(w, q / g - (px + q) / (g + x * z))
    params = np.array([p, q, g])
    ll = _dot(w, ll_rows)
    value = -ll / W + penalizer * np.sum(params**2)
    grad = -np.array([d_p, d_q, d_g]) * params / W + 2 * penalizer * params**2
    return value, grad, ll


def fit(x, monetary, weights=None, *, penalizer=0.0, initial=None, compress=True, std_errors=True):
    """Maximum-likelihood Gamma-Gamma fit on the customers with x > 0 and z̄ > 0 (others are left out)."""
    x = np.asarray(x, dtype=np.float64)
    z = np.asarray(monetary, dtype=np.float64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = usable(x, z) & (w > 0)
    x, z, w = x[keep], z[keep], w[keep]
    if len(x) < 2:
        raise ValueError("the spend model needs at least two customers with repeat purchases")
    if compress:
        (x, z), w, _ = unique_rows(x, z, weights=w)
    W = w.sum()
    if initial is None:
        # Method-of-moments-ish start: q = 2 puts the population mean at pγ; p = 1.
        initial = (1.0, 2.0, _dot(w, z) / W)
    theta0 = np.log(np.asarray(_params(initial), dtype=np.float64))

    def fun(theta):
        value, grad, _ = _value_and_grad(theta, x, z, w, W, penalizer)
        return value, grad

    result = mle.minimize(fun, theta0)
    _, _, ll = _value_and_grad(result.x, x, z, w, W, penalizer)
    errors, condition = {}, float("nan")
    if std_errors:
        errors, condition = mle.std_errors(mle.information(lambda th: fun(th)[1], result.x, W), result.x,
                                           PARAM_NAMES)
    return GammaGammaFit(params=GammaGammaParams(*(float(v) for v in np.exp(result.x))), log_likelihood=ll,
                         customers=float(W), rows=len(x), iterations=int(result.nit),
                         converged=result.converged, message=str(result.message), penalizer=penalizer,
                         std_errors=errors, condition=condition)


def expected_spend(params, x, monetary):
    """Conditional expected spend per transaction, p(γ + x z̄)/(px + q − 1).

    For customers without repeat transactions (x = 0) this is the population mean pγ/(q−1); a negative
    mean (returns exceeding purchases) counts as 0.
    """
    p, q, g = _params(params)
    x = np.asarray(x, dtype=np.float64)
    z = np.where(x > 0, np.maximum(np.asarray(monetary, dtype=np.float64), 0.0), 0.0)
    return p * (g + x * z) / (p * x + q - 1)
