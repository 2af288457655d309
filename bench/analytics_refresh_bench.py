#!/usr/bin/env python
"""Benchmark of the customer value refresh: 1,000,000 customers, 10,000,000 orders.

    .venv/bin/python bench/analytics_refresh_bench.py                      # PostgreSQL and SQLite
    .venv/bin/python bench/analytics_refresh_bench.py --db postgres --reuse --runs 3
    .venv/bin/python bench/analytics_refresh_bench.py --db sqlite --customers 20000 --orders 200000

Data lives in its own database, never the development or test one: PostgreSQL database
``crm_bench_analytics`` (on the server of BENCH_PG_URL) and the SQLite file
``var/bench/crm_bench_analytics.sqlite3``.  ``--reuse`` keeps data that already has the requested size.

The data.  Customers are written with one INSERT … SELECT (every attribute a deterministic function of
the id); orders are drawn in numpy from a seeded generator with the structure of a real base — a few
heavy buyers, regular and occasional buyers, one-off buyers; customers who stop buying (churn);
seasonal demand (a summer low, a November peak); promotion hunters who buy mostly on discount;
several orders on one day; about 8 % cancelled, returned or draft orders — loaded through a staging
table (binary COPY on PostgreSQL, ``executemany`` on SQLite) with the order indexes dropped during the
load and rebuilt after it.  Every order has one line (500 products, skewed), and there are interactions
(cost to serve) and stock movements (turnover).

The measurement.  Each run is a fresh process that calls ``services.run_refresh`` on a new snapshot
and reports the time of each stage (from the snapshot's results), the total, and the peak resident
memory of the process (``ru_maxrss``).  The median of ``--runs`` runs is printed; on PostgreSQL the
per-customer fetch is also timed both ways (binary COPY and ``fetchall``).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_analytics"
SQLITE_PATH = Path(os.environ.get("BENCH_SQLITE_PATH", BENCH_DIR / "crm_bench_analytics.sqlite3"))
PRODUCTS = 500
OWNERS = 40


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", "1000000")))
    parser.add_argument("--orders", type=int, default=int(os.environ.get("BENCH_ORDERS", "10000000")))
    parser.add_argument("--interactions", type=int, default=None, help="Default: two per customer.")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", default=os.environ.get("BENCH_REUSE", "") not in ("", "0"))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--measure-one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--vendor", default="postgres", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- database set-up (before Django is configured) --------------------------------------------------

def database_url(args, vendor):
    return args.pg_url if vendor == "postgres" else f"sqlite:///{SQLITE_PATH}"


def _pg_name(url):
    return url.rsplit("/", 1)[1].split("?")[0]


def recreate_database(args, vendor):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = _pg_name(args.pg_url)
    if name in ("test", "postgres", "template0", "template1") or not name.startswith("crm_bench"):
        sys.exit(f"Refusing to drop database {name!r}: point BENCH_PG_URL at a crm_bench_* database of its own.")
    maintenance = args.pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_exists(args, vendor):
    if vendor == "sqlite":
        return SQLITE_PATH.exists()
    import psycopg

    maintenance = args.pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            [_pg_name(args.pg_url)]).fetchone() is not None


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- data -----------------------------------------------------------------------------------------------

def _literal(field, vendor):
    """An SQL literal for the default of ``field`` (Django sets defaults in Python, not in the schema)."""
    import datetime
    import decimal

    from django.db import models

    if isinstance(field, models.DateTimeField):
        return "CURRENT_TIMESTAMP"
    if field.has_default():
        value = field.get_default()
    elif field.null:
        return "NULL"
    else:
        value = ""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if vendor == "postgresql" else str(int(value))
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return "'" + json.dumps(value).replace("'", "''") + "'"
    if isinstance(value, datetime.date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def insert_select(model, expressions, source):
    """``INSERT INTO <model> (every column) SELECT …`` — ``expressions`` give some columns, the others
    take their field default."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in expressions:
            continue
        columns.append(field.column)
        values.append(expressions.get(field.column) or _literal(field, connection.vendor))
    return f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}"


def sequence_sql(n):
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"FROM generate_series(1::bigint, {n}) AS s(i)"
    return (f"FROM (WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) "
            "SELECT i FROM seq) s")


def _day_to_date(column):
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"(DATE '1970-01-01' + {column})"
    return f"date({column} * 86400, 'unixepoch')"


