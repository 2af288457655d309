"""Customer lifetime value and repurchase timing.

Lifetime value.  Over a horizon of H periods, with a discount rate d per period and a margin factor m
(1 for a revenue basis, the gross margin rate for a margin basis):

    CLV = m · E[spend] · Σ_{i=1}^{H/s} (E[Y(i·s)] − E[Y((i−1)·s)]) / (1+d)^(i·s)

E[Y(t)] is the BG/NBD expected number of purchases in the next t periods (conditional on the customer's
history) and E[spend] the Gamma-Gamma expected spend per transaction; purchases expected in each step of
s periods are discounted to the present from the end of that step.  This is the usual discrete sum (as
in ``lifetimes``' ``customer_lifetime_value``), valid because the two models assume spend independent of
the purchase process.

Repurchase timing lives in :mod:`.quality` (``timing_days``), where it is backtested.
"""

import numpy as np

from . import bgnbd
from .compress import unique_rows


def discounted_purchases(bg_params, x, t_x, T, *, horizon, discount_rate, step=1, model=bgnbd):
    """Σ_i (E[Y(i·s)] − E[Y((i−1)·s)]) / (1+d)^(i·s): discounted expected purchases over the horizon.

    ``model``: the purchase model's module (:mod:`.bgnbd` or :mod:`.mbgnbd`)."""
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
        current = model.purchases_if_alive(bg_params, t, xu, Tu)
        total += (current - previous) / (1 + discount_rate) ** t
        previous = current
    return total[inv] * model.p_alive(bg_params, x, t_x, T)


def lifetime_value(bg_params, spend, x, t_x, T, *, horizon, discount_rate, margin=1.0, step=1, model=bgnbd):
    """Discounted lifetime value over ``horizon`` periods (see the module docstring).

    ``spend``: expected spend per transaction per customer (Gamma-Gamma ``expected_spend``);
    ``discount_rate``: per period (e.g. (1.10)^(1/52) − 1 for 10 % a year in weeks); ``margin``: 1 for
    revenue, the gross margin rate for profit.
    """
    purchases = discounted_purchases(bg_params, x, t_x, T, horizon=horizon, discount_rate=discount_rate, step=step,
                                     model=model)
    return margin * np.asarray(spend, dtype=np.float64) * purchases


def per_period_rate(annual_rate, periods_per_year):
    """Per-period discount rate equivalent to an annual one: (1 + annual)^(1/periods) − 1."""
    return (1 + annual_rate) ** (1 / periods_per_year) - 1
