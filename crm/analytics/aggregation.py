"""The SQL side of a refresh: one pass over the orders, then numpy.

Everything a refresh needs from the database is read here, as columns of numbers:

* :func:`customer_history` — per customer, from the revenue orders (confirmed, delivered, paid) in the
  look-back window up to the as-of date, in **one** ``GROUP BY`` over a daily sub-aggregate: first and
  last purchase day, purchase days (orders of one customer on one day are one transaction; a day whose
  orders sum to zero or less is not a purchase), revenue and gross margin, the revenue of the first
  purchase day, orders and promotion orders, the squared gaps between purchase days (for purchase
  regularity), revenue of the last 365 days (share of wallet), the purchase days and the last purchase
  day up to the calibration end and the first purchase day and revenue after it (the backtest), orders
  on days that were not purchases, and the customer's own attributes (estimated annual need, owner,
  branch, type, industry, province);
* :func:`returned_orders` — how many orders in the window were returned, and their amount (reported);
* :func:`interaction_counts` — interactions per customer in the window (cost to serve);
* :func:`customer_base` — every customer counted by type, industry, province and branch (composition);
* :func:`product_sales` — per product, from the order lines of the same orders: amount, cost, margin
  and quantity; with :func:`average_stock` (time-weighted stock on hand reconstructed from the stock
  movements) for turnover.

The SQL is portable (SQLite and PostgreSQL); only the expression that turns a date into a day number
differs.  On PostgreSQL the per-customer rows are fetched with ``COPY … TO STDOUT (FORMAT binary)``
straight into a numpy buffer (every column is a non-null ``float8``, so each row has the same layout);
elsewhere ``fetchall`` is turned into an array without a per-row Python step.

Days are whole days since 1970-01-01, as in :mod:`crm.analytics.stats.summary`.
"""

import calendar
import datetime
import itertools
from dataclasses import dataclass

import numpy as np
from django.db import connection

from crm.activities.models import Interaction
from crm.customers.choices import CustomerType, Industry, Province
from crm.customers.models import Customer
from crm.sales.choices import REVENUE_STATUSES, OrderStatus
from crm.sales.models import Order, OrderLine, StockMovement

EPOCH = datetime.date(1970, 1, 1)

# Columns of the per-customer matrix, in the order of the SELECT.
HISTORY_COLUMNS = (
    "customer", "first_day", "last_day", "days", "revenue", "margin", "first_revenue", "orders", "promo_orders",
    "gap_sq", "revenue_365", "cal_days", "cal_last", "hold_first", "hold_revenue", "annual_need",
    "owner", "branch", "type_code", "industry_code", "province_code",
)

# Category codes: 0 is "blank or unknown", then the choices in their order.
TYPE_LEVELS = ("",) + tuple(CustomerType.values)
INDUSTRY_LEVELS = ("",) + tuple(Industry.values)
PROVINCE_LEVELS = ("",) + tuple(Province.values)


def day_number(date):
    return (date - EPOCH).days


def day_to_date(day):
    return EPOCH + datetime.timedelta(days=int(day))


def months_before(date, months):
    """The same day ``months`` calendar months earlier (the last day of that month when it is shorter)."""
    year, month = divmod(date.year * 12 + date.month - 1 - months, 12)
    return datetime.date(year, month + 1, min(date.day, calendar.monthrange(year, month + 1)[1]))