def _without_indexes(tables, work):
    """Run ``work`` with the secondary indexes of ``tables`` dropped, then build them again."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                           "AND indexname NOT IN (SELECT conname FROM pg_constraint)", [list(tables)])
        else:
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           f"AND tbl_name IN ({marks})", list(tables))
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    work()
    started = time.monotonic()
    with connection.cursor() as cursor:
        for _name, sql in indexes:
            cursor.execute(sql)
    return time.monotonic() - started


def build_org():
    from crm.accounts.choices import Action, DataScopeKind, UnitKind
    from crm.accounts.models import OrgUnit, Role, User
    from crm.core.permissions import codes_for_verbs

    hq = OrgUnit.objects.create(name="总部", kind=UnitKind.HEAD_OFFICE)
    role = Role.objects.create(name="销售", data_scope=DataScopeKind.OWN, permissions=codes_for_verbs([Action.VIEW]))
    boss = Role.objects.create(name="总经理", data_scope=DataScopeKind.ALL, permissions=codes_for_verbs(Action.values))
    User.objects.create(username="boss", full_name="总经理", org_unit=hq, role=boss)
    owners = []
    for b in range(5):
        branch = OrgUnit.objects.create(name=f"分公司{b}", kind=UnitKind.BRANCH, parent=hq)
        for t in range(2):
            team = OrgUnit.objects.create(name=f"分公司{b}-{t}组", kind=UnitKind.TEAM, parent=branch)
            for u in range(OWNERS // 10):
                owners.append(User.objects.create(username=f"rep{b}{t}{u}", full_name=f"销售{b}{t}{u}",
                                                  org_unit=team, role=role))
    return owners


def generate_customers(n, owners):
    from django.db import connection

    from crm.customers.choices import CustomerType, Industry, Province
    from crm.customers.models import Customer

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_owner (k INTEGER PRIMARY KEY, user_id INTEGER, unit_id INTEGER)")
        cursor.executemany("INSERT INTO bench_owner VALUES (%s, %s, %s)",
                           [(k, u.pk, u.org_unit_id) for k, u in enumerate(owners)])

    def pick(values, mod, mult):
        whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
        return f"CASE ((s.i * {mult}) % {mod}) % {len(values)} {whens} END"

    industries, provinces = list(Industry.values), list(Province.values)[:12]
    types = [CustomerType.UNKNOWN, CustomerType.RELATIONSHIP, CustomerType.TRANSACTION]
    sql = insert_select(Customer, {
        "id": "s.i",
        "name": "'客户' || s.i",
        "status": "'active'",
        "kind": "'company'",
        "industry": pick(industries, 1009, 7),
        "province": pick(provinces, 1013, 11),
        "customer_type": pick(types, 1019, 13),
        "owner_id": "o.user_id",
        "branch_id": "o.unit_id",
        "estimated_annual_need": "CASE WHEN s.i % 5 = 0 THEN 1000 + (s.i * 37) % 50000 ELSE NULL END",
    }, sequence_sql(n) + f" JOIN bench_owner o ON o.k = s.i % {len(owners)}")

    def work():
        with connection.cursor() as cursor:
            cursor.execute(sql)

    _without_indexes([Customer._meta.db_table], work)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_owner")
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Customer._meta.db_table}', 'id'), {n})")


def draw_orders(customers, orders, seed, as_of_day):
    """Orders as numpy columns (customer, day, status code, promotion, amount, margin), sorted by day."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = customers
    span = 6 * 365
    start = as_of_day - span
    kind = rng.choice(4, size=n, p=[0.05, 0.40, 0.40, 0.15])  # heavy, regular, occasional, one-off
    base_rate = np.array([0.12, 0.025, 0.006, 0.0])[kind]  # orders per active day
    rate = base_rate * rng.gamma(2.0, 0.5, n)
    first = start + (span * rng.beta(1.3, 1.0, n)).astype(np.int64)  # more customers acquired lately
    lifetime = rng.exponential(np.array([4000, 1500, 700, 1])[kind])  # churn: the customer stops buying
    end = np.minimum(first + lifetime.astype(np.int64), as_of_day)
    active = np.maximum(end - first, 0)
    expected = 1 + rate * active
    scale = (orders - n) / max((expected - 1).sum(), 1)
    counts = 1 + rng.poisson(rate * active * scale)
    diff = int(counts.sum()) - orders
    if diff > 0:
        idx = rng.choice(np.flatnonzero(counts > 1), size=diff, replace=diff > np.count_nonzero(counts > 1))
        np.subtract.at(counts, idx, 1)
        counts = np.maximum(counts, 1)
    elif diff < 0:
        np.add.at(counts, rng.choice(np.flatnonzero(kind == 0), size=-diff), 1)
    counts[0] += orders - int(counts.sum())
    customer = np.repeat(np.arange(1, n + 1, dtype=np.int32), counts)
    # Seasonal intensity: a summer low and a November peak, through the inverse of its running total.
    days = np.arange(start, as_of_day + 1)
    doy = (days - 0) % 365
    intensity = 1 + 0.25 * np.cos(2 * np.pi * (doy - 15) / 365) + 0.6 * np.exp(-((doy - 315) / 12.0) ** 2)
    cum = np.concatenate([[0.0], np.cumsum(intensity)])
    lo, hi = cum[np.repeat(first, counts) - start], cum[np.repeat(end, counts) - start + 1]
    u = rng.random(len(customer))
    day = (start + np.searchsorted(cum, lo + u * (hi - lo), side="right") - 1).astype(np.int32)
    first_of = np.repeat(first, counts)
    is_first = np.r_[True, customer[1:] != customer[:-1]]
    day[is_first] = first_of[is_first]  # each customer's first order on its first day
    np.minimum(day, as_of_day, out=day)
    promo_hunter = rng.random(n) < 0.15
    promo = rng.random(len(customer)) < np.where(np.repeat(promo_hunter, counts), 0.8, 0.08)
    size = np.repeat(rng.lognormal(6.0, 0.9, n), counts)
    amount = np.round(size * rng.gamma(2.0, 0.5, len(customer)) * np.where(promo, 0.85, 1.0), 2)
    margin = np.round(amount * np.clip(rng.normal(0.32, 0.08, len(customer)) - promo * 0.12, 0.02, 0.7), 2)
    status = rng.choice(6, size=len(customer), p=[0.40, 0.22, 0.30, 0.04, 0.02, 0.02]).astype(np.int8)
    order = np.argsort(day, kind="stable")
    return {"customer": customer[order], "day": day[order], "status": status[order], "promo": promo[order],
            "amount": amount[order], "margin": margin[order]}


