"""The business rules of the refresh, as vectorised functions on numpy arrays (no database).

Used by the refresh (``services.run_refresh``) on the whole base and by ``queries.scoped_summary`` on
the customers one user may see, so both give the same answer for the same customers.

Value-chain classes (R5.3), in this order — the first rule that matches decides:

1. **transaction** — promotion orders are at least ``transaction_promo_share`` of the customer's orders
   and the customer bought again at most ``transaction_max_repeats`` times: they come for the price;
2. **unclassified** — a single purchase day (and not a transaction customer): too little history to
   judge a relationship;
3. **low_yield** (无为) — a relationship customer whose cost to serve is above ``low_yield_cost_ratio`` of
   its gross profit, or whose gross profit is not positive;
4. **cash_flow** — share of wallet at least ``quasi_wallet_share``: most of what it needs, it buys from
   us (retain);
5. **quasi_cash_flow** — otherwise: good profit, but it also buys from competitors (grow the share).

Share of wallet = revenue of the last 365 days ÷ the customer's estimated annual need when one is set.
Without it, a documented proxy: revenue of the last 365 days ÷ the *peer benchmark* of its industry —
the median of the top decile of last-365-day revenue among the customers of that industry who bought
(the whole base when the industry has fewer than ``MIN_PEERS`` buyers).  The idea: the best customers of
an industry show what a customer of that kind can spend; the proxy is capped at 1.

Loyalty index (R5.5), 0–100 = 100 · Σ weight · component, each component 0–1:

====================  ======  ====================================================================
component             weight  value
====================  ======  ====================================================================
repeat                0.30    share of customers with strictly fewer repeat purchases (rank)
regularity            0.15    1 / (1 + CV) of the gaps between purchase days; 0 with fewer than 2 gaps
share_of_wallet       0.20    share of wallet, capped at 1
price_insensitivity   0.15    1 − share of orders bought on promotion
tenure                0.20    days since the first purchase ÷ ``TENURE_FULL_DAYS`` (3 years), capped at 1
====================  ======  ====================================================================

Kotler's relationship levels (R7.2).  A group of customers (a tier or an RFM segment) is placed by its
number of customers — *many* when it holds at least 30 % of the analysed customers, *few* under 10 %,
else *medium* — and its margin level — *high* when its gross profit per customer is at least 1.5× the
average over all analysed customers, *low* under 0.5×, else *medium*:

==============  ==============  ==============  ==============
customers       high margin     medium margin   low margin
==============  ==============  ==============  ==============
many            accountable     reactive        basic
medium          proactive       accountable     reactive
few             partnership     proactive       accountable
==============  ==============  ==============  ==============

Classification for the level (R7.3: loyalty first, sales second; history alone must not decide).
Customers are put into 9 classes, by loyalty band first and value tier second:

* the **loyalty band** — *high* when the loyalty index is at least ``LOYALTY_HIGH`` (2/3 of the 0–100
  scale), *low* under ``LOYALTY_LOW`` (1/3), else *medium*; a missing index counts as low.  Fixed cut
  points rather than tertiles of the analysed customers: a band then means the same level of loyalty in
  every snapshot and in every user's scope (the dashboard of a branch shows the same bands as the
  company-wide refresh), and a base where few customers are loyal shows that instead of calling its best
  third "high".  The index mixes repeat purchases with regularity, share of wallet, price insensitivity
  and tenure, so a customer who bought once, however recently or much, cannot reach the high band;
* the **value tier** (high-value / general / small, by gross profit) within the band.

Each class is placed in Kotler's table like a tier above — its share of the analysed customers and its
gross profit per customer against the average — and a customer's recommended level is its class's level.
The tier and segment tables are still computed for comparison.
"""

import numpy as np

from .choices import Tier, ValueClass
from .stats import value

LOYALTY_WEIGHTS = {"repeat": 0.30, "regularity": 0.15, "share_of_wallet": 0.20, "price_insensitivity": 0.15,
                   "tenure": 0.20}
TENURE_FULL_DAYS = 3 * 365
MIN_PEERS = 10

TIER_KEYS = (Tier.HIGH.value, Tier.GENERAL.value, Tier.SMALL.value)  # index = stats.value tier code

CLASS_KEYS = (ValueClass.TRANSACTION.value, ValueClass.UNCLASSIFIED.value, ValueClass.LOW_YIELD.value,
              ValueClass.CASH_FLOW.value, ValueClass.QUASI_CASH_FLOW.value)

LOYALTY_LOW, LOYALTY_HIGH = 100 / 3, 200 / 3
LOYALTY_BANDS = ("high", "medium", "low")  # index = loyalty band code

