"""Value tiers, the Pareto (Lorenz) curve, the Gini coefficient and the 80/20 figure.

Everything is measured on gross profit per customer (or revenue when costs are unknown).

Loss-making customers.  Shares are shares of the *positive* profit — the profit made by profitable
customers.  Dividing by the net total instead would let cumulative shares pass 100 % and fall back, and a
business with a net loss would have no meaningful shares at all.  Customers with zero or negative
profit are always in the lowest tier, count in every "share of customers" denominator, and enter the
Lorenz curve and the Gini coefficient with a contribution of 0 (the coefficient is defined for
non-negative values; the number of loss-making customers is reported next to it).

Tiers.  Sort customers by profit, largest first.  For a customer with profit g let S(g) be the share of
positive profit made by customers with *strictly larger* profit.  The customer is

* high-value (0) when S(g) < 0.80 — the 80 % is not reached before this customer's profit level;
* general (1) when 0.80 ≤ S(g) < 0.95;
* small (2) otherwise, and always when g ≤ 0.

S depends only on the value g, so equal profits always land in the same tier.  High-value customers are
the smallest group of top profit levels that together make at least 80 % of the profit.
"""

from dataclasses import dataclass

import numpy as np


def _dot(u, v):
    return float(np.sum(u * v))


TIER_KEYS = ("high_value", "general", "small")
HIGH, GENERAL, SMALL = 0, 1, 2


def _positive(profit):
    return np.maximum(np.asarray(profit, dtype=np.float64), 0.0)


def loss_making(profit) -> int:
    """How many customers made a loss: profit strictly below zero (a customer at exactly zero did not).
    The one definition for the dashboard, the API and ``crm analyze``."""
    return int(np.count_nonzero(np.asarray(profit, dtype=np.float64) < 0))


def share_before(profit):
    """S(g): share of positive profit made by customers with strictly larger profit (0 … 1)."""
    g = np.asarray(profit, dtype=np.float64)
    pos = _positive(g)
    total = pos.sum()
    if total <= 0:
        return np.ones(len(g))
    asc = np.sort(pos)
    cum = np.concatenate([[0.0], np.cumsum(asc)])  # cum[k] = sum of the k smallest
    at_most = np.searchsorted(asc, pos, side="right")  # customers with profit ≤ g
    larger = total - cum[at_most]
    return np.clip(larger / total, 0.0, 1.0)


def tiers(profit, thresholds=(0.80, 0.95)):
    """Tier of each customer: 0 high-value, 1 general, 2 small (see the module docstring)."""
    high, general = thresholds
    if not 0 < high <= general <= 1:
        raise ValueError("thresholds must satisfy 0 < high <= general <= 1")
    g = np.asarray(profit, dtype=np.float64)
    s = share_before(g)
    tier = np.where(s < high, HIGH, np.where(s < general, GENERAL, SMALL)).astype(np.int8)
    tier[g <= 0] = SMALL
    return tier


@dataclass(frozen=True)
class TierSummary:
    counts: dict  # tier key -> customers
    customer_shares: dict  # tier key -> share of customers
    profit_shares: dict  # tier key -> share of positive profit
    profit: dict  # tier key -> summed profit (net, losses included)


def tier_summary(profit, tier):
    g = np.asarray(profit, dtype=np.float64)
    tier = np.asarray(tier, dtype=np.int64)
    n = max(len(g), 1)
    counts = np.bincount(tier, minlength=3)
    pos = np.bincount(tier, weights=_positive(g), minlength=3)
    net = np.bincount(tier, weights=g, minlength=3)
    total_pos = pos.sum()
    return TierSummary(
        counts={k: int(c) for k, c in zip(TIER_KEYS, counts, strict=True)},
        customer_shares={k: float(c / n) for k, c in zip(TIER_KEYS, counts, strict=True)},
        profit_shares={k: float(p / total_pos) if total_pos > 0 else 0.0 for k, p in zip(TIER_KEYS, pos, strict=True)},
        profit={k: float(p) for k, p in zip(TIER_KEYS, net, strict=True)},
    )


def customers_for_share(profit, share=0.80):
    """Smallest share of customers (largest profits first) whose profit reaches ``share`` of positive profit.

    This is the N in "N % of customers bring 80 % of gross profit".  The denominator is all customers,
    loss-making ones included; ``None`` when there is no positive profit.
    """
    pos = np.sort(_positive(profit))[::-1]
    total = pos.sum()
    if total <= 0:
        return None
    cum = np.cumsum(pos)
    k = int(np.searchsorted(cum, share * total * (1 - 1e-12), side="left")) + 1
    return min(k, len(pos)) / len(pos)


def lorenz_curve(profit, points=101):
    """Lorenz curve of positive profit: ``(customer_share, profit_share)`` arrays from (0, 0) to (1, 1).

    Customers are sorted by profit, smallest first.  With ``points`` the curve is sampled at that many
    evenly spaced customer shares (linear interpolation between customers) — enough for a chart of a
    million customers; ``points=None`` returns every customer.
    """
    pos = np.sort(_positive(profit))
    n = len(pos)
    total = pos.sum()
    x = np.arange(n + 1) / max(n, 1)
    y = np.concatenate([[0.0], np.cumsum(pos)]) / total if total > 0 else x.copy()
    if points is None:
        return x, y
    xs = np.linspace(0.0, 1.0, points)
    return xs, np.interp(xs, x, y)


def gini(profit):
    """Gini coefficient of positive profit, 0 (all equal) … (n−1)/n (one customer has everything).

    G = Σᵢ (2i − n − 1) g₍ᵢ₎ / (n Σ g), customers sorted ascending, i = 1…n; losses count as 0.
    """
    pos = np.sort(_positive(profit))
    n = len(pos)
    total = pos.sum()
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return _dot(2 * i - n - 1, pos) / (n * total)
