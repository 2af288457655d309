"""From a transaction list to the per-customer arrays the models need.

As in Fader, Hardie & Lee (2005):

* purchases by one customer on the same day are one transaction (their amounts are summed);
* ``frequency`` (x) is the number of *repeat* transactions — transactions after the first one;
* ``recency`` (t_x) is the time between the first and the last transaction (0 when x = 0);
* ``T`` is the time between the first transaction and the as-of date (the customer's age);
* ``monetary`` is the mean value of the repeat transactions (0 when x = 0); the first purchase is left
  out because its value is often different in kind (a starter order) and the spend model is about repeats.

Times are measured in days and divided by the length of the period (1 for ``"day"``, 7 for ``"week"``),
so weekly recency and age are fractional (213 days = 30.43 weeks), as in the published CDNOW data.
Transactions after ``as_of`` are ignored; customers whose first purchase is after ``as_of`` are absent.
"""

from dataclasses import dataclass

import numpy as np

PERIOD_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class CustomerSummary:
    """Per-customer arrays, all of length ``n`` and in the order of ``customer`` (sorted ids)."""

    customer: np.ndarray  # unique customer ids, sorted
    frequency: np.ndarray  # x: repeat transactions (int64)
    recency: np.ndarray  # t_x in periods
    T: np.ndarray  # age in periods
    monetary: np.ndarray  # mean value of repeat transactions (0 when x = 0)
    first_day: np.ndarray  # first purchase, days since the epoch (int64)
    last_day: np.ndarray  # last purchase, days since the epoch (int64)
    transactions: np.ndarray  # number of transactions (purchase days) = x + 1
    revenue: np.ndarray  # total amount of all transactions up to as-of
    cost: np.ndarray  # total cost (zeros when no costs were given)
    as_of_day: int  # as-of date, days since the epoch
    period: str
    period_days: int

    @property
    def n(self):
        return len(self.customer)

    @property
    def gross_profit(self):
        return self.revenue - self.cost

    @property
    def days_since_last(self):
        """Recency for RFM: whole days between the last purchase and the as-of date."""
        return self.as_of_day - self.last_day


def to_days(dates):
    """Days since 1970-01-01 as int64, from integer days or any ``datetime64`` (times of day are dropped)."""
    dates = np.asarray(dates)
    if np.issubdtype(dates.dtype, np.datetime64):
        return dates.astype("datetime64[D]").astype(np.int64)
    if np.issubdtype(dates.dtype, np.integer):
        return dates.astype(np.int64)
    if np.issubdtype(dates.dtype, np.floating) and np.all(np.isfinite(dates)) and np.all(dates == np.floor(dates)):
        return dates.astype(np.int64)
    raise TypeError("dates must be integer days or datetime64 values")


def _as_of_day(as_of):
    if isinstance(as_of, (int, np.integer)):
        return int(as_of)
    return int(np.datetime64(as_of, "D").astype(np.int64))


def summarize(customer, date, amount, cost=None, *, as_of=None, period="day"):
    """Build a :class:`CustomerSummary` from parallel transaction arrays.

    ``customer``: ids of any sortable dtype (ints or strings); ``date``: integer days or datetime64;
    ``amount`` and optional ``cost``: numbers.  ``as_of`` (same kind as ``date``, default the latest date)
    cuts later transactions off and is the end of every customer's observation.  ``period``: ``"day"`` or
    ``"week"``.
    """
    if period not in PERIOD_DAYS:
        raise ValueError(f"period must be one of {sorted(PERIOD_DAYS)}, not {period!r}")
    unit = PERIOD_DAYS[period]
    customer = np.asarray(customer)
    days = to_days(date)
    amount = np.asarray(amount, dtype=np.float64)
    cost = np.zeros_like(amount) if cost is None else np.asarray(cost, dtype=np.float64)
    if not (len(customer) == len(days) == len(amount) == len(cost)):
        raise ValueError("customer, date, amount and cost must have the same length")

    if as_of is None:
        if len(days) == 0:
            raise ValueError("no transactions and no as-of date")
        as_of_day = int(days.max())
    else:
        as_of_day = _as_of_day(as_of)
    keep = days <= as_of_day
    customer, days, amount, cost = customer[keep], days[keep], amount[keep], cost[keep]

    ids, code = np.unique(customer, return_inverse=True)
    code = code.reshape(-1)
    n = len(ids)
    empty = np.zeros(0)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return CustomerSummary(ids, z, empty, empty, empty, z, z, z, empty, empty, as_of_day, period, unit)

    # One row per (customer, day): sort by customer then day, cut where either changes, sum the amounts.
    order = np.lexsort((days, code))
    code, days, amount, cost = code[order], days[order], amount[order], cost[order]
    new_txn = np.ones(len(code), dtype=bool)
    new_txn[1:] = (code[1:] != code[:-1]) | (days[1:] != days[:-1])
    starts = np.flatnonzero(new_txn)
    t_code, t_day = code[starts], days[starts]
    t_amount = np.add.reduceat(amount, starts)
    t_cost = np.add.reduceat(cost, starts)

    # One row per customer: transactions are sorted by day inside each customer.
    cstarts = np.flatnonzero(np.r_[True, t_code[1:] != t_code[:-1]])
    cends = np.r_[cstarts[1:], len(t_code)] - 1
    n_txn = cends - cstarts + 1
    first_day, last_day = t_day[cstarts], t_day[cends]
    revenue = np.add.reduceat(t_amount, cstarts)
    total_cost = np.add.reduceat(t_cost, cstarts)
    x = n_txn - 1
    repeat_revenue = revenue - t_amount[cstarts]
    monetary = np.divide(repeat_revenue, x, out=np.zeros(n), where=x > 0)
    return CustomerSummary(
        customer=ids,
        frequency=x.astype(np.int64),
        recency=(last_day - first_day) / unit,
        T=(as_of_day - first_day) / unit,
        monetary=monetary,
        first_day=first_day,
        last_day=last_day,
        transactions=n_txn.astype(np.int64),
        revenue=revenue,
        cost=total_cost,
        as_of_day=as_of_day,
        period=period,
        period_days=unit,
    )


def holdout_counts(customer, date, *, ids, calibration_end, observation_end):
    """Repeat transactions (distinct purchase days) of each of ``ids`` in (calibration_end, observation_end].

    ``ids`` must be sorted (as :attr:`CustomerSummary.customer` is); transactions of other customers are
    ignored.  Returns int64 counts aligned with ``ids``.
    """
    customer = np.asarray(customer)
    days = to_days(date)
    lo, hi = _as_of_day(calibration_end), _as_of_day(observation_end)
    keep = (days > lo) & (days <= hi)
    customer, days = customer[keep], days[keep]
    pos = np.searchsorted(ids, customer)
    pos_ok = np.minimum(pos, max(len(ids) - 1, 0))
    known = (pos < len(ids)) & (ids[pos_ok] == customer) if len(ids) else np.zeros(len(customer), dtype=bool)
    span = hi - lo + 1
    pairs = np.unique(pos[known].astype(np.int64) * span + (days[known] - lo))  # one per customer and day
    return np.bincount(pairs // span, minlength=len(ids)).astype(np.int64)
