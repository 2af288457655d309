"""Customers simulated past the end of their history, to check the conditional predictions of BG/NBD and
MBG/NBD by Monte Carlo.

Written independently of ``stats.simulate``: each customer gets λ ~ Gamma(r, α) and p ~ Beta(a, b),
K ~ Poisson(λT) purchase opportunities in (0, T] and a number of purchases allowed before dropping out,
G ~ Geometric(p) on {1, 2, …} for BG/NBD (dropout after the G-th repeat purchase) and G − 1 for MBG/NBD
(one more dropout chance, at the first purchase).  Then x = min(K, allowed), and the customer is still
active at T exactly when K < allowed.  An active customer's next purchase comes after an Exp(λ) wait;
the purchases in the next t periods are min(Poisson(λt), G') with G' ~ Geometric(p) fresh (the geometric
is memoryless).  For any group of customers chosen by their history (x, t_x, T), the mean of "active",
"bought within t" and "purchases in t" estimates the mean of P(alive), p_purchase_within and
expected_purchases over the group.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Forward:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    alive: np.ndarray  # active at T
    bought: np.ndarray  # at least one purchase in (T, T+t]
    future: np.ndarray  # purchases in (T, T+t]


def simulate_forward(model, params, T, t, rng):
    r, alpha, a, b = params
    T = np.asarray(T, dtype=np.float64)
    n = len(T)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.poisson(lam * T)
    allowed = rng.geometric(p) - (1 if model == "mbgnbd" else 0)
    x = np.minimum(k, allowed)
    alive = k < allowed
    t_x = np.zeros(n)
    has = x > 0
    t_x[has] = T[has] * rng.beta(x[has], k[has] - x[has] + 1)
    bought = alive & (rng.exponential(1 / lam) < t)
    future = np.where(alive, np.minimum(rng.poisson(lam * t), rng.geometric(p)), 0)
    return Forward(x=x, t_x=t_x, T=T, alive=alive, bought=bought, future=future)


def compare_by_group(model, name, params, t=13.0, n=400_000, seed=7):
    """``{group: (simulated, predicted, standard_error)}`` for the share active at T, the share buying
    within ``t`` and the mean purchases in ``t``, for customers simulated from ``name`` ("bgnbd" or
    "mbgnbd") and predicted by the module ``model``; ages up to a year in whole days.

    Groups: one-time buyers, 1–3 repeat purchases with the last in the second half of the customer's
    life ("recent") or in the first ("lapsed"), 4 or more, everyone.
    """
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 52 * 7 + 1, n) / 7
    sim = simulate_forward(name, params, T, t, rng)
    predicted = {"alive": model.p_alive(params, sim.x, sim.t_x, sim.T),
                 "bought": model.p_purchase_within(params, t, sim.x, sim.t_x, sim.T),
                 "future": model.expected_purchases(params, t, sim.x, sim.t_x, sim.T)}
    simulated = {"alive": sim.alive, "bought": sim.bought, "future": sim.future}
    recent = sim.t_x > sim.T / 2
    few = (sim.x > 0) & (sim.x <= 3)
    groups = {"one-time": sim.x == 0, "1-3 recent": few & recent, "1-3 lapsed": few & ~recent,
              "4 or more": sim.x >= 4, "all": np.ones(n, dtype=bool)}
    out = {}
    for group, g in groups.items():
        for what in simulated:
            values = simulated[what][g]
            out[group, what] = (values.mean(), predicted[what][g].mean(), values.std() / np.sqrt(g.sum()))
    return out
