"""From a transaction list to the per-customer arrays the models need.

As in Fader, Hardie & Lee (2005), with returns and zero amounts netted first:

* rows of one customer on the same day are netted into one *customer-day* (amounts and costs summed), so
  a purchase of 100 and a return of 30 on the same day is one day worth 70;
* a *purchase occasion* is a customer-day whose net amount is > 0.  A day that nets to <= 0 (a return,
  a refund, a zero-amount row) is never a purchase occasion: it does not count towards ``frequency``,
  ``recency``, the first or last purchase day, ``T`` or ``transactions``;
* ``frequency`` (x) is the number of *repeat* occasions — occasions after the first one;
* ``recency`` (t_x) is the time between the first and the last occasion (0 when x = 0);
* ``T`` is the time between the first occasion and the as-of date (the customer's age);
* ``revenue`` and ``cost`` are net of every row up to the as-of date, non-occasion days included: a
  return on a later day lowers revenue (and gross profit) but leaves the frequency alone;
* ``monetary`` is the net amount of every day after the first occasion divided by x, clipped at 0 (0 when
  x = 0); the first purchase is left out because its value is often different in kind (a starter order)
  and the spend model is about repeats, and a later return lowers the mean;
* customers with no purchase occasion at all (only returns or zero rows) have not bought: they are left
  out of the summary (no CLV, RFM or model applies to them) and counted in :attr:`CustomerSummary.report`.

``count_zero_days=True`` also counts a day whose rows are all zero amounts (free goods) as an occasion; a
day with a return in it still does not count.  The CDNOW sample needs it to reproduce the published
estimates: it records eight one-CD purchases at $0.00 that Fader, Hardie & Lee count as purchases.

Times are measured in days and divided by the length of the period (1 for ``"day"``, 7 for ``"week"``),
so weekly recency and age are fractional (213 days = 30.43 weeks), as in the published CDNOW data.
Transactions after ``as_of`` are ignored; customers whose first occasion is after ``as_of`` are absent.
"""

from dataclasses import dataclass, field

import numpy as np

PERIOD_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class CustomerSummary:
    """Per-customer arrays, all of length ``n`` and in the order of ``customer`` (sorted ids)."""

    customer: np.ndarray  # unique customer ids, sorted
    frequency: np.ndarray  # x: repeat purchase occasions (int64)
    recency: np.ndarray  # t_x in periods
    T: np.ndarray  # age in periods
    monetary: np.ndarray  # mean value of repeat transactions (0 when x = 0)
    first_day: np.ndarray  # first purchase occasion, days since the epoch (int64)
    last_day: np.ndarray  # last purchase occasion, days since the epoch (int64)
    transactions: np.ndarray  # number of purchase occasions = x + 1
    revenue: np.ndarray  # net amount of every row up to as-of (returns subtracted)
    cost: np.ndarray  # net cost (zeros when no costs were given)
    as_of_day: int  # as-of date, days since the epoch
    period: str
    period_days: int
    # What netting did: rows, return_rows, returned_amount, zero_rows, non_purchase_days,
    # customers_without_purchase, without_purchase_amount (empty when the summary was built elsewhere).
    report: dict = field(default_factory=dict)

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


