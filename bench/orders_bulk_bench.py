#!/usr/bin/env python
"""Benchmark of bulk order ingestion through the API: order lines per second.

    .venv/bin/python bench/orders_bulk_bench.py                     # PostgreSQL and SQLite
    .venv/bin/python bench/orders_bulk_bench.py --db sqlite --batches 5 --orders 1000 --lines 5

Data lives in its own database, rebuilt on every run: PostgreSQL database ``crm_bench_orders`` (on the
server of BENCH_PG_URL) and the SQLite file ``var/bench/crm_bench_orders.sqlite3``.  The script creates
customers (with external references) and a product catalogue, then posts batches of orders to
``POST /api/orders/bulk/`` through Django's test client with token authentication (in-process: no
network, so the figure is the server's own work: parsing, validation, writes, audit entries, timeline
events, last-activity dates and the JSON answer).  Three passes over the same batches:

* ``first insert``  every order is new;
* ``re-send``       the same batches again (a retry): every order answers ``unchanged``, nothing written;
* ``update``        each order with one quantity changed: every order is updated, its lines replaced.

Each pass prints the median and the spread of order lines per second over its batches.

Environment: BENCH_DB (postgres|sqlite|both), BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432/crm_bench_orders).
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_orders"
SQLITE_PATH = BENCH_DIR / "crm_bench_orders.sqlite3"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--batches", type=int, default=7, help="Batches per pass (the median is over these).")
    parser.add_argument("--orders", type=int, default=1000, help="Orders per batch.")
    parser.add_argument("--lines", type=int, default=5, help="Lines per order.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    return parser.parse_args(argv)


# --- database set-up (before Django is configured) --------------------------------------------------

def recreate_database(args, vendor):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{SQLITE_PATH}"
    import psycopg

    name = args.pg_url.rsplit("/", 1)[1].split("?")[0]
    if name in ("test", "postgres", "template0", "template1") or not name.startswith("crm_bench"):
        sys.exit(f"Refusing to drop database {name!r}: point BENCH_PG_URL at a crm_bench_* database of its own.")
    maintenance = args.pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return args.pg_url


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOGIN_THROTTLING", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- data ---------------------------------------------------------------------------------------------

def make_master_data(args, rng):
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from crm.accounts.models import OrgUnit, User
    from crm.customers.models import Customer
    from crm.sales.models import Product, ProductCategory

    call_command("migrate", verbosity=0, interactive=False)
    unit = OrgUnit.objects.create(name="总部", kind="head_office", path="/")
    OrgUnit.objects.filter(pk=unit.pk).update(path=f"/{unit.pk}/")
    user = User.objects.create_superuser(username="erp-sync", password="bench-only", full_name="ERP 接口")
    token = Token.objects.create(user=user)
    Customer.objects.bulk_create([
        Customer(name=f"基准客户{i:06d}有限公司", external_ref=f"C{i:06d}", branch=unit, owner=user,
                 status="active")
        for i in range(args.customers)
    ], batch_size=2000)
    category = ProductCategory.objects.create(code="BENCH", name="基准类别")
    products = []
    for i in range(args.products):
        price = Decimal(rng.randint(500, 500_000)) / 100
        cost = (price * Decimal(rng.uniform(0.55, 0.85))).quantize(Decimal("0.01"))
        products.append(Product(code=f"P{i:05d}", name=f"基准产品{i}", category=category, list_price=price,
                                standard_cost=cost))
    Product.objects.bulk_create(products, batch_size=2000)
    return token.key, {p.code: p.list_price for p in products}


def make_batches(args, rng, prices):
    codes = list(prices)
    today = __import__("datetime").date.today()
    batches = []
    for b in range(args.batches):
        orders = []
        for i in range(args.orders):
            lines = []
            for _ in range(args.lines):
                code = rng.choice(codes)
                discount = rng.choice(["0", "0", "0", "5", "10"])
                price = prices[code] if rng.random() < 0.7 else (prices[code] * Decimal("0.95")).quantize(
                    Decimal("0.01"))
                lines.append({"product_code": code, "quantity": str(rng.randint(1, 50)),
                              "unit_price": str(price), "discount_rate": discount})
            orders.append({
                "external_ref": f"ERP-{b:03d}-{i:05d}",
                "customer_ref": f"C{rng.randrange(args.customers):06d}",
                "order_date": (today - __import__("datetime").timedelta(days=rng.randrange(1, 3 * 365))).isoformat(),
                "status": rng.choice(["confirmed", "delivered", "paid", "paid", "paid"]),
                "channel": rng.choice(["direct", "direct", "online", "phone"]),
                "lines": lines,
            })
        batches.append(orders)
    return batches


# --- measuring ------------------------------------------------------------------------------------------

def post_batches(client, token, batches, expect):
    rates, seconds = [], []
    for orders in batches:
        body = json.dumps(orders)
        started = time.perf_counter()
        response = client.post("/api/orders/bulk/", data=body, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {token}")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (response.status_code, response.content[:500])
        data = response.json()
        assert data[expect] == len(orders), {k: data[k] for k in ("created", "updated", "unchanged", "errors")}
        lines = sum(len(o["lines"]) for o in orders)
        rates.append(lines / elapsed)
        seconds.append(elapsed)
    return {"median_lines_per_s": statistics.median(rates), "min_lines_per_s": min(rates),
            "max_lines_per_s": max(rates), "median_batch_s": statistics.median(seconds), "batches": len(batches)}


def run_one(args, vendor):
    url = recreate_database(args, vendor)
    setup_django(url)
    from django.db import connection
    from django.test import Client

    rng = random.Random(args.seed)
    started = time.perf_counter()
    token, prices = make_master_data(args, rng)
    batches = make_batches(args, rng, prices)
    print(f"\n{vendor}: {args.customers:,} customers, {args.products:,} products; "
          f"{args.batches} batches × {args.orders:,} orders × {args.lines} lines "
          f"(set-up {time.perf_counter() - started:.1f} s)", flush=True)
    client = Client()
    passes = {}
    passes["first insert"] = post_batches(client, token, batches, "created")
    passes["re-send"] = post_batches(client, token, batches, "unchanged")
    for orders in batches:
        for order in orders:
            first = order["lines"][0]
            first["quantity"] = str(int(first["quantity"]) + 1)
    passes["update"] = post_batches(client, token, batches, "updated")

    from crm.activities.models import TimelineEvent
    from crm.core.models import AuditEntry
    from crm.sales.models import Order, OrderLine

    facts = {"orders": Order.objects.count(), "lines": OrderLine.objects.count(),
             "audit_entries": AuditEntry.objects.filter(content_type__model="order").count(),
             "timeline_events": TimelineEvent.objects.count()}
    header = f"{'pass':<14} {'median lines/s':>15} {'min':>9} {'max':>9} {'median batch s':>15}"
    print(header + "\n" + "-" * len(header))
    for name, row in passes.items():
        print(f"{name:<14} {row['median_lines_per_s']:15,.0f} {row['min_lines_per_s']:9,.0f} "
              f"{row['max_lines_per_s']:9,.0f} {row['median_batch_s']:15.2f}")
    print(f"stored: {facts}")
    report = {"vendor": connection.vendor, "server_version": _server_version(), "cpus": os.cpu_count(),
              "python": platform.python_version(), "args": vars(args), "passes": passes, "facts": facts,
              "load_average_after": os.getloadavg()}
    out = BENCH_DIR / f"orders-bulk-{vendor}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"Results written to {out.relative_to(ROOT)}")
    return report


def _server_version():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        return cursor.fetchone()[0]


def main(argv=None):
    args = parse_args(argv)
    if args.db == "both":
        status = 0
        for vendor in ("postgres", "sqlite"):
            cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]), "--db", vendor]
            status |= subprocess.call(cmd)
        return status
    run_one(args, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
