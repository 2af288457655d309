"""Customer lifetime value and repurchase timing.

Lifetime value.  Over a horizon of H periods, with a discount rate d per period and a margin factor m
(1 for a revenue basis, the gross margin rate for a margin basis):

    CLV = m · E[spend] · Σ_{i=1}^{H/s} (E[Y(i·s)] − E[Y((i−1)·s)]) / (1+d)^(i·s)

E[Y(t)] is the BG/NBD expected number of purchases in the next t periods (conditional on the customer's
history) and E[spend] the Gamma-Gamma expected spend per transaction; purchases expected in each step of
s periods are discounted to the present from the end of that step.  This is the usual discrete sum (as
in ``lifetimes``' ``customer_lifetime_value``), valid because the two models assume spend independent of
the purchase process.

Repurchase timing (``next_purchase``), in periods from the as-of date:

* ``"interval"`` — the customer's own rhythm: last purchase + mean gap between purchases
  (t_x / x).  It needs x ≥ 1; a negative result means the customer is overdue.
* ``"model"`` — the BG/NBD view for an active customer: purchases are Poisson with rate λ whose
  posterior, given (x, T) and activity, is Gamma(r+x, α+T); the chance of no purchase in the next t
  periods is ((α+T)/(α+T+t))^(r+x), whose median is t = (α+T)(2^(1/(r+x)) − 1).  The model is memoryless,
  so it says "how soon", not "when the cycle comes round"; it is the only option when x = 0.
* ``"auto"`` (default) — ``"interval"`` when x ≥ 1, ``"model"`` when x = 0.

Both are conditional on the customer still being active; pair them with P(alive) (a "due to buy" list
should leave out customers who have probably left).
"""

import numpy as np

from .bgnbd import _params as _bg_params
from .bgnbd import p_alive, purchases_if_alive
from .compress import unique_rows


def discounted_purchases(bg_params, x, t_x, T, *, horizon, discount_rate, step=1):
    """Σ_i (E[Y(i·s)] − E[Y((i−1)·s)]) / (1+d)^(i·s): discounted expected purchases over the horizon."""
    if horizon <= 0:
        return np.zeros(len(np.asarray(x)))
    if step <= 0:
        raise ValueError("step must be positive")
    x = np.asarray(x, dtype=np.float64)
    (xu, Tu), _, inv = unique_rows(x, np.asarray(T, dtype=np.float64))
    ends = np.minimum(np.arange(1, int(np.ceil(horizon / step)) + 1) * step, horizon).astype(np.float64)
    total = np.zeros(len(xu))
    previous = np.zeros(len(xu))
    for t in ends:  # a loop over time steps, not customers: each step is vectorised over (x, T) pairs
        current = purchases_if_alive(bg_params, t, xu, Tu)
        total += (current - previous) / (1 + discount_rate) ** t
        previous = current
    return total[inv] * p_alive(bg_params, x, t_x, T)


def lifetime_value(bg_params, spend, x, t_x, T, *, horizon, discount_rate, margin=1.0, step=1):
    """Discounted lifetime value over ``horizon`` periods (see the module docstring).

    ``spend``: expected spend per transaction per customer (Gamma-Gamma ``expected_spend``);
    ``discount_rate``: per period (e.g. (1.10)^(1/52) − 1 for 10 % a year in weeks); ``margin``: 1 for
    revenue, the gross margin rate for profit.
    """
    purchases = discounted_purchases(bg_params, x, t_x, T, horizon=horizon, discount_rate=discount_rate, step=step)
    return margin * np.asarray(spend, dtype=np.float64) * purchases


def per_period_rate(annual_rate, periods_per_year):
    """Per-period discount rate equivalent to an annual one: (1 + annual)^(1/periods) − 1."""
    return (1 + annual_rate) ** (1 / periods_per_year) - 1


def next_purchase(x, t_x, T, bg_params=None, method="auto"):
    """Expected time to the next purchase, in periods from the as-of date (see the module docstring).

    Returns floats; NaN where the method cannot say (``"interval"`` with x = 0).
    """
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if method not in ("auto", "interval", "model"):
        raise ValueError("method must be 'auto', 'interval' or 'model'")
    with np.errstate(divide="ignore", invalid="ignore"):
        interval = np.where(x > 0, t_x + t_x / x - T, np.nan)
    if method == "interval":
        return interval
    if bg_params is None:
        raise ValueError("the model method needs the BG/NBD parameters")
    r, alpha, _a, _b = _bg_params(bg_params)
    model = (alpha + T) * np.expm1(np.log(2.0) / (r + x))
    if method == "model":
        return model
    return np.where(x > 0, interval, model)
