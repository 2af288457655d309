"""Demo data and scale data, one function per area so later areas (orders, interactions …) can be
added next to them.

``seed_demo``: the company 华通工业用品 with its branches, about thirty users, roles, tags, custom
fields and a few thousand customers.  ``generate``: the same kind of customers by the million, in
batches, on top of the demo organisation (created when the database has no users yet).
"""

import datetime
import queue
import threading
import time
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from crm.accounts.models import OrgUnit, User
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.core.text import pinyin_keys
from crm.customers.choices import OWNERSHIP_EVENT
from crm.customers.models import Contact, Customer, OwnershipChange
from crm.sales.models import Order, OrderLine, Product, StockMovement
from crm.sales.services import line_totals

from . import pool, texts
from .catalog import STOCK_COLUMNS, build_catalog, stock_movements
from .customers import (
    ANNUAL_NEED,
    BRANCH,
    CREATED_REASON,
    CUSTOMER_TYPE,
    LAST_ACTIVITY,
    OWNED_SINCE,
    OWNER,
    RELATIONSHIP_LEVEL,
    STATUS,
    Batch,
    CustomerGenerator,
    Owner,
    build_custom_fields,
    build_tags,
    write_batch,
)
from .fake import Faker, Name
from .frames import customers_frame, epoch, from_epoch, patch
from .history import CONFIRMED, DELIVERED, PAID, HistoryGenerator, customer_status, last_activity, local_day
from .org import DEFAULT_DEMO_PASSWORD, REGION_OF_UNIT_NAME, USERS, Organisation, build_organisation, demo_password
from .pool import Staff
from .rows import HistoryWriter
from .writer import ColumnWriter, Progress, date_texts, datetime_texts, money_floats, reset_sequences

# Customers were entered over six years; orders and interactions cover the last three (since the company
# started recording them).  Volumes per customer: 5,000 customers give 100,000 orders, 50,000 interactions.
CUSTOMER_YEARS = 6
DEMO_YEARS = 3
ORDERS_PER_CUSTOMER = 20
INTERACTIONS_PER_CUSTOMER = 10

# Customers the demo always contains, so that the user guide's examples work (typing bjxt finds
# 北京星通): (name, industry, mail domain, owner username).
SHOWCASE_CUSTOMERS = [
    ("北京星通科技有限公司", "it", "xingtong-tech.com", "chenjing"),
    ("上海华信精密机械有限公司", "manufacturing", "huaxin-jm.com", "hexin"),
    ("广州恒达五金机电有限公司", "wholesale_retail", "hengda-wj.cn", "fengjia"),
]


def anchor_time() -> datetime.datetime:
    """Data is dated relative to the start of today (local time), so a seed gives the same rows all day."""
    today = timezone.localdate()
    return timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))


def demo_owners(org: Organisation) -> tuple[list[Owner], list[float]]:
    owners, weights = [], []
    for username, weight in org.owner_weights.items():
        user = org.users[username]
        region = _region_of(user.org_unit, org.units.values())
        owners.append(Owner(user.pk, user.org_unit_id, region, user.manager_id))
        weights.append(weight)
    return owners, weights


def _region_of(unit, units) -> str | None:
    """The region of the nearest unit at or above ``unit`` whose name is a demo branch or team."""
    by_id = {u.pk: u for u in units}
    for pk in reversed([int(p) for p in unit.path.strip("/").split("/") if p]):
        region = REGION_OF_UNIT_NAME.get(by_id[pk].name) if pk in by_id else None
        if region:
            return region
    return None


def region_of_users(owners: list[Owner]) -> dict:
    return {o.user_id: o.region for o in owners}