def summarize(customer, date, amount, cost=None, *, as_of=None, period="day", count_zero_days=False):
    """Build a :class:`CustomerSummary` from parallel transaction arrays.

    ``customer``: ids of any sortable dtype (ints or strings); ``date``: integer days or datetime64;
    ``amount`` and optional ``cost``: numbers, negative for returns and refunds.  ``as_of`` (same kind as
    ``date``, default the latest date) cuts later transactions off and is the end of every customer's
    observation.  ``period``: ``"day"`` or ``"week"``.  ``count_zero_days``: see the module docstring.
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
    returns = amount < 0
    report = {"rows": int(len(amount)), "return_rows": int(returns.sum()),
              "returned_amount": float(np.abs(amount[returns]).sum()), "zero_rows": int((amount == 0).sum()),
              "non_purchase_days": 0, "customers_without_purchase": 0, "without_purchase_amount": 0.0}

    ids, code = np.unique(customer, return_inverse=True)
    code = code.reshape(-1)
    if len(ids) == 0:
        z, empty = np.zeros(0, dtype=np.int64), np.zeros(0)
        return CustomerSummary(ids, z, empty, empty, empty, z, z, z, empty, empty, as_of_day, period, unit, report)

    # One row per (customer, day): sort by customer then day, cut where either changes, net the amounts.
    order = np.lexsort((days, code))
    code, days, amount, cost, returns = code[order], days[order], amount[order], cost[order], returns[order]
    new_day = np.ones(len(code), dtype=bool)
    new_day[1:] = (code[1:] != code[:-1]) | (days[1:] != days[:-1])
    starts = np.flatnonzero(new_day)
    t_code, t_day = code[starts], days[starts]
    t_amount = np.add.reduceat(amount, starts)
    t_cost = np.add.reduceat(cost, starts)
    occasion = t_amount > 0
    if count_zero_days:
        occasion |= (t_amount == 0) & (np.add.reduceat(returns.astype(np.int64), starts) == 0)

    # Net revenue and cost per customer over every day; customer-days are sorted by day inside a customer.
    cstarts = np.flatnonzero(np.r_[True, t_code[1:] != t_code[:-1]])
    revenue = np.add.reduceat(t_amount, cstarts)
    total_cost = np.add.reduceat(t_cost, cstarts)
    n_occ = np.add.reduceat(occasion.astype(np.int64), cstarts)
    bought = n_occ > 0

    # Occasions only: the first and last of each customer who has one.
    o_pos = np.flatnonzero(occasion)
    o_code = t_code[o_pos]
    ostarts = np.flatnonzero(np.r_[True, o_code[1:] != o_code[:-1]]) if len(o_code) else o_pos
    oends = (np.r_[ostarts[1:], len(o_code)] - 1)[:len(ostarts)]
    first_pos = np.full(len(ids), len(t_code))  # position of each customer's first occasion
    first_pos[o_code[ostarts]] = o_pos[ostarts]
    after_first = np.arange(len(t_code)) > first_pos[t_code]
    repeat_net = np.add.reduceat(np.where(after_first, t_amount, 0.0), cstarts)[bought]
    first_day, last_day = t_day[o_pos[ostarts]], t_day[o_pos[oends]]

    report["non_purchase_days"] = int((~occasion).sum())
    report["customers_without_purchase"] = int((~bought).sum())
    report["without_purchase_amount"] = float(revenue[~bought].sum())
    n_occ = n_occ[bought]
    x = n_occ - 1
    monetary = np.clip(np.divide(repeat_net, x, out=np.zeros(len(x)), where=x > 0), 0, None)
    return CustomerSummary(
        customer=ids[bought],
        frequency=x.astype(np.int64),
        recency=(last_day - first_day) / unit,
        T=(as_of_day - first_day) / unit,
        monetary=monetary,
        first_day=first_day,
        last_day=last_day,
        transactions=n_occ.astype(np.int64),
        revenue=revenue[bought],
        cost=total_cost[bought],
        as_of_day=as_of_day,
        period=period,
        period_days=unit,
        report=report,
    )


def holdout_counts(customer, date, *, ids, calibration_end, observation_end, amount=None):
    """Repeat purchase occasions (distinct days) of each of ``ids`` in (calibration_end, observation_end].

    ``ids`` must be sorted (as :attr:`CustomerSummary.customer` is); transactions of other customers are
    ignored.  With ``amount``, a day counts only when the customer's net amount that day is > 0 (returns
    and zero rows are not purchases); without it every day with a row counts.  Returns int64 counts
    aligned with ``ids``.
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
    keys = pos[known].astype(np.int64) * span + (days[known] - lo)
    if amount is None:
        pairs = np.unique(keys)  # one per customer and day
    else:
        net_amount = np.asarray(amount, dtype=np.float64)[keep][known]
        pairs, inverse = np.unique(keys, return_inverse=True)
        pairs = pairs[np.bincount(inverse.reshape(-1), weights=net_amount, minlength=len(pairs)) > 0]
    return np.bincount(pairs // span, minlength=len(ids)).astype(np.int64)
