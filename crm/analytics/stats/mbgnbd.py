"""The MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
comparison of models for customer base analysis", IJRM 24(3); Wagner & Hoppe 2008, "Erratum on the MBG/NBD
model", IJRM 25(3)).

BG/NBD with one change: the customer can also drop out right after the first purchase, not only after
repeat purchases.  While active, a customer buys as a Poisson process with rate λ ~ Gamma(r, rate α); at
time 0 and after every repeat purchase the customer drops out with probability p ~ Beta(a, b).  So a
customer with no repeat purchase (x = 0) may be gone, and P(alive) falls with T for them too — which
BG/NBD, where they are alive with certainty, cannot express.

With x repeat purchases the customer survived x+1 dropout chances if still active, or x and then
dropped out after the last purchase (at t_x; at 0 when x = 0).  Likelihood of one customer:

    L = Γ(r+x) α^r / Γ(r) · [ B(a, b+x+1)/B(a, b) · (α+T)^-(r+x) + B(a+1, b+x)/B(a, b) · (α+t_x)^-(r+x) ]

and since B(a+1, b+x) = B(a, b+x+1) · a/(b+x), in log space (the form of ``lifetimes``'
ModifiedBetaGeoFitter):

    A1 = lnΓ(r+x) − lnΓ(r) + r ln α        A2 = ln B(a, b+x+1) − ln B(a, b)        A3 = −(r+x) ln(α+T)
    A4 = ln a − ln(b+x) + (r+x)(ln(α+T) − ln(α+t_x))        ln L = A1 + A2 + A3 + ln(1 + e^A4)

There is no δ(x>0): the dropout branch exists for x = 0 as well.  Then

    P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))

and, as an active customer has λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x+1) a posteriori and buys
(1 − e^(−λpt))/p times on average in t periods (Wagner & Hoppe 2008):

    E[Y(t) | x, t_x, T] = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))]
                          · P(alive)

    E[Y(t)] for a new customer = b/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b+1; a+b; t/(α+t))]

These are BG/NBD's formulas with b+1 in place of b, times P(alive).  The fit, the objective and its
gradient are bgnbd's (``_Objective`` with SHIFT = 1 and the dropout branch on every row); the result is
a :class:`~crm.analytics.stats.bgnbd.BGNBDFit` with ``model == "mbgnbd"``.
"""

import numpy as np
from scipy import special

from . import bgnbd
from .bgnbd import BGNBDFit, BGNBDParams, _arrays, _p_any_if_alive, _params, _purchases_if_alive
from .compress import unique_rows

__all__ = ["BGNBDFit", "BGNBDParams", "expected_purchases", "expected_purchases_new", "fit", "log_likelihood",
           "p_alive", "p_purchase_within", "purchases_if_alive"]


class _Objective(bgnbd._Objective):
    """BG/NBD's objective with B(a, b+x+1), a/(b+x), and the dropout branch on every row (x ≥ 0)."""

    SHIFT = 1
    FIRST_X = 0


def fit(x, t_x, T, weights=None, *, penalizer=0.0, initial=None, std_errors=True):
    """Maximum-likelihood MBG/NBD fit; arguments and result as :func:`crm.analytics.stats.bgnbd.fit`."""
    return bgnbd._fit(_Objective, "mbgnbd", x, t_x, T, weights, penalizer=penalizer, initial=initial,
                      std_errors=std_errors)


def log_likelihood(params, x, t_x, T):
    """Log-likelihood of each customer (an array): A1 + A2 + A3 + log(1 + e^A4)."""
    r, alpha, a, b = _params(params)
    x, t_x, T = _arrays(x, t_x, T)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x + 1) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = _log_alive_odds(params, x, t_x, T)
    return a1 + a2 + a3 + np.logaddexp(0.0, a4)


def _log_alive_odds(params, x, t_x, T):
    """A4 = log of a/(b+x) · ((α+T)/(α+t_x))^(r+x): the odds "dropped out" against "active"."""
    r, alpha, a, b = _params(params)
    return np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))


def p_alive(params, x, t_x, T):
    """P(still active | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)), below 1 also when x = 0."""
    x, t_x, T = _arrays(x, t_x, T)
    return special.expit(-_log_alive_odds(params, x, t_x, T))


def purchases_if_alive(params, t, x, T):
    """Expected repeat purchases in the next ``t`` periods *given the customer is still active*.

    (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))]; multiplied by
    P(alive) it is :func:`expected_purchases`.  Element-wise on ``x`` and ``T``; ``t`` scalar.
    """
    r, alpha, a, b = _params(params)
    return _purchases_if_alive(r, alpha, a, b + 1, t, x, T)


def expected_purchases(params, t, x, t_x, T):
    """Expected repeat purchases in the next ``t`` periods of a customer with history (x, t_x, T).

    purchases_if_alive · P(alive); the hypergeometric part runs once per distinct (x, T).  ``t`` scalar.
    """
    x, t_x, T = _arrays(x, t_x, T)
    (xu, Tu), _, inv = unique_rows(x, T)
    return purchases_if_alive(params, t, xu, Tu)[inv] * p_alive(params, x, t_x, T)


def expected_purchases_new(params, t):
    """Expected repeat purchases in (0, t] of a customer just acquired: b/(a−1) · [1 − (α/(α+t))^r ·
    ₂F₁(r, b+1; a+b; t/(α+t))]."""
    r, alpha, a, b = _params(params)
    t = np.asarray(t, dtype=np.float64)
    hyp = special.hyp2f1(r, b + 1, a + b, t / (alpha + t))
    return b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def p_purchase_within(params, t, x, t_x, T):
    """Probability of at least one purchase in the next ``t`` periods: P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).

    As in BG/NBD, an active customer's rate is Gamma(r+x, α+T) a posteriori and dropout only follows a
    purchase, so the first future purchase is a Poisson event; only P(alive) differs.
    """
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, _a, _b = _params(params)
    return p_alive(params, x, t_x, T) * _p_any_if_alive(r, alpha, t, x, T)