def seed_customers(org: Organisation, *, seed: int, count: int, orders: int, interactions: int, now=None) -> dict:
    """Customers with three years of orders, interactions, to-dos, timeline, stock and pool history."""
    now = now or anchor_time()
    faker = Faker(seed)
    rng = np.random.default_rng(seed)
    owners, weights = demo_owners(org)
    tags = build_tags()
    build_custom_fields()
    gen = CustomerGenerator(faker, owners, weights, tag_ids={n: t.pk for n, t in tags.items()}, total=count,
                            history_share=0.12, now=now, years=CUSTOMER_YEARS)
    by_user = {o.user_id: o for o in owners}
    batch = Batch()
    for name, industry, domain, username in SHOWCASE_CUSTOMERS[:count]:
        gen.customer(batch, by_user[org.users[username].pk],
                     showcase=(Name(name, *pinyin_keys(name)), industry, domain))
    for _ in range(count - len(batch.customers)):
        gen.customer(batch)
    catalog = build_catalog(rng, faker)
    summaries = texts.SummaryPool(rng)
    frame = customers_frame(batch, region_of_users(owners))
    history_start = now - datetime.timedelta(days=365 * DEMO_YEARS)
    history = HistoryGenerator(rng, catalog, now=now, first=now - datetime.timedelta(days=365 * CUSTOMER_YEARS + 5),
                               history_start=history_start, orders_per_customer=orders / max(count, 1),
                               interactions_per_customer=interactions / max(count, 1), summaries=summaries)
    behaviour, h = history.generate(frame)
    exact_line_amounts(h)
    offset, now_s = history.offset, history.now
    status, ctype = customer_status(frame, behaviour, h, history.today, rng)
    owned_since = epoch(r[OWNED_SINCE] for r in batch.customers)
    staff = Staff(unit={o.user_id: o.unit_id for o in owners}, region=region_of_users(owners),
                  cap={u.pk: u.role.max_customers for u in org.users.values() if u.role_id})
    owner, branch, since = pool.simulate(
        frame, h, batch, gen.ownership_ids, customer_type=ctype, owned_since=owned_since,
        last=last_activity(frame, h, offset, now_s), now=now_s, offset=offset, rng=rng, staff=staff,
        summaries=summaries)
    pool.follow_ups_for_today(frame, h, owner, now=now_s, offset=offset, rng=rng, summaries=summaries,
                              users=[o.user_id for o in owners])
    last = last_activity(frame, h, offset, now_s)
    need, level = needs_and_levels(frame, h, status, history.today, rng)
    patch(batch, {
        STATUS: status.tolist(), CUSTOMER_TYPE: ctype.tolist(), OWNER: [o or None for o in owner.tolist()],
        BRANCH: [b or None for b in branch.tolist()], OWNED_SINCE: [from_epoch(t) for t in since.tolist()],
        LAST_ACTIVITY: [from_epoch(t) for t in last.tolist()], ANNUAL_NEED: need, RELATIONSHIP_LEVEL: level,
    })
    n_customers, n_contacts = write_batch(batch)
    contact_names = {row[0]: row[2] for row in batch.contacts}
    writer = HistoryWriter(offset=offset, now=now_s, summaries=summaries, contact_names=contact_names)
    tables = writer.build(frame.ids, h, rng, extra_events=[ownership_events(batch, org)])
    written = writer.write(tables)
    n_stock = write_stock(catalog, h, first_day=int(local_day(now_s, offset)) - 365 * DEMO_YEARS,
                          today=history.today, rng=rng, offset=offset)
    reset_sequences(Customer, Contact, OwnershipChange, Customer.tags.through, Order, OrderLine, Interaction, Todo,
                    TimelineEvent, StockMovement)
    return {"customers": n_customers, "contacts": n_contacts, "orders": written.orders, "lines": written.lines,
            "interactions": written.interactions, "todos": written.todos, "events": written.events,
            "stock": n_stock, "products": len(catalog.product_ids), "pool": int((owner == 0).sum())}


def exact_line_amounts(h):
    """The demo's line amounts come from ``crm.sales.services.line_totals`` itself, so demo arithmetic
    is the app's by construction; order totals are their sums."""
    amounts, costs = [], []
    for q, price, discount, cost in zip(h.l_quantity.tolist(), h.l_price.tolist(), h.l_discount.tolist(),
                                        h.l_unit_cost.tolist(), strict=True):
        totals = line_totals(q, Decimal(price) / 100, Decimal(discount) / 100, Decimal(cost) / 100)
        amounts.append(int(totals.amount * 100))
        costs.append(int(totals.cost * 100))
    h.l_amount, h.l_cost = np.array(amounts, dtype=np.int64), np.array(costs, dtype=np.int64)
    HistoryGenerator.order_totals(h)


