"""Purchase and contact history of customers, generated with numpy for a whole batch at once.

Every customer draws a few parameters — how often it orders (heavy-tailed, correlated with how much
it spends per order), whether its buying grows or shrinks, how regular its reorders are, whether it
buys mostly on promotion, when it stops buying — and its orders are a renewal process in "business
time": gamma intervals (shape 1 is Poisson, larger shapes are regular reorder cycles) mapped onto the
calendar through the seasonal clock (Chinese New Year and the October holiday are slow, June and the
last quarter are busy) and the customer's trend.  Lines, statuses, channels, sellers (the customer's
owner at the time) and interactions follow, all as column arrays; no Python object per order.

Money is in integer cents.  :func:`line_amounts` is the app's ``line_totals`` (half-up to the cent)
in integer arithmetic; a test checks that the two agree.
"""

import datetime
from dataclasses import dataclass, field

import numpy as np

from . import texts
from .catalog import Catalog

DAY = 86_400
YEAR_DAYS = 365.25

STATUSES = ["draft", "confirmed", "delivered", "paid", "cancelled", "returned"]
DRAFT, CONFIRMED, DELIVERED, PAID, CANCELLED, RETURNED = range(6)
CHANNELS = ["direct", "dealer", "online", "phone"]
DEALER = 1

# Spring Festival (the first day of the lunar year).
SPRING_FESTIVAL = {
    2015: "02-19", 2016: "02-08", 2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25", 2021: "02-12",
    2022: "02-01", 2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26",
    2029: "02-13", 2030: "02-03", 2031: "01-23", 2032: "02-11",
}
# Business per month relative to an average month: slow around New Year, busy before mid-year and
# in the last quarter (budgets are spent).
MONTH_FACTOR = np.array([0.95, 0.9, 1.1, 1.05, 1.1, 1.3, 0.9, 0.85, 1.05, 0.9, 1.15, 1.3])
MAX_RATE = 160  # orders per year of business time
LINES_PER_ORDER = np.array([0.36, 0.25, 0.16, 0.11, 0.07, 0.05])  # 1–6 lines, 2.3 on average
PROMO_DISCOUNTS = np.array([5, 8, 10, 12, 15, 20])
PROMO_DISCOUNT_WEIGHTS = np.array([2, 3, 4, 2, 2, 1], dtype=float)