MANY_SHARE, FEW_SHARE = 0.30, 0.10
HIGH_MARGIN, LOW_MARGIN = 1.5, 0.5
COUNT_LEVELS = ("many", "medium", "few")
MARGIN_LEVELS = ("high", "medium", "low")
KOTLER = {
    ("many", "high"): "accountable", ("many", "medium"): "reactive", ("many", "low"): "basic",
    ("medium", "high"): "proactive", ("medium", "medium"): "accountable", ("medium", "low"): "reactive",
    ("few", "high"): "partnership", ("few", "medium"): "proactive", ("few", "low"): "accountable",
}


def share_of_wallet(revenue_365, annual_need, industry_code):
    """``(share, estimated)``: the share of wallet and whether it is the peer proxy (see the module)."""
    revenue_365 = np.asarray(revenue_365, dtype=np.float64)
    need = np.asarray(annual_need, dtype=np.float64)
    industry = np.asarray(industry_code, dtype=np.int64)
    known = need > 0
    share = np.zeros(len(revenue_365))
    share[known] = revenue_365[known] / need[known]
    estimated = ~known
    benchmark = np.full(len(revenue_365), _benchmark(revenue_365[revenue_365 > 0]))
    for code in np.unique(industry[estimated]):  # a loop over industries, not customers
        peers = revenue_365[(industry == code) & (revenue_365 > 0)]
        if len(peers) >= MIN_PEERS:
            benchmark[industry == code] = _benchmark(peers)
    with np.errstate(divide="ignore", invalid="ignore"):
        proxy = np.where(benchmark > 0, np.minimum(revenue_365 / benchmark, 1.0), 0.0)
    share[estimated] = proxy[estimated]
    return share, estimated


def _benchmark(values):
    """Median of the top decile (the largest ⌈n/10⌉ values)."""
    if len(values) == 0:
        return 0.0
    top = np.sort(values)[-max(1, int(np.ceil(len(values) / 10))):]
    return float(np.median(top))


def value_classes(*, frequency, promo_share, gross_profit, cost_to_serve, wallet_share, settings):
    """Index into :data:`CLASS_KEYS` for every customer (rules in the module docstring)."""
    frequency = np.asarray(frequency)
    profit = np.asarray(gross_profit, dtype=np.float64)
    cost = np.asarray(cost_to_serve, dtype=np.float64)
    transaction = ((np.asarray(promo_share) >= settings.transaction_promo_share)
                   & (frequency <= settings.transaction_max_repeats))
    single = frequency == 0
    low_yield = (profit <= 0) | (cost > settings.low_yield_cost_ratio * profit)
    cash = np.asarray(wallet_share) >= settings.quasi_wallet_share
    return np.select([transaction, single, low_yield, cash], [0, 1, 2, 3], default=4).astype(np.int8)