def needs_and_levels(frame, h, status, today, rng):
    """Estimated annual need for about 30 % of company customers (what they buy a year from all
    suppliers: our share of it is between a few percent and nearly all), and the relationship level
    practised with about a third of the buyers (closer with the bigger ones)."""
    n = len(frame)
    revenue = np.isin(h.o_status, [CONFIRMED, DELIVERED, PAID])
    recent = revenue & (h.o_day >= today - 365)
    spend = np.bincount(h.o_index[recent], weights=h.o_total[recent], minlength=n) / 100
    margin = np.bincount(h.o_index[revenue], weights=(h.o_total - h.o_cost)[revenue], minlength=n)
    share = np.clip(rng.beta(2, 3, size=n), 0.04, 0.95)
    need = np.where(spend > 0, spend / share, np.exp(rng.normal(np.log(150_000), 1.0, size=n)))
    need = np.round(need / 1000) * 1000
    has_need = frame.is_company & (rng.random(n) < 0.3) & (need >= 1000)
    need_values = [Decimal(int(v)).quantize(Decimal("0.01")) if ok else None
                   for v, ok in zip(need.tolist(), has_need.tolist(), strict=True)]
    rank = np.argsort(np.argsort(-margin)) / max(n, 1)
    levels = np.where(rank < 0.05, rng.choice(["partnership", "proactive"], size=n),
                      np.where(rank < 0.2, rng.choice(["proactive", "accountable"], size=n),
                               rng.choice(["reactive", "basic", "accountable"], size=n, p=[0.45, 0.4, 0.15])))
    chosen = (status != "prospect") & (rng.random(n) < 0.35)
    return need_values, [lv if ok else "" for lv, ok in zip(levels.tolist(), chosen.tolist(), strict=True)]


def ownership_events(batch, org):
    """Timeline events of the ownership changes (not of the first owner when a customer was created),
    as ``_record_ownership`` writes them.  Columns without the id."""
    from django.contrib.contenttypes.models import ContentType

    names = {u.pk: u.display_name for u in org.users.values()}
    with translation.override(settings.LANGUAGE_CODE):
        pool_name = gettext("pool")
    content_type = ContentType.objects.get_for_model(OwnershipChange).pk
    rows = [r for r in batch.ownership if not (r[2] is None and r[7] == CREATED_REASON)]
    return [
        [r[1] for r in rows], [r[8] for r in rows], [OWNERSHIP_EVENT] * len(rows),
        [f"{names.get(r[2], pool_name)} → {names.get(r[3], pool_name)}" for r in rows], [r[7] for r in rows],
        [r[6] for r in rows], [content_type] * len(rows), [r[0] for r in rows], ["{}"] * len(rows),
    ]


def write_stock(catalog, h, *, first_day, today, rng, offset):
    stock = stock_movements(catalog, l_product=h.l_product, l_quantity=h.l_quantity, o_day=h.o_day,
                            o_status=h.o_status, l_order=h.l_order, first_day=first_day, today=today, rng=rng)
    days = stock["day"]
    recorded = days * 86_400 + 17 * 3600 - offset  # entered at the end of the working day
    n = ColumnWriter(StockMovement, STOCK_COLUMNS).write_columns([
        stock["product_id"], date_texts(days), stock["kind"], stock["quantity"].tolist(),
        money_floats(stock["unit_cost"]), stock["reference"], [None] * len(days), datetime_texts(recorded),
    ])
    products = list(Product.objects.filter(pk__in=catalog.product_ids.tolist()))
    on_hand = dict(zip(catalog.product_ids.tolist(), stock["on_hand"].tolist(), strict=True))
    for product in products:
        product.stock_on_hand = Decimal(int(on_hand[product.pk]))
    Product.objects.bulk_update(products, ["stock_on_hand"], batch_size=500)
    return n


def seed_demo(*, seed: int = 2025, customers: int = 5000, orders: int | None = None, interactions: int | None = None,
              out=None) -> Organisation:
    """The demo company.  Orders default to 20 per customer (100,000 for 5,000 customers) and
    interactions to 10 per customer."""
    password = demo_password()
    started = time.monotonic()
    orders = ORDERS_PER_CUSTOMER * customers if orders is None else orders
    interactions = INTERACTIONS_PER_CUSTOMER * customers if interactions is None else interactions
    with transaction.atomic():
        org = build_organisation(password=password)
        pool.configure_pool()
        org.users = {u.username: u for u in User.objects.filter(username__in=org.users).select_related("role")}
        totals = seed_customers(org, seed=seed, count=customers, orders=orders, interactions=interactions)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if out is not None:
        out(f"Demo data for 华通工业用品: {len(org.units)} units, {len(org.users)} users, "
            f"{totals['customers']:,} customers ({totals['pool']:,} in the pool), {totals['contacts']:,} contacts, "
            f"{totals['products']:,} products, {totals['orders']:,} orders with {totals['lines']:,} lines, "
            f"{totals['interactions']:,} interactions, {totals['todos']:,} to-dos, {totals['events']:,} timeline "
            f"events, {totals['stock']:,} stock movements in {time.monotonic() - started:.1f} s.")
        out(login_help(org, password))
    return org