def _day_sql(column):
    """A date column as whole days since 1970-01-01."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    if connection.vendor == "sqlite":
        return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"
    raise NotImplementedError(f"no day expression for {connection.vendor}")  # pragma: no cover


def _code_sql(column, levels):
    """``CASE column WHEN level THEN i … ELSE 0 END`` — a text column as a small integer code."""
    whens = " ".join(f"WHEN '{value}' THEN {i}" for i, value in enumerate(levels) if value)
    return f"CASE {column} {whens} ELSE 0 END"


@dataclass
class Window:
    """The dates a refresh reads: orders with ``start <= order_date <= as_of``."""

    as_of: datetime.date
    start: datetime.date | None  # None: all history
    calibration_end: datetime.date

    @classmethod
    def from_settings(cls, as_of, settings):
        start = as_of - datetime.timedelta(days=settings.lookback_days - 1) if settings.lookback_days else None
        return cls(as_of=as_of, start=start, calibration_end=months_before(as_of, settings.holdout_months))

    @property
    def lower(self):
        return self.start or datetime.date(1, 1, 1)


def _order_filter(alias="o"):
    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    return f"{alias}.status IN ({statuses}) AND {alias}.order_date >= %s AND {alias}.order_date <= %s"


ANALYTICS_INDEX = "order_analytics_idx"  # crm/sales/migrations/0002_analytics_indexes.py


def _sqlite_hint():
    """SQLite's planner prefers the (status, order_date) index and sorts afterwards; reading the partial
    covering index in (customer, day) order is about 40 % faster, so name it when it exists."""
    if connection.vendor != "sqlite":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s", [ANALYTICS_INDEX])
        return f" INDEXED BY {ANALYTICS_INDEX}" if cursor.fetchone() else ""


def history_sql():
    """The per-customer aggregation: a daily sub-aggregate, a window for the first day and the gaps, one
    GROUP BY per customer, joined to the customer's attributes.

    Only orders above zero count here: an order's amount is never negative (a return is a whole order
    marked *returned*, never revenue), so a day is a purchase exactly when one of its orders is above
    zero.  Zero-amount orders (free goods, corrections) are read by :func:`zero_amount_orders` and their
    margin is netted in by :func:`customer_history`."""

    order, customer = Order._meta.db_table, Customer._meta.db_table
    f8 = "DOUBLE PRECISION"
    return f"""
WITH daily AS (
    SELECT o.customer_id AS cid, o.order_date AS od, {_day_sql('o.order_date')} AS d,
           SUM(CAST(o.total_amount AS {f8})) AS amt, SUM(CAST(o.gross_margin AS {f8})) AS gm, COUNT(*) AS n,
           SUM(CASE WHEN o.is_promotion THEN 1 ELSE 0 END) AS promo
    FROM {order} o{_sqlite_hint()}
    WHERE {_order_filter()} AND o.total_amount > 0
    GROUP BY o.customer_id, o.order_date
), seq AS (
    SELECT cid, d, amt, gm, n, promo,
           ROW_NUMBER() OVER w AS k, d - LAG(d) OVER w AS gap
    FROM daily
    WINDOW w AS (PARTITION BY cid ORDER BY od)
), per_customer AS (
    SELECT cid, MIN(d) AS first_day, MAX(d) AS last_day, COUNT(*) AS days,
           SUM(amt) AS revenue, SUM(gm) AS margin, SUM(CASE WHEN k = 1 THEN amt ELSE 0 END) AS first_revenue,
           SUM(n) AS orders, SUM(promo) AS promo_orders, SUM(COALESCE(gap * gap, 0)) AS gap_sq,
           SUM(CASE WHEN d > %s THEN amt ELSE 0 END) AS revenue_365,
           SUM(CASE WHEN d <= %s THEN 1 ELSE 0 END) AS cal_days,
           MAX(CASE WHEN d <= %s THEN d ELSE 0 END) AS cal_last,
           MIN(CASE WHEN d > %s THEN d ELSE 2147483647 END) AS hold_first,
           SUM(CASE WHEN d > %s THEN amt ELSE 0 END) AS hold_revenue
    FROM seq
    GROUP BY cid
)
SELECT CAST(p.cid AS {f8}), CAST(p.first_day AS {f8}), CAST(p.last_day AS {f8}), CAST(p.days AS {f8}),
       CAST(p.revenue AS {f8}), CAST(p.margin AS {f8}), CAST(p.first_revenue AS {f8}),
       CAST(p.orders AS {f8}), CAST(p.promo_orders AS {f8}), CAST(p.gap_sq AS {f8}),
       CAST(p.revenue_365 AS {f8}), CAST(p.cal_days AS {f8}), CAST(p.cal_last AS {f8}),
       CAST(p.hold_first AS {f8}), CAST(p.hold_revenue AS {f8}),
       CAST(COALESCE(c.estimated_annual_need, -1) AS {f8}), CAST(COALESCE(c.owner_id, 0) AS {f8}),
       CAST(COALESCE(c.branch_id, 0) AS {f8}),
       CAST({_code_sql('c.customer_type', TYPE_LEVELS)} AS {f8}),
       CAST({_code_sql('c.industry', INDUSTRY_LEVELS)} AS {f8}),
       CAST({_code_sql('c.province', PROVINCE_LEVELS)} AS {f8})
