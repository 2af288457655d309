"""Vectorised simulation from the BG/NBD and Gamma-Gamma models, for tests and benchmarks.

BG/NBD, exactly: λ ~ Gamma(r, rate α), p ~ Beta(a, b); in (0, T] the customer makes K ~ Poisson(λT)
purchase opportunities, and drops out after the N-th repeat purchase, N ~ Geometric(p) on {1, 2, …}; so
x = min(K, N).  Given K, the purchase times are K uniform order statistics on (0, T], and the x-th of
them is T · Beta(x, K − x + 1).

MBG/NBD, the same with one more dropout chance at time 0: the customer drops out at the first of the
trials "at 0, after the 1st repeat purchase, after the 2nd, …" that fails, so the number of repeat purchases
allowed is G − 1 with G ~ Geometric(p) on {1, 2, …}, and x = min(K, G − 1).
"""

import numpy as np

from .bgnbd import _params as _bg_params
from .gamma_gamma import _params as _gg_params


def simulate_bgnbd(params, T, rng):
    """``(x, t_x)`` for customers of ages ``T`` (array, in periods)."""
    return _simulate(params, T, rng, first_chance=False)


def simulate_mbgnbd(params, T, rng):
    """``(x, t_x)`` for customers of ages ``T`` (array, in periods), from MBG/NBD."""
    return _simulate(params, T, rng, first_chance=True)


def _simulate(params, T, rng, *, first_chance):
    """Both models: with ``first_chance`` the customer may also drop out at time 0 (MBG/NBD)."""
    r, alpha, a, b = _bg_params(params)
    T = np.asarray(T, dtype=np.float64)
    n = len(T)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.poisson(lam * T)
    allowed = rng.geometric(np.clip(p, 1e-12, 1)) - (1 if first_chance else 0)
    x = np.minimum(k, allowed)
    return x.astype(np.int64), _last_purchase(x, k, T, rng)


def _last_purchase(x, k, T, rng):
    """t_x: the x-th of k uniform purchase times on (0, T], T · Beta(x, k − x + 1); 0 when x = 0."""
    t_x = np.zeros(len(T))
    has = x > 0
    t_x[has] = T[has] * rng.beta(x[has], k[has] - x[has] + 1)
    return t_x


def simulate_gamma_gamma(params, x, rng):
    """Mean value of the x repeat transactions of each customer (0 when x = 0).

    ν ~ Gamma(q, rate γ) per customer; each value ~ Gamma(p, rate ν), so their mean ~ Gamma(px, rate νx).
    """
    p, q, g = _gg_params(params)
    x = np.asarray(x)
    nu = rng.gamma(q, 1 / g, len(x))
    z = np.zeros(len(x))
    has = x > 0
    z[has] = rng.gamma(p * x[has], 1 / (nu[has] * x[has]))
    return z