def login_help(org: Organisation, password: str) -> str:
    lines = ["Log in at http://127.0.0.1:8000/ with one of these demo accounts:"]
    for username, full_name, role, unit in org.login_examples():
        lines.append(f"  {username:<14} {full_name}（{role}，{unit}）")
    source = "the default demo password" if password == DEFAULT_DEMO_PASSWORD else "from DEMO_PASSWORD"
    lines.append(f"Password for every demo account ({source}): {password}")
    return "\n".join(lines)


# --- scale data -------------------------------------------------------------------------------------
def scale_owners(*, password: str | None = None) -> tuple[list[Owner], list[float]]:
    """Owners for scale data: the demo sales force when present, else every user in a unit; when the
    database has no users at all, the demo organisation is created first."""
    if not User.objects.exists():
        org = build_organisation(password=password or demo_password())
        build_tags()
        build_custom_fields()
        return demo_owners(org)
    weights_by_name = {u: w for u, _n, _k, _r, _m, w in USERS if w}
    units = list(OrgUnit.objects.all())
    users = list(User.objects.filter(is_active=True, org_unit__isnull=False).select_related("org_unit"))
    demo = [u for u in users if u.username in weights_by_name]
    chosen = demo or users
    if not chosen:
        raise RuntimeError("No active user belongs to a unit: create the organisation first (crm seed_demo).")
    owners = [Owner(u.pk, u.org_unit_id, _region_of(u.org_unit, units), u.manager_id) for u in chosen]
    weights = [weights_by_name.get(u.username, 5) for u in chosen]
    return owners, weights


HISTORY_MODELS = (Order, OrderLine, Interaction, Todo, TimelineEvent)
SQLITE_LOAD_CACHE_KIB = 1024 * 1024  # page cache while loading history on SQLite (1 GiB)