FROM per_customer p JOIN {customer} c ON c.id = p.cid
ORDER BY p.cid"""


def zero_amount_orders(window):
    """Per customer, the revenue-status orders of zero amount in the window: rows of ``(customer id,
    orders, gross margin)`` — not purchases, but their cost (free goods) lowers the margin."""
    f8 = "DOUBLE PRECISION"
    sql = (f"SELECT o.customer_id, COUNT(*), CAST(SUM(o.gross_margin) AS {f8}) "
           f"FROM {Order._meta.db_table} o{_sqlite_hint()} WHERE {_order_filter()} AND o.total_amount <= 0 "
           "GROUP BY o.customer_id ORDER BY o.customer_id")
    return fetch_matrix(sql, [window.lower, window.as_of], 3)


def history_params(window):
    as_of = day_number(window.as_of)
    cal = day_number(window.calibration_end)
    return [window.lower, window.as_of, as_of - 365, cal, cal, cal, cal]


@dataclass
class History:
    """Per-customer columns (float64 arrays, sorted by customer id) and how they were fetched."""

    columns: dict
    fetch: str  # "copy-binary" or "fetchall"
    without_purchase: int = 0  # customers whose orders in the window were all of zero amount
    without_purchase_orders: int = 0  # … and those orders

    def __getitem__(self, name):
        return self.columns[name]

    @property
    def n(self):
        return len(self.columns["customer"])

    def only(self, mask):
        """The same columns for the customers where ``mask`` is true."""
        return History(columns={k: v[mask] for k, v in self.columns.items()}, fetch=self.fetch,
                       without_purchase=self.without_purchase,
                       without_purchase_orders=self.without_purchase_orders)


def customer_history(window, *, use_copy=None):
    """Run the per-customer aggregation for ``window`` and return a :class:`History`."""
    sql, params = history_sql(), history_params(window)
    k = len(HISTORY_COLUMNS)
    if use_copy is None:
        use_copy = connection.vendor == "postgresql"
    if use_copy and connection.vendor == "postgresql":
        matrix, how = _copy_binary_f8(sql, params, k), "copy-binary"
    else:
        matrix, how = fetch_matrix(sql, params, k), "fetchall"
    columns = {name: matrix[:, i] for i, name in enumerate(HISTORY_COLUMNS)}
    # Zero-amount orders: counted, their margin netted, never a purchase (and no row of their own).
    zero = zero_amount_orders(window)
    ids = columns["customer"]
    columns["zero_orders"] = np.zeros(len(ids))
    without = without_orders = 0
    if len(zero):
        pos = np.minimum(np.searchsorted(ids, zero[:, 0]), max(len(ids) - 1, 0))
        hit = (ids[pos] == zero[:, 0]) if len(ids) else np.zeros(len(zero), dtype=bool)
        np.add.at(columns["zero_orders"], pos[hit], zero[hit, 1])
        np.add.at(columns["margin"], pos[hit], zero[hit, 2])
        without, without_orders = int((~hit).sum()), int(zero[~hit, 1].sum())
    return History(columns=columns, fetch=how, without_purchase=without, without_purchase_orders=without_orders)


FETCH_CHUNK = 50_000


def fetch_matrix(sql, params, k, dtype=np.float64):
    """A query with ``k`` numeric columns as an (n, k) array, NULL as NaN — fetched in chunks, each turned
    into numpy at once, so the Python row objects of only one chunk are alive at a time."""
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH_CHUNK):
            flat = np.fromiter((np.nan if v is None else v for v in itertools.chain.from_iterable(rows)),
                               dtype=dtype, count=len(rows) * k)
            parts.append(flat.reshape(len(rows), k))
    return np.concatenate(parts) if parts else np.zeros((0, k), dtype=dtype)


_PG_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _copy_binary_f8(sql, params, k):
    """PostgreSQL: ``COPY (query) TO STDOUT (FORMAT binary)`` of ``k`` non-null float8 columns, parsed
    with one structured dtype: every row is an int16 field count, then k × (int32 length, float8)."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        query = raw.mogrify(sql, params)
        chunks = []
        with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
            for chunk in copy:
                chunks.append(bytes(chunk))
    data = b"".join(chunks)
    chunks.clear()
    if not data.startswith(_PG_COPY_SIGNATURE):
        raise ValueError("unexpected COPY output")
    extension = int.from_bytes(data[15:19], "big")
    body = memoryview(data)[19 + extension:len(data) - 2]  # header … trailer (int16 −1)
    row = np.dtype([("fields", ">i2")] + [item for i in range(k) for item in ((f"l{i}", ">i4"), (f"v{i}", ">f8"))])
    if len(body) % row.itemsize:
        raise ValueError("COPY rows are not all float8 (a NULL slipped through?)")
    records = np.frombuffer(body, dtype=row)
    matrix = np.empty((len(records), k), dtype=np.float64)
    for i in range(k):
        matrix[:, i] = records[f"v{i}"]
    return matrix