STATUSES = ("confirmed", "delivered", "paid", "cancelled", "returned", "draft")


def load_orders(cols):
    import numpy as np
    from django.db import connection, transaction

    from crm.sales.models import Order, OrderLine

    n = len(cols["customer"])
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_orders (customer_id INTEGER, day INTEGER, status SMALLINT, "
                       "promo SMALLINT, amount DOUBLE PRECISION, margin DOUBLE PRECISION)")
    step = 500_000
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            row = np.dtype([("f", ">i2"), ("l1", ">i4"), ("customer", ">i4"), ("l2", ">i4"), ("day", ">i4"),
                            ("l3", ">i4"), ("status", ">i2"), ("l4", ">i4"), ("promo", ">i2"), ("l5", ">i4"),
                            ("amount", ">f8"), ("l6", ">i4"), ("margin", ">f8")])
            with cursor.cursor.copy("COPY bench_orders FROM STDIN (FORMAT binary)") as copy:
                copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
                for s in range(0, n, step):
                    part = slice(s, min(s + step, n))
                    buf = np.empty(part.stop - part.start, dtype=row)
                    buf["f"] = 6
                    for name, width in (("l1", 4), ("l2", 4), ("l3", 2), ("l4", 2), ("l5", 8), ("l6", 8)):
                        buf[name] = width
                    for name in ("customer", "day", "status", "amount", "margin"):
                        buf[name] = cols[name][part]
                    buf["promo"] = cols["promo"][part]
                    copy.write(buf.tobytes())
                copy.write((-1).to_bytes(2, "big", signed=True))
        else:
            for s in range(0, n, step):
                part = slice(s, min(s + step, n))
                cursor.executemany("INSERT INTO bench_orders VALUES (%s, %s, %s, %s, %s, %s)", list(zip(
                    cols["customer"][part].tolist(), cols["day"][part].tolist(), cols["status"][part].tolist(),
                    cols["promo"][part].astype(int).tolist(), cols["amount"][part].tolist(),
                    cols["margin"][part].tolist(), strict=True)))
    status = "CASE b.status " + " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(STATUSES)) + " END"
    order_sql = insert_select(Order, {
        "customer_id": "b.customer_id", "order_date": _day_to_date("b.day"), "status": status,
        "is_promotion": "(b.promo = 1)", "total_amount": "b.amount", "list_amount": "b.amount",
        "total_cost": "b.amount - b.margin", "gross_margin": "b.margin",
    }, "FROM bench_orders b")
    line_sql = insert_select(OrderLine, {
        "order_id": "o.id",
        "product_id": f"1 + ((o.id * 7919) % {PRODUCTS}) * ((o.id * 7919) % {PRODUCTS}) / {PRODUCTS}",
        "quantity": "1", "unit_price": "o.total_amount", "unit_cost": "o.total_cost", "amount": "o.total_amount",
        "cost": "o.total_cost", "margin": "o.gross_margin", "position": "1",
    }, f"FROM {Order._meta.db_table} o")

    def work():
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers for the load
            cursor.execute(order_sql)
            cursor.execute(line_sql)
            cursor.execute("DROP TABLE bench_orders")

    return _without_indexes([Order._meta.db_table, OrderLine._meta.db_table], work)