def refresh_statistics(*, history=False):
    """Planner statistics after a bulk load; on PostgreSQL also VACUUM, which sets the visibility map
    (index-only scans) and hint bits, so the first queries do not pay for the load."""
    models_ = [Customer, Contact, OwnershipChange, Customer.tags.through, *(HISTORY_MODELS if history else ())]
    tables = [m._meta.db_table for m in models_]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            cursor.execute(f"{verb} {', '.join(tables)}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


class ScaleHistory:
    """Orders, lines, interactions, to-dos and timeline events for each batch of generated customers,
    with the demo's behaviour (see :mod:`crm.demo.history`); statuses and types of the customers follow
    from it.  Runs in the thread that builds batches: no database access after ``__init__``."""

    def __init__(self, *, customers: int, orders: int, interactions: int, seed: int, owners, now, years: int):
        self.rng = np.random.default_rng([seed, 20_251])
        catalog = build_catalog(self.rng, Faker(seed))
        self.summaries = texts.SummaryPool(self.rng)
        self.regions = region_of_users(owners)
        self.history = HistoryGenerator(self.rng, catalog, now=now,
                                        first=now - datetime.timedelta(days=365 * years + 5),
                                        orders_per_customer=orders / customers,
                                        interactions_per_customer=interactions / customers, summaries=self.summaries)
        self.writer = HistoryWriter(offset=self.history.offset, now=self.history.now, summaries=self.summaries)

    def prepare(self, batch) -> dict:
        frame = customers_frame(batch, self.regions)
        behaviour, h = self.history.generate(frame)
        status, ctype = customer_status(frame, behaviour, h, self.history.today, self.rng)
        need, _level = needs_and_levels(frame, h, status, self.history.today, self.rng)
        patch(batch, {STATUS: status.tolist(), CUSTOMER_TYPE: ctype.tolist(), ANNUAL_NEED: need})
        self.writer.contact_names = {row[0]: row[2] for row in batch.contacts}
        return self.writer.build(frame.ids, h, self.rng)


def update_last_activity(first_id: int, last_id: int) -> int:
    """``last_activity_at`` of customers ``first_id``–``last_id`` from their orders (noon of the latest
    order date that is not a draft, as the order services count it) and interactions, in one
    set-based ``UPDATE … FROM``.  Returns the number of customers updated."""
    qn = connection.ops.quote_name
    customer, order, interaction = (qn(m._meta.db_table) for m in (Customer, Order, Interaction))
    if connection.vendor == "postgresql":
        order_moment, params = "(MAX(order_date) + TIME '12:00') AT TIME ZONE %s", [settings.TIME_ZONE]
    else:
        # SQLite stores naive UTC text: shift noon by the zone's offset (fixed for the site's zone).
        offset = int(timezone.localtime(anchor_time()).utcoffset().total_seconds())
        order_moment, params = "datetime(MAX(order_date), %s)", [f"{12 * 3600 - offset:+d} seconds"]
    sql = f"""
        UPDATE {customer} SET last_activity_at = latest.at
        FROM (SELECT customer_id, MAX(at) AS at FROM (
                  SELECT customer_id, {order_moment} AS at FROM {order}
                  WHERE status <> 'draft' AND customer_id BETWEEN %s AND %s GROUP BY customer_id
                  UNION ALL
                  SELECT customer_id, MAX(occurred_at) AS at FROM {interaction}
                  WHERE customer_id BETWEEN %s AND %s GROUP BY customer_id
              ) AS moments GROUP BY customer_id) AS latest
        WHERE {customer}.id = latest.customer_id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, first_id, last_id, first_id, last_id])
        return cursor.rowcount


def _batches(gen: CustomerGenerator, customers: int, batch_size: int, history: ScaleHistory | None = None):
    done = 0
    while done < customers:
        batch = Batch()
        for _ in range(min(batch_size, customers - done)):
            gen.customer(batch)
        done += len(batch.customers)
        yield batch, (history.prepare(batch) if history is not None else None)


def _prefetched(iterable, depth=2):
    """Run ``iterable`` in a thread, ``depth`` items ahead: the next batch is built in Python while
    the database writes the previous one (the generator itself touches no database)."""
    items = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in iterable:
                if stop.is_set():
                    return
                items.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)
        items.put(done)

    thread = threading.Thread(target=produce, name="generate-batches", daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def generate(*, customers: int, contacts_per_customer: float = 1.5, batch_size: int = 10_000, seed: int = 1,
             years: int = 6, orders: int = 0, interactions: int = 0, out=None, progress_stream=None) -> dict:
    """``customers`` new customers with contacts, tags and ownership history; with ``orders`` (and
    ``interactions``) also their purchase and contact history, spread over the customers."""
    started = time.monotonic()
    now = anchor_time()
    with transaction.atomic():
        owners, weights = scale_owners()
        tags = build_tags()
        history = None
        if orders or interactions:
            history = ScaleHistory(customers=customers, orders=orders, interactions=interactions, seed=seed,
                                   owners=owners, now=now, years=years)
    gen = CustomerGenerator(Faker(seed), owners, weights, tag_ids={n: t.pk for n, t in tags.items()},
                            total=customers, contacts_per_customer=contacts_per_customer, history_share=0.04,
                            now=now, years=years)
    first_id = gen.customer_ids.next
    if history is not None and connection.vendor == "sqlite":
        # Index pages of a growing history table stay in memory: several times faster past a few million rows.
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
    progress = Progress(customers, label="customers", stream=progress_stream)
    totals = {"customers": 0, "contacts": 0, "orders": 0, "lines": 0, "interactions": 0, "todos": 0, "events": 0}
    for batch, tables in _prefetched(_batches(gen, customers, batch_size, history)):
        with transaction.atomic():
            n_customers, n_contacts = write_batch(batch)
            if tables is not None:
                written = history.writer.write(tables)
                for name in ("orders", "lines", "interactions", "todos", "events"):
                    totals[name] += getattr(written, name)
        totals["customers"] += n_customers
        totals["contacts"] += n_contacts
        progress.advance(n_customers)
    write_seconds = progress.finish()
    reset_sequences(Customer, Contact, OwnershipChange, Customer.tags.through,
                    *(HISTORY_MODELS if history is not None else ()))
    activity_started = time.monotonic()
    if history is not None:
        with transaction.atomic():
            update_last_activity(first_id, gen.customer_ids.next - 1)
    analyse_started = time.monotonic()
    refresh_statistics(history=history is not None)
    totals.update(seconds=time.monotonic() - started, write_seconds=write_seconds,
                  activity_seconds=analyse_started - activity_started,
                  analyse_seconds=time.monotonic() - analyse_started, vendor=connection.vendor)
    if out is not None:
        extra = ""
        if history is not None:
            extra = (f", {totals['orders']:,} orders with {totals['lines']:,} lines, {totals['interactions']:,} "
                     f"interactions, {totals['todos']:,} to-dos and {totals['events']:,} timeline events")
        out(f"Generated {totals['customers']:,} customers, {totals['contacts']:,} contacts{extra} on "
            f"{connection.vendor} in {totals['seconds']:.0f} s "
            f"({totals['customers'] / max(write_seconds, 1e-9):,.0f} customers/s; "
            f"last activity {totals['activity_seconds']:.0f} s; statistics {totals['analyse_seconds']:.0f} s).")
    return totals