def returned_orders(window):
    """``(count, amount)`` of the orders in the window marked *returned*: they never count as revenue or
    as a purchase, and the refresh reports them (read through the (status, date) index: returns are few)."""
    sql = (f"SELECT COUNT(*), CAST(COALESCE(SUM(total_amount), 0) AS DOUBLE PRECISION) "
           f"FROM {Order._meta.db_table} WHERE status = %s AND order_date >= %s AND order_date <= %s")
    row = fetch_matrix(sql, [OrderStatus.RETURNED.value, window.lower, window.as_of], 2)
    return int(row[0, 0]), float(row[0, 1])


def interaction_counts(window):
    """``(customer ids, interaction counts)`` in the window (by the time the interaction happened)."""
    from django.utils import timezone


    tz = timezone.get_current_timezone()
    lower = datetime.datetime.combine(window.lower if window.start else datetime.date(1900, 1, 1), datetime.time.min)
    upper = datetime.datetime.combine(window.as_of + datetime.timedelta(days=1), datetime.time.min)
    sql = (f"SELECT customer_id, COUNT(*) FROM {Interaction._meta.db_table} "
           "WHERE occurred_at >= %s AND occurred_at < %s GROUP BY customer_id")
    matrix = fetch_matrix(sql, [timezone.make_aware(lower, tz), timezone.make_aware(upper, tz)], 2)
    return matrix[:, 0], matrix[:, 1]


def customer_base():
    """Every customer, counted by type, industry, province and branch: rows of
    ``(type_code, industry_code, province_code, branch_id or 0, count)``."""

    sql = (f"SELECT {_code_sql('customer_type', TYPE_LEVELS)}, {_code_sql('industry', INDUSTRY_LEVELS)}, "
           f"{_code_sql('province', PROVINCE_LEVELS)}, COALESCE(branch_id, 0), COUNT(*) "
           f"FROM {Customer._meta.db_table} GROUP BY 1, 2, 3, 4")
    return fetch_matrix(sql, [], 5)


def product_sales(window):
    """Per product, from the lines of the revenue orders in the window: rows of
    ``(product_id, amount, cost, margin, quantity)``."""

    f8 = "DOUBLE PRECISION"
    sql = (f"SELECT l.product_id, CAST(SUM(l.amount) AS {f8}), CAST(SUM(l.cost) AS {f8}), "
           f"CAST(SUM(l.margin) AS {f8}), CAST(SUM(l.quantity) AS {f8}) "
           f"FROM {OrderLine._meta.db_table} l JOIN {Order._meta.db_table} o ON o.id = l.order_id "
           f"WHERE {_order_filter()} GROUP BY l.product_id")
    return fetch_matrix(sql, [window.lower, window.as_of], 5)


def average_stock(start, end):
    """Time-weighted average stock on hand of each product with stock movements, over [start, end]:
    rows of ``(product_id, average quantity)``.

    Stock on hand is the running sum of the movements.  Over the window it is the opening stock (the
    movements before ``start``) plus each movement in the window weighted by the share of the window it
    was on hand: ``q · (end − day + 1) / (end − start + 1)``.  Products without movements are absent,
    so their turnover is unknown rather than infinite.
    """

    days = (end - start).days + 1
    f8 = "DOUBLE PRECISION"
    day = _day_sql("occurred_on")
    sql = (f"SELECT product_id, CAST(SUM(CASE WHEN occurred_on < %s THEN quantity "
           f"ELSE quantity * ({day_number(end)} - {day} + 1) / {float(days)} END) AS {f8}) "
           f"FROM {StockMovement._meta.db_table} WHERE occurred_on <= %s GROUP BY product_id")
    return fetch_matrix(sql, [start, end], 2)