@dataclass
class Customers:
    """The customers of one batch, as arrays (index ``i`` is the customer's position in the batch)."""

    ids: np.ndarray              # int64
    created: np.ndarray          # epoch seconds
    owner: np.ndarray            # current owner's user id, 0 for none
    region: list                 # branch region key of each customer (for dealers)
    industry: list
    is_company: np.ndarray       # bool
    first_contact: np.ndarray    # id of the first contact, 0 when none
    n_contacts: np.ndarray
    # Ownership history: customer index, time, new owner (0 = pool), sorted by (index, time).
    change_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    change_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    change_to: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self):
        return len(self.ids)

    def owner_at(self, index: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The owner of customer ``index[k]`` at time ``at[k]`` (the current owner when no history)."""
        result = self.owner[index].copy()
        if len(self.change_index) == 0 or len(index) == 0:
            return result
        shift = np.int64(1) << 34
        base = min(int(self.change_at.min()), int(at.min())) - 1
        keys = self.change_index * shift + (self.change_at - base)
        query = index.astype(np.int64) * shift + (at.astype(np.int64) - base)
        pos = np.searchsorted(keys, query, side="right") - 1
        ok = pos >= 0
        ok[ok] = self.change_index[pos[ok]] == index[ok]
        result[ok] = self.change_to[pos[ok]]
        return result


@dataclass
class Behaviour:
    """Per-customer parameters drawn for a batch."""

    buyer: np.ndarray
    rate: np.ndarray             # orders per year of business time
    order_value: np.ndarray      # typical order value in yuan
    shape: np.ndarray            # gamma shape of the intervals: 1 Poisson, 4–12 regular reorders
    trend: np.ndarray            # growth of the order rate per year (log scale)
    start: np.ndarray            # first possible order, epoch seconds
    end: np.ndarray              # churn time or now
    churned: np.ndarray
    promo_share: np.ndarray
    transactional: np.ndarray
    base_discount: np.ndarray    # negotiated discount in percent
    channel: np.ndarray          # preferred channel index
    partner: np.ndarray          # dealer id, 0 for none
    category_cdf: np.ndarray     # (customers, categories) cumulative purchase mix


@dataclass
class History:
    """Column arrays of one batch (see the module doc)."""

    # orders
    o_index: np.ndarray = None   # customer index
    o_day: np.ndarray = None     # local day number (days since 1970-01-01)
    o_at: np.ndarray = None      # entry time, epoch seconds
    o_status: np.ndarray = None
    o_channel: np.ndarray = None
    o_partner: np.ndarray = None
    o_seller: np.ndarray = None
    o_promo: np.ndarray = None
    o_note: np.ndarray = None
    o_list: np.ndarray = None
    o_total: np.ndarray = None
    o_cost: np.ndarray = None
    # lines
    l_order: np.ndarray = None   # order index
    l_position: np.ndarray = None
    l_product: np.ndarray = None
    l_quantity: np.ndarray = None
    l_price: np.ndarray = None   # cents
    l_discount: np.ndarray = None  # hundredths of a percent
    l_unit_cost: np.ndarray = None
    l_amount: np.ndarray = None
    l_cost: np.ndarray = None
    # interactions
    i_index: np.ndarray = None
    i_at: np.ndarray = None
    i_kind: np.ndarray = None
    i_inbound: np.ndarray = None
    i_content: np.ndarray = None
    i_duration: np.ndarray = None  # -1: none
    i_summary: np.ndarray = None   # index into the summary pool
    i_user: np.ndarray = None
    i_contact: np.ndarray = None   # 0: none
    i_follow_up: np.ndarray = None  # local day number, -1: none


def local_day(epoch_seconds, offset):
    return (np.asarray(epoch_seconds) + offset) // DAY


def line_amounts(quantity, price, discount, unit_cost):
    """Amount, cost and margin in cents of lines with integer quantities, prices in cents and
    discounts in hundredths of a percent: ``crm.sales.services.line_totals`` in integers."""
    quantity = np.asarray(quantity, dtype=np.int64)
    numerator = quantity * np.asarray(price, dtype=np.int64) * (10_000 - np.asarray(discount, dtype=np.int64))
    amount = (2 * numerator + 10_000) // 20_000  # half-up; every value is non-negative
    cost = quantity * np.asarray(unit_cost, dtype=np.int64)
    return amount, cost, amount - cost


class SeasonalClock:
    """Cumulative business time over calendar days: ``forward`` maps a local time in days to business
    days, ``back`` inverts it.  A day of average business counts 1."""

    def __init__(self, first_day: int, last_day: int):
        days = np.arange(first_day, last_day + 2)
        dates = days.astype("datetime64[D]")
        month = dates.astype("datetime64[M]").astype(np.int64) % 12
        factor = MONTH_FACTOR[month].copy()
        md = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
        factor[(month == 9) & (md <= 7)] = 0.25  # the National Day week
        for year, monthday in SPRING_FESTIVAL.items():
            festival = np.datetime64(f"{year}-{monthday}").astype(np.int64)
            offset = days - festival
            factor[(offset >= -10) & (offset <= 12)] *= 0.5
            factor[(offset >= -3) & (offset <= 7)] *= 0.2
        factor /= factor.mean()
        self.first_day = first_day
        self.edges_days = np.arange(first_day, last_day + 3, dtype=float)
        self.edges_business = np.concatenate([[0.0], np.cumsum(factor)])

    def forward(self, day):
        return np.interp(day, self.edges_days, self.edges_business)

    def back(self, business):
        return np.interp(business, self.edges_business, self.edges_days)


class HistoryGenerator:
    """Draws behaviour and history for batches of customers.  ``orders_per_customer`` and
    ``interactions_per_customer`` set the volumes (on average over a batch)."""

    def __init__(self, rng: np.random.Generator, catalog: Catalog, *, now: datetime.datetime, first: datetime.datetime,
                 orders_per_customer: float, interactions_per_customer: float, summaries: texts.SummaryPool,
                 history_start: datetime.datetime | None = None):
        self.rng = rng
        self.catalog = catalog
        self.now = int(now.timestamp())
        self.offset = int(now.utcoffset().total_seconds()) if now.utcoffset() else 0
        self.today = int(local_day(self.now, self.offset))
        self.history_start = int(history_start.timestamp()) if history_start else None
        self.clock = SeasonalClock(int(local_day(int(first.timestamp()), self.offset)) - 2, self.today + 1)
        self.orders_per_customer = orders_per_customer
        self.interactions_per_customer = interactions_per_customer
        self.summaries = summaries
        self._weights = {}
        self.margin_pct = catalog.margin_pct
        # Products sorted by category; key = category + cumulative popularity within it.
        within = np.zeros(len(catalog.product_ids))
        for c in range(len(catalog.category_codes)):
            s, n = catalog.category_start[c], catalog.category_count[c]
            if n:
                pop = catalog.popularity[s:s + n]
                within[s:s + n] = np.cumsum(pop) / pop.sum()
        self.product_key = catalog.category + within
        self.product_key[-1] = np.inf if len(self.product_key) else 0

    def _days(self, epoch):
        """Local time in (fractional) days since 1970-01-01."""
        return (np.asarray(epoch, dtype=float) + self.offset) / DAY

    # --- behaviour -----------------------------------------------------------------------------
    def behaviour(self, c: Customers) -> Behaviour:
        rng, n = self.rng, len(c)
        age_days = (self.now - c.created) / DAY
        buyer = rng.random(n) < 0.86 * (1 - np.exp(-age_days / 45))
        transactional = buyer & (rng.random(n) < 0.18)
        shared = rng.normal(size=n)  # big accounts order both more often and more per order
        rate = np.exp(np.log(2.5) + 0.6 * shared + 0.6 * rng.normal(size=n))
        rate[transactional] *= 0.35
        value = np.exp(np.log(900) + 0.6 * shared + 0.75 * rng.normal(size=n))
        value[transactional] *= 0.6
        value = np.clip(value, 80, 300_000)
        regular = rng.random(n) < 0.3
        shape = np.where(regular, rng.uniform(4, 12, size=n), 1.0)
        roll = rng.random(n)
        trend = np.where(roll < 0.22, rng.uniform(0.25, 0.9, size=n),
                         np.where(roll < 0.42, rng.uniform(-0.9, -0.25, size=n), rng.normal(0, 0.08, size=n)))
        # New customers place a first order a few weeks after they were entered; customers older than
        # the history were already buying when it starts (the random phase of their first interval).
        lag = rng.exponential(25 * DAY, size=n)
        floor = c.created if self.history_start is None else np.maximum(c.created, self.history_start)
        start = (floor + np.where(c.created >= floor, lag, 0)).astype(np.int64)
        lifetime = rng.exponential(np.where(transactional, 1.3, 4.5) * YEAR_DAYS * DAY)
        end = np.minimum(start + lifetime.astype(np.int64), self.now - DAY)
        churned = start + lifetime < self.now - DAY
        buyer &= start < self.now - 2 * DAY
        promo = np.where(transactional, rng.beta(6, 2.5, size=n), rng.beta(1.2, 11, size=n))
        base_discount = np.where(transactional, 0, np.clip(np.round(rng.normal(1.5 + 1.5 * shared, 1.5)), 0, 8))
        channel_p = np.where(transactional[:, None], [[0.3, 0.08, 0.42, 0.2]], [[0.58, 0.16, 0.1, 0.16]])
        channel = (channel_p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, 3)
        partner = np.zeros(n, dtype=np.int64)
        all_partners = np.concatenate(list(self.catalog.partners.values())) if self.catalog.partners else None
        if all_partners is not None and len(all_partners):
            for i in np.flatnonzero(channel == DEALER):
                pool = self.catalog.partners.get(c.region[i])
                pool = pool if pool is not None and len(pool) else all_partners
                partner[i] = pool[rng.integers(len(pool))]
        else:
            channel[channel == DEALER] = 0
        weights = np.array([self._industry_weights(ind) for ind in c.industry])
        mix = rng.gamma(weights * 1.2)
        mix /= mix.sum(axis=1, keepdims=True)
        return Behaviour(buyer, rate, value, shape, trend, start, end, churned, promo, transactional,
                         base_discount.astype(np.int64), channel, partner, mix.cumsum(axis=1))

    def _industry_weights(self, industry):
        if industry not in self._weights:
            weights = self.catalog.category_weights(industry)
            weights[self.catalog.category_count == 0] = 1e-9
            self._weights[industry] = weights
        return self._weights[industry]

    # --- orders --------------------------------------------------------------------------------
    def orders(self, c: Customers, b: Behaviour, h: History, target: float):
        rng = self.rng
        s0 = self.clock.forward(self._days(b.start))
        s1 = self.clock.forward(self._days(np.maximum(b.end, b.start)))
        span = np.maximum(s1 - s0, 0) / YEAR_DAYS
        g = b.trend
        small = np.abs(g) < 1e-6
        business = np.where(small, span, np.expm1(g * span) / np.where(small, 1, g))
        business[~b.buyer] = 0
        # Scale the rates to the target count; the heaviest buyers are capped (a few orders a working
        # day at most), and the others make up for what the cap removes.
        b.rate = np.minimum(b.rate, MAX_RATE)
        for _ in range(4):
            expected = b.rate * business
            capped = b.rate >= MAX_RATE
            free, wanted = expected[~capped].sum(), target - expected[capped].sum()
            if free <= 0 or wanted <= 0 or abs(expected.sum() - target) < 1e-3 * target:
                break
            b.rate[~capped] *= wanted / free
            b.rate = np.minimum(b.rate, MAX_RATE)
        expected = b.rate * business
        n_gen = np.where(expected > 0, np.ceil(expected + 4 * np.sqrt(expected) + 3), 0).astype(np.int64)
        idx = np.repeat(np.arange(len(c)), n_gen)
        k = b.shape[idx]
        gaps = rng.gamma(k, 1 / (b.rate[idx] * k))
        first = np.cumsum(n_gen) - n_gen
        has = n_gen > 0
        # A stationary start: the first gap is the rest of a length-biased interval (gamma of shape k + 1
        # times a uniform share), so the expected count over a span is the rate times the span.
        starts = first[has]
        gaps[starts] = rng.gamma(k[starts] + 1, 1 / (b.rate[has] * k[starts])) * rng.random(len(starts))
        total = np.cumsum(gaps)
        base = np.zeros(len(c))
        base[has] = total[first[has]] - gaps[first[has]]
        u = total - base[idx]
        keep = u < business[idx]
        idx, u = idx[keep], u[keep]
        gi = g[idx]
        small = np.abs(gi) < 1e-6
        years = np.where(small, u, np.log1p(gi * u) / np.where(small, 1, gi))
        day = np.floor(self.clock.back(s0[idx] + years * YEAR_DAYS)).astype(np.int64)
        weekday = (day + 3) % 7
        shift = rng.random(len(day)) < 0.88
        day = day - ((weekday == 5) & shift) + ((weekday == 6) & shift)
        created_day = local_day(c.created[idx], self.offset)
        day = np.clip(day, created_day, self.today - 1)
        order = np.lexsort((day, idx))
        idx, day = idx[order], day[order]
        n = len(idx)
        at = (day * DAY - self.offset + rng.integers(8 * 3600 + 1800, 18 * 3600 + 1800, size=n)).astype(np.int64)
        at = np.maximum(at, c.created[idx] + 60)
        at = np.minimum(at, self.now - 60)
        age = self.today - day
        roll = rng.random(n)
        status = np.full(n, PAID)
        status[(age <= 90) & (roll < 0.2)] = DELIVERED
        mid = (age > 3) & (age <= 30)
        status[mid & (roll < 0.55)] = DELIVERED
        status[mid & (roll < 0.15)] = CONFIRMED
        recent = age <= 3
        status[recent] = np.where(roll[recent] < 0.7, CONFIRMED, DELIVERED)
        status[(age > 90) & (roll < 0.03)] = DELIVERED
        roll = rng.random(n)
        status[roll < 0.03] = CANCELLED
        status[(roll >= 0.03) & (roll < 0.05) & (age > 5)] = RETURNED
        status[(age <= 14) & (rng.random(n) < 0.015)] = DRAFT
        channel = np.where(rng.random(n) < 0.85, b.channel[idx], rng.choice(4, size=n, p=[0.55, 0.15, 0.15, 0.15]))
        partner = np.where(channel == DEALER, b.partner[idx], 0)
        no_partner = (channel == DEALER) & (partner == 0)
        channel[no_partner] = 0
        month = ((day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)) % 12) + 1
        promo_boost = np.where(np.isin(month, [6, 11]), 1.5, 1.0)  # the "618" and "Double 11" sales
        promo = rng.random(n) < np.minimum(b.promo_share[idx] * promo_boost, 0.95)
        note = rng.integers(0, len(texts.ORDER_NOTES), size=n)
        h.o_index, h.o_day, h.o_at, h.o_status = idx, day, at, status
        h.o_channel, h.o_partner, h.o_promo, h.o_note = channel, partner, promo, note
        h.o_seller = c.owner_at(idx, at)
        self._lines(c, b, h)

    def _lines(self, c: Customers, b: Behaviour, h: History):
        rng, cat = self.rng, self.catalog
        n_orders = len(h.o_index)
        n_lines = rng.choice(len(LINES_PER_ORDER), size=n_orders, p=LINES_PER_ORDER) + 1
        order = np.repeat(np.arange(n_orders), n_lines)
        first = np.cumsum(n_lines) - n_lines
        position = np.arange(len(order)) - first[order] + 1
        ci = h.o_index[order]
        u = rng.random(len(order))
        category = (b.category_cdf[ci] < u[:, None]).sum(axis=1).clip(0, len(cat.category_codes) - 1)
        product = np.searchsorted(self.product_key, category + rng.random(len(order)) * 0.999999)
        product = np.minimum(product, len(cat.product_ids) - 1)
        price = cat.price[product]
        value = b.order_value[ci] * np.exp(rng.normal(0, 0.55, size=len(order))) / n_lines[order]
        quantity = np.clip(np.round(value * 100 / price), 1, 9999).astype(np.int64)
        promo = h.o_promo[order]
        discount = b.base_discount[ci].copy()
        extra = rng.choice(PROMO_DISCOUNTS, size=len(order), p=PROMO_DISCOUNT_WEIGHTS / PROMO_DISCOUNT_WEIGHTS.sum())
        discount = discount + np.where(promo, extra, 0)
        ceiling = np.maximum(self.margin_pct[product] - np.where(promo, 2, 6), 0)
        discount = np.minimum(discount, ceiling).astype(np.int64) * 100
        amount, cost, _margin = line_amounts(quantity, price, discount, cat.cost[product])
        h.l_order, h.l_position, h.l_product = order, position, cat.product_ids[product]
        h.l_quantity, h.l_price, h.l_discount, h.l_unit_cost = quantity, price, discount, cat.cost[product]
        h.l_amount, h.l_cost = amount, cost
        self.order_totals(h)

    @staticmethod
    def order_totals(h: History):
        n = len(h.o_index)
        h.o_list = np.bincount(h.l_order, weights=h.l_quantity * h.l_price, minlength=n).astype(np.int64)
        h.o_total = np.bincount(h.l_order, weights=h.l_amount, minlength=n).astype(np.int64)
        h.o_cost = np.bincount(h.l_order, weights=h.l_cost, minlength=n).astype(np.int64)

    # --- interactions --------------------------------------------------------------------------
    def interactions(self, c: Customers, b: Behaviour, h: History, target: float):
        rng, n = self.rng, len(c)
        counted = h.o_status != DRAFT
        # About a fifth of the orders follow a call or visit (fewer when few interactions are asked for).
        share = min(0.22, 0.6 * target / max(len(h.o_index), 1))
        linked = counted & (rng.random(len(h.o_index)) < share)
        l_index = h.o_index[linked]
        l_at = h.o_at[linked] - (rng.gamma(1.5, 1.6, size=int(linked.sum())) * DAY).astype(np.int64)
        l_at = np.maximum(l_at, c.created[l_index] + 600)
        # Background contact: prospects are called while they are being won, buyers throughout, and
        # customers who stopped buying for a while after that.
        after = np.where(b.churned & b.buyer, np.minimum(b.end + rng.exponential(200 * DAY, size=n), self.now),
                         self.now)
        begin = c.created if self.history_start is None else np.maximum(c.created, self.history_start)
        span = np.maximum(after - begin, 0) / (YEAR_DAYS * DAY)
        intensity = np.where(b.buyer, 0.6 + np.sqrt(b.rate), 1.2) * span
        remaining = max(target - len(l_index), 0)
        counts = rng.poisson(intensity * (remaining / intensity.sum() if intensity.sum() else 0))
        g_index = np.repeat(np.arange(n), counts)
        g_at = begin[g_index] + (rng.random(len(g_index)) * np.maximum(after - begin, 0)[g_index]).astype(np.int64)
        index = np.concatenate([l_index, g_index])
        at = np.concatenate([l_at, g_at])
        # Office hours on the local day, working days mostly.
        day = local_day(at, self.offset)
        weekday = (day + 3) % 7
        moved = rng.random(len(day)) < 0.8
        day = day - ((weekday == 5) & moved) - 2 * ((weekday == 6) & moved)
        at = day * DAY - self.offset + rng.integers(8 * 3600 + 1800, 19 * 3600, size=len(day))
        at = np.clip(at, c.created[index] + 60, self.now - 600)
        order = np.lexsort((at, index))
        index, at = index[order], at[order]
        phase_linked = np.concatenate([np.ones(len(l_index), bool), np.zeros(len(g_index), bool)])[order]
        phase = np.where(phase_linked, 1, np.where(~b.buyer[index] | (at < b.start[index]), 0,
                                                    np.where(b.churned[index] & (at > b.end[index]), 3, 2)))
        m = len(index)
        kind_p = texts.KIND_WEIGHTS / texts.KIND_WEIGHTS.sum()
        kind = rng.choice(len(kind_p), size=m, p=kind_p)
        sales_kinds = np.array([0, 1, 2, 3])  # around an order: call, visit, e-mail, meeting
        kind[phase == 1] = rng.choice(sales_kinds, size=int((phase == 1).sum()), p=[0.5, 0.2, 0.2, 0.1])
        content = np.empty(m, dtype=np.int64)
        for p, name in enumerate(texts.PHASES):
            sel = phase == p
            w = np.array(texts.PHASE_CONTENT_WEIGHTS[name])
            content[sel] = rng.choice(len(w), size=int(sel.sum()), p=w / w.sum())
        inbound = rng.random(m) < texts.INBOUND_SHARE[kind]
        duration = np.where(texts.HAS_DURATION[kind],
                            rng.integers(texts.DURATION_LOW[kind], texts.DURATION_HIGH[kind] + 1), -1)
        which = (rng.random(m) * np.maximum(c.n_contacts[index], 1)).astype(np.int64)
        contact = np.where(c.n_contacts[index] > 0, c.first_contact[index] + which, 0)
        follow = np.where(rng.random(m) < 0.12, local_day(at, self.offset) + rng.integers(1, 15, size=m), -1)
        h.i_index, h.i_at, h.i_kind, h.i_inbound, h.i_content = index, at.astype(np.int64), kind, inbound, content
        h.i_duration, h.i_contact, h.i_follow_up = duration, contact, follow
        h.i_summary = self.summaries.pick(rng, kind, content)
        h.i_user = c.owner_at(index, h.i_at)

    def generate(self, c: Customers) -> tuple[Behaviour, History]:
        b = self.behaviour(c)
        h = History()
        self.orders(c, b, h, self.orders_per_customer * len(c))
        if self.interactions_per_customer > 0:
            self.interactions(c, b, h, self.interactions_per_customer * len(c))
        return b, h


# --- per-customer summaries -----------------------------------------------------------------------
def last_activity(c: Customers, h: History, offset: int, now: int) -> np.ndarray:
    """Epoch seconds of each customer's last order (noon of its date, as the order services count it)
    or interaction; 0 when none.  Drafts do not count."""
    n = len(c)
    last = np.zeros(n, dtype=np.int64)
    counted = h.o_status != DRAFT
    noon = np.minimum(h.o_day[counted] * DAY + 12 * 3600 - offset, now)
    np.maximum.at(last, h.o_index[counted], noon)
    if h.i_index is not None and len(h.i_index):
        np.maximum.at(last, h.i_index, h.i_at)
    return last


def customer_status(c: Customers, b: Behaviour, h: History, today: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(status, customer type) per customer, from what the history shows."""
    n = len(c)
    revenue = np.isin(h.o_status, [CONFIRMED, DELIVERED, PAID])
    count = np.bincount(h.o_index[revenue], minlength=n)
    last_day = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_day, h.o_index[revenue], h.o_day[revenue])
    promo = np.bincount(h.o_index[revenue], weights=h.o_promo[revenue], minlength=n)
    age = today - last_day
    status = np.where(count == 0, "prospect", np.where(age <= 180, "active", np.where(age <= 540, "dormant", "lost")))
    promo_share = np.divide(promo, count, out=np.zeros(n), where=count > 0)
    roll = rng.random(n)
    ctype = np.full(n, "unknown", dtype=object)
    ctype[(count > 0) & (promo_share >= 0.45) & (roll < 0.9)] = "transaction"
    ctype[(count >= 5) & (promo_share < 0.3) & (roll < 0.75)] = "relationship"
    return status.astype(object), ctype