def generate_products():
    from decimal import Decimal

    from crm.sales.models import Product, ProductCategory

    cats = [ProductCategory.objects.create(code=f"C{i:02d}", name=f"类别{i}") for i in range(10)]
    Product.objects.bulk_create([Product(id=i + 1, code=f"P{i:05d}", name=f"产品{i}", category=cats[i % 10],
                                         list_price=Decimal(100 + i), standard_cost=Decimal(60 + i) / 2 + 30)
                                 for i in range(PRODUCTS)])


def generate_rest(customers, interactions, as_of_day):
    from decimal import Decimal

    from django.db import connection

    from crm.activities.models import Interaction
    from crm.sales.models import Product, StockMovement

    moves = []
    import datetime

    today = datetime.date(1970, 1, 1) + datetime.timedelta(days=as_of_day)
    for p in Product.objects.all():
        if p.pk % 5 == 0:
            continue  # a fifth of the products without stock data
        moves.append(StockMovement(product=p, occurred_on=today - datetime.timedelta(days=2000), kind="opening",
                                   quantity=Decimal(1000)))
        for k in range(12):
            moves.append(StockMovement(product=p, occurred_on=today - datetime.timedelta(days=30 * k),
                                       kind="receipt", quantity=Decimal(200 + (p.pk * k) % 300)))
    StockMovement.objects.bulk_create(moves)
    when = ("(CURRENT_TIMESTAMP - (s.i % 1000) * INTERVAL '1 day')" if connection.vendor == "postgresql"
            else "datetime('now', '-' || (s.i % 1000) || ' days')")
    sql = insert_select(Interaction, {
        "customer_id": f"1 + (s.i * 7919) % {customers}", "kind": "'call'", "direction": "'out'",
        "occurred_at": when, "summary": "'电话回访'",
    }, sequence_sql(interactions))
    with connection.cursor() as cursor:
        cursor.execute(sql)


def prepare(args, vendor):
    exists = database_exists(args, vendor)
    if not (args.reuse and exists):
        recreate_database(args, vendor)
    setup_django(database_url(args, vendor))
    from django.core.management import call_command
    from django.db import connection

    from crm.customers.models import Customer
    from crm.sales.models import Order

    call_command("migrate", verbosity=0, interactive=False)
    record = BENCH_DIR / f"analytics-generation-{vendor}.json"
    have = (Customer.objects.count(), Order.objects.count())
    if args.reuse and have == (args.customers, args.orders):
        print(f"Reusing {have[0]:,} customers and {have[1]:,} orders on {vendor}.", flush=True)
        return json.loads(record.read_text()) if record.exists() else {}
    if any(have):
        sys.exit(f"The {vendor} benchmark database holds other data: run without --reuse to rebuild it.")
    import datetime

    from crm.analytics.aggregation import day_number

    as_of_day = day_number(datetime.date.today())
    timings = {}
    t = time.monotonic()
    owners = build_org()
    generate_products()
    generate_customers(args.customers, owners)
    timings["customers"] = time.monotonic() - t
    t = time.monotonic()
    cols = draw_orders(args.customers, args.orders, args.seed, as_of_day)
    timings["draw_orders"] = time.monotonic() - t
    t = time.monotonic()
    timings["order_indexes"] = load_orders(cols)
    timings["orders_and_lines"] = time.monotonic() - t
    del cols
    t = time.monotonic()
    generate_rest(args.customers, args.interactions or 2 * args.customers, as_of_day)
    timings["interactions_stock"] = time.monotonic() - t
    t = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vendor == "postgres" else "ANALYZE")
    timings["analyze"] = time.monotonic() - t
    info = {"customers": args.customers, "orders": args.orders, "seconds": {k: round(v, 1) for k, v in timings.items()}}
    record.write_text(json.dumps(info, indent=2))
    print(f"Generated on {vendor}: {json.dumps(info['seconds'])}", flush=True)
    return info