def regularity(frequency, recency_days, gap_sq):
    """1 / (1 + CV) of the gaps between purchase days, from x gaps summing to ``recency_days`` with
    squares summing to ``gap_sq``; 0 when there are fewer than two gaps."""
    x = np.asarray(frequency, dtype=np.float64)
    total = np.asarray(recency_days, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / x
        var = np.maximum(np.asarray(gap_sq, dtype=np.float64) / x - mean**2, 0.0)
        cv = np.sqrt(var) / mean
        result = 1 / (1 + cv)
    return np.where((x >= 2) & (mean > 0), result, 0.0)


def loyalty(*, frequency, recency_days, gap_sq, wallet_share, promo_share, age_days):
    """``(index 0–100, components)`` — components is a dict of arrays 0–1 (weights in the module)."""
    frequency = np.asarray(frequency)
    n = len(frequency)
    repeat = (np.searchsorted(np.sort(frequency), frequency, side="left") / n) if n else np.zeros(0)
    components = {
        "repeat": repeat,
        "regularity": regularity(frequency, recency_days, gap_sq),
        "share_of_wallet": np.clip(np.asarray(wallet_share, dtype=np.float64), 0.0, 1.0),
        "price_insensitivity": 1.0 - np.clip(np.asarray(promo_share, dtype=np.float64), 0.0, 1.0),
        "tenure": np.minimum(np.asarray(age_days, dtype=np.float64) / TENURE_FULL_DAYS, 1.0),
    }
    index = 100 * sum(LOYALTY_WEIGHTS[k] * v for k, v in components.items())
    return index, components


def count_level(share):
    if share >= MANY_SHARE:
        return "many"
    return "few" if share < FEW_SHARE else "medium"


def margin_level(profit_per_customer, average):
    if average <= 0:
        return "medium"
    ratio = profit_per_customer / average
    if ratio >= HIGH_MARGIN:
        return "high"
    return "low" if ratio < LOW_MARGIN else "medium"


def kotler_cells(group, gross_profit, keys):
    """Per group (``group`` indexes ``keys``): customers, their share, gross profit per customer, the
    count and margin levels and the recommended Kotler level.  Empty groups are listed with no level."""
    group = np.asarray(group, dtype=np.int64)
    profit = np.asarray(gross_profit, dtype=np.float64)
    n = len(group)
    counts = np.bincount(group, minlength=len(keys))
    sums = np.bincount(group, weights=profit, minlength=len(keys))
    average = float(profit.sum() / n) if n else 0.0
    cells = []
    for key, count, total in zip(keys, counts, sums, strict=True):
        cell = {"key": key, "customers": int(count), "share": float(count / n) if n else 0.0,
                "profit_per_customer": float(total / count) if count else None,
                "count_level": None, "margin_level": None, "recommended": None}
        if count:
            cell["count_level"] = count_level(cell["share"])
            cell["margin_level"] = margin_level(cell["profit_per_customer"], average)
            cell["recommended"] = KOTLER[(cell["count_level"], cell["margin_level"])]
        cells.append(cell)
    return cells


def loyalty_band(loyalty):
    """Index into :data:`LOYALTY_BANDS` (0 high, 1 medium, 2 low) for every loyalty index; NaN is low."""
    index = np.asarray(loyalty, dtype=np.float64)
    return np.where(index >= LOYALTY_HIGH, 0, np.where(index >= LOYALTY_LOW, 1, 2)).astype(np.int64)


def kotler_classes(loyalty, tier, gross_profit):
    """``(cells, level)``: the 9 classes "loyalty band × value tier" with their Kotler level, and every
    customer's recommended level (its class's level; an object array of level keys).

    ``loyalty``: index 0–100; ``tier``: index into :data:`TIER_KEYS`.  Cells come loyalty band first
    (high, medium, low), tier second (high-value, general, small); each has ``key`` ("high|general"),
    ``loyalty_band``, ``tier``, ``customers``, ``share``, ``profit_per_customer``, ``mean_loyalty`` (None
    when empty), ``count_level``, ``margin_level`` and ``recommended`` (None when empty).
    """
    index = np.asarray(loyalty, dtype=np.float64)
    tier = np.asarray(tier, dtype=np.int64)
    code = loyalty_band(index) * len(TIER_KEYS) + tier
    keys = [f"{band}|{t}" for band in LOYALTY_BANDS for t in TIER_KEYS]
    cells = kotler_cells(code, gross_profit, keys)
    known = np.isfinite(index)
    loyalty_sum = np.bincount(code[known], weights=index[known], minlength=len(keys))
    loyalty_n = np.bincount(code[known], minlength=len(keys))
    for i, cell in enumerate(cells):
        cell["loyalty_band"], cell["tier"] = keys[i].split("|")
        cell["mean_loyalty"] = float(loyalty_sum[i] / loyalty_n[i]) if loyalty_n[i] else None
    levels = np.array([cell["recommended"] or "" for cell in cells], dtype=object)
    return cells, levels[code]


def value_figures(gross_profit, *, points=101):
    """The Pareto (Lorenz) curve, the Gini coefficient and the 80/20 figure of ``gross_profit``."""
    profit = np.asarray(gross_profit, dtype=np.float64)
    xs, ys = value.lorenz_curve(profit, points=points) if len(profit) else (np.zeros(0), np.zeros(0))
    share = value.customers_for_share(profit, 0.80) if len(profit) else None
    return {
        "lorenz": [[round(float(a), 4), round(float(b), 6)] for a, b in zip(xs, ys, strict=True)],
        "gini": float(value.gini(profit)) if len(profit) else 0.0,
        "customers_for_80": share,
        "loss_making": value.loss_making(profit),
    }


def tier_figures(gross_profit, tier_code):
    """Counts, customer shares and shares of positive profit per tier (keys of :data:`TIER_KEYS`)."""
    s = value.tier_summary(gross_profit, tier_code)
    rename = dict(zip(value.TIER_KEYS, TIER_KEYS, strict=True))
    return {rename[k]: {"customers": s.counts[k], "customer_share": s.customer_shares[k],
                        "profit_share": s.profit_shares[k], "profit": s.profit[k]} for k in value.TIER_KEYS}


def class_figures(class_code, **columns):
    """Per value class: customers and the mean of each of ``columns``."""
    code = np.asarray(class_code, dtype=np.int64)
    counts = np.bincount(code, minlength=len(CLASS_KEYS))
    out = {}
    for i, key in enumerate(CLASS_KEYS):
        entry = {"customers": int(counts[i])}
        mask = code == i
        for name, values in columns.items():
            v = np.asarray(values, dtype=np.float64)[mask]
            v = v[np.isfinite(v)]
            entry[f"mean_{name}"] = float(v.mean()) if len(v) else None
        out[key] = entry
    return out


def loyalty_distribution(index, bins=10):
    """Customers per band of 10 points: ``{"0-10": n, …, "90-100": n}``."""
    index = np.asarray(index, dtype=np.float64)
    index = index[np.isfinite(index)]
    band = np.minimum((index // (100 / bins)).astype(np.int64), bins - 1)
    counts = np.bincount(band, minlength=bins)
    step = 100 // bins
    return {f"{i * step}-{(i + 1) * step}": int(c) for i, c in enumerate(counts)}