# --- measuring -------------------------------------------------------------------------------------------

def measure_one(args):
    """One refresh in this (fresh) process; prints a JSON line."""
    setup_django(database_url(args, args.vendor))
    from django.db import connection

    from crm.analytics import aggregation, services
    from crm.analytics.models import AnalyticsSettings, Snapshot

    settings = AnalyticsSettings.load()
    settings.keep_snapshots = 2
    settings.save()
    Snapshot.objects.filter(status="running").update(status="failed", error="benchmark reset")
    snapshot, _created = services.start_refresh()
    started = time.perf_counter()
    snapshot = services.run_refresh(snapshot.pk)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB
    out = {"total": total, "peak_mib": peak, "timings": snapshot.results["timings"],
           "customers": snapshot.customers, "fetch": snapshot.results.get("fetch"),
           "bgnbd": snapshot.results["models"]["bgnbd"] and {k: snapshot.results["models"]["bgnbd"][k]
                                                             for k in ("r", "alpha", "a", "b", "log_likelihood")},
           "customers_for_80": snapshot.results["customers_for_80"], "gini": snapshot.results["gini"]}
    backtest = snapshot.results.get("backtest")
    if backtest:  # the backtest of every prediction (part of the models stage)
        churn, timing = backtest.get("churn") or {}, backtest.get("timing") or {}
        out["backtest"] = {"seconds": backtest.get("seconds"), "customers": backtest.get("customers"),
                           "sample": backtest.get("sample"), "error": backtest.get("error"),
                           "churn_auc": {m["model"]: m["auc"] for m in churn.get("models", [])},
                           "recency_auc": churn.get("baseline_auc"), "churn_winner": churn.get("winner"),
                           "timing": {m["key"]: m["mae_days"] for m in timing.get("methods", [])},
                           "verdicts": backtest.get("verdicts")}
    if connection.vendor == "postgresql":
        window = aggregation.Window.from_settings(snapshot.as_of, settings)
        for how, flag in (("copy", True), ("fetchall", False)):
            t = time.perf_counter()
            aggregation.customer_history(window, use_copy=flag)
            out[f"history_{how}"] = time.perf_counter() - t
    print("RESULT " + json.dumps(out), flush=True)


def run_vendor(args, vendor):
    generation = prepare(args, vendor)
    runs = []
    for i in range(args.runs):
        cmd = [sys.executable, __file__, "--measure-one", "--vendor", vendor, "--pg-url", args.pg_url]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "BENCH_SQLITE_PATH": str(SQLITE_PATH)})
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            sys.exit(f"run {i + 1} failed:\n{proc.stdout}\n{proc.stderr}")
        result = json.loads(line[7:])
        runs.append(result)
        print(f"  {vendor} run {i + 1}: {result['total']:.1f} s, peak {result['peak_mib']:.0f} MiB, "
              f"stages {result['timings']}", flush=True)
        if result.get("backtest"):
            print(f"  backtest: {json.dumps(result['backtest'])}", flush=True)
    stages = sorted({k for r in runs for k in r["timings"]})
    summary = {
        "vendor": vendor, "runs": len(runs), "customers_analysed": runs[-1]["customers"],
        "total_median": statistics.median(r["total"] for r in runs),
        "peak_mib_median": statistics.median(r["peak_mib"] for r in runs),
        "stages_median": {s: statistics.median(r["timings"].get(s, 0) for r in runs) for s in stages},
        "generation": generation, "load_average": os.getloadavg(), "machine": platform.platform(),
        "cpus": os.cpu_count(), "last_run": runs[-1],
    }
    for key in ("history_copy", "history_fetchall"):
        if key in runs[-1]:
            summary[f"{key}_median"] = statistics.median(r[key] for r in runs)
    (BENCH_DIR / f"analytics-refresh-{vendor}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("generation", "last_run")}, indent=2))
    return summary


def main():
    args = parse_args()
    if args.measure_one:
        measure_one(args)
        return
    vendors = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    for vendor in vendors:
        if len(vendors) > 1:  # each vendor in its own process: Django is configured once per process
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--db", vendor], check=True)
            continue
        run_vendor(args, vendor)


if __name__ == "__main__":
    main()
