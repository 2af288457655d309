#!/usr/bin/env python
"""Benchmark of the customer archive at scale: server-side p50/p95 and SQL query counts.

    make bench                                   # PostgreSQL and SQLite, 1,000,000 customers
    .venv/bin/python bench/customers_bench.py --db postgres --customers 1000000 --reuse
    .venv/bin/python bench/customers_bench.py --db sqlite --customers 20000 --runs 10

Data lives in its own database, never the development or test one: PostgreSQL database
``crm_bench`` (created on the server of BENCH_PG_URL) and the SQLite file ``var/bench/crm_bench.sqlite3``.
``--reuse`` keeps existing data when it holds the requested number of customers; otherwise the
database is rebuilt with ``crm generate``.  Each page is requested in-process through Django's test
client (no network, no browser): a few warm-up requests, then ``--runs`` timed ones.  Query counts
come from a separate request so that timing runs carry no query logging.

Environment: BENCH_CUSTOMERS, BENCH_DB (postgres|sqlite|both), BENCH_RUNS, BENCH_REUSE=1, BENCH_PG_URL,
BENCH_SQLITE_PATH
(default postgres://postgres@127.0.0.1:5432/crm_bench).  ``--explain`` prints the plan of every
query of every page (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).
"""

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/crm_bench"
SQLITE_PATH = Path(os.environ.get("BENCH_SQLITE_PATH", BENCH_DIR / "crm_bench.sqlite3"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", "1000000")))
    parser.add_argument("--contacts-per-customer", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", default=os.environ.get("BENCH_REUSE", "") not in ("", "0"),
                        help="Keep the existing benchmark data when it has the requested number of customers "
                             "(or set BENCH_REUSE=1).")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "30")))
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--explain", action="store_true", help="Print the query plans of every page.")
    parser.add_argument("--only", default="", help="Comma-separated scenario names to run (default: all).")
    return parser.parse_args(argv)


# --- database set-up (before Django is configured) --------------------------------------------------

def database_url(args, vendor):
    return args.pg_url if vendor == "postgres" else f"sqlite:///{SQLITE_PATH}"


def recreate_database(args, vendor):
    if vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = args.pg_url.rsplit("/", 1)[1].split("?")[0]
    if name in ("test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to drop database {name!r}: point BENCH_PG_URL at a database of its own.")
    maintenance = args.pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_database_exists(args):
    import psycopg

    name = args.pg_url.rsplit("/", 1)[1].split("?")[0]
    maintenance = args.pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"                 # no query log, no debug toolbar-like overhead
    os.environ.setdefault("LOGIN_THROTTLING", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare_data(args, vendor):
    """Make sure the benchmark database holds ``args.customers`` customers; return generation info."""
    exists = SQLITE_PATH.exists() if vendor == "sqlite" else pg_database_exists(args)
    if not (args.reuse and exists):
        recreate_database(args, vendor)
    setup_django(database_url(args, vendor))
    from django.core.management import call_command

    from crm.customers.models import Customer

    call_command("migrate", verbosity=0, interactive=False)
    have = Customer.objects.count()
    record = BENCH_DIR / f"generation-{vendor}-{args.customers}.json"
    if args.reuse and have == args.customers:
        print(f"Reusing {have:,} customers in the {vendor} benchmark database.")
        earlier = json.loads(record.read_text()) if record.exists() else {}
        return {**earlier, "reused": True}
    if have:
        sys.exit(f"The {vendor} benchmark database has {have:,} customers, not {args.customers:,}: "
                 f"run without --reuse to rebuild it.")
    from crm.demo.seed import generate

    print(f"Generating {args.customers:,} customers on {vendor} …", flush=True)
    totals = generate(customers=args.customers, contacts_per_customer=args.contacts_per_customer,
                      seed=args.seed, out=print)
    generation = {"reused": False, "load_average_after": load_average(),
                  **{k: v for k, v in totals.items() if k != "vendor"}}
    record.write_text(json.dumps(generation, indent=2))
    return generation


# --- scenarios ----------------------------------------------------------------------------------------

def drf_cursor(position):
    """The ``cursor`` parameter DRF's CursorPagination reads: base64 of ``p=<first ordering value>``."""
    return base64.b64encode(urlencode({"p": position}).encode("ascii")).decode("ascii")


def build_scenarios():
    from django.db.models import Count
    from django.urls import reverse

    from crm.accounts.models import OrgUnit, User
    from crm.customers.models import Contact, Customer, OwnershipChange

    everyone = User.objects.get(username="wangjianguo")       # 总经理: scope "all"
    branch_mgr = User.objects.get(username="lizhiqiang")      # 分公司经理 北京: branch and sub-branches
    team = OrgUnit.objects.get(name="北京销售一部")
    total = Customer.objects.count()
    # The middle of the list in its default order (-created_at, -id): a cursor half-way through.
    middle = Customer.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)[total // 2]
    branch_customers = Customer.objects.filter(branch__path__startswith=branch_mgr.org_unit.path)
    b_total = branch_customers.count()
    b_middle = branch_customers.order_by("-created_at", "-id").values_list("created_at", flat=True)[b_total // 2]
    detail = (OwnershipChange.objects.filter(customer__branch=team, from_owner__isnull=False)
              .order_by("-customer_id").values_list("customer_id", flat=True).first())
    detail = (Customer.objects.filter(pk=detail).annotate(n=Count("contacts")).first()
              or Customer.objects.filter(branch=team).first())
    mobile = (Contact.objects.filter(customer__branch=team).exclude(mobile="").order_by("-id")
              .values_list("mobile", flat=True).first())
    phone_prefix = mobile[3:10]                                 # 7 digits as typed: 1381234
    list_url, api_url = reverse("customers:list"), "/api/customers/"

    def url(base, **params):
        return f"{base}?{urlencode(params)}" if params else base

    users = {"all": everyone, "branch": branch_mgr}
    scenarios = []
    for who in users:
        mid = middle if who == "all" else b_middle
        scenarios += [
            ("list first page", who, url(list_url)),
            ("list deep page (N/2)", who, url(list_url, cursor=drf_cursor(str(mid)))),
            ("list filter branch+status", who, url(list_url, branch=team.pk, status="active")),
            ("search phone prefix 7 digits", who, url(list_url, q=phone_prefix)),
            ("search phone prefix 3 digits", who, url(list_url, q=phone_prefix[:3])),
            ("search name 2 chars 星通", who, url(list_url, q="星通")),
            ("search name 4 chars 星通科技", who, url(list_url, q="星通科技")),
            ("search pinyin initials bjxt", who, url(list_url, q="bjxt")),
            ("search full pinyin xingtong", who, url(list_url, q="xingtong")),
            ("360° page", who, url(reverse("customers:detail", args=[detail.pk]))),
            ("API list first page", who, url(api_url)),
            ("API list deep page (N/2)", who, url(api_url, cursor=drf_cursor(str(mid)))),
        ]
    size_checks = [
        ("list page_size", url(list_url, page_size=20), url(list_url, page_size=100)),
        ("list search page_size", url(list_url, q="bj", page_size=20), url(list_url, q="bj", page_size=100)),
        ("API list page_size", url(api_url, page_size=20), url(api_url, page_size=100)),
    ]
    facts = {"customers": total, "contacts": Contact.objects.count(), "branch_customers": b_total,
             "detail_customer": detail.pk, "phone_prefix": phone_prefix}
    return users, scenarios, size_checks, facts


# --- measuring ------------------------------------------------------------------------------------------

def client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


class DatabaseTimer:
    """Wall time spent inside database calls (Django's execute wrapper), to tell the database's share
    of a page from Python's (views, templates, serializers)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def timed_round_robin(selected, clients, runs, warmup):
    """Time every page ``runs`` times, one request of each page per round: load from other processes
    then spreads over all pages instead of spoiling a few.  Per request: wall time, time inside the
    database, and this process's CPU time (Python's own work, which waiting for a busy CPU does not
    inflate as much as wall time)."""
    from django.db import connection

    for _ in range(warmup):
        for _name, who, url in selected:
            response = clients[who].get(url)
            assert response.status_code == 200, (url, response.status_code)
    samples = {i: {"wall": [], "db": [], "cpu": []} for i in range(len(selected))}
    timer = DatabaseTimer()
    with connection.execute_wrapper(timer):
        for _ in range(runs):
            for i, (_name, who, url) in enumerate(selected):
                timer.seconds = 0.0
                cpu, started = time.process_time(), time.perf_counter()
                response = clients[who].get(url)
                wall = time.perf_counter() - started
                samples[i]["wall"].append(wall * 1000)
                samples[i]["db"].append(timer.seconds * 1000)
                samples[i]["cpu"].append((time.process_time() - cpu) * 1000)
                assert response.status_code == 200, (url, response.status_code)
    return samples


def percentile(samples, pct):
    ordered = sorted(samples)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def explain(sqls):
    from django.db import connection

    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        for sql in sqls:
            if not sql.lstrip().upper().startswith("SELECT") or "django_session" in sql:
                continue
            print("    " + sql[:400] + (" …" if len(sql) > 400 else ""))
            cursor.execute(prefix + sql)
            for row in cursor.fetchall():
                print("      " + " | ".join(str(c) for c in row))


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return None


def run_one(args, vendor):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR.parent / "static").mkdir(exist_ok=True)  # STATIC_ROOT: whitenoise warns when it is missing
    generation = prepare_data(args, vendor)
    from django.db import connection

    users, scenarios, size_checks, facts = build_scenarios()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    clients = {who: client_for(user) for who, user in users.items()}
    print(f"\n{vendor}: {facts['customers']:,} customers, {facts['contacts']:,} contacts; "
          f"北京 branch tree sees {facts['branch_customers']:,}. {args.runs} runs after {args.warmup} warm-up.")
    print(f"load average before: {load_average()}")
    header = (f"{'page':<30} {'user':<6} {'p50':>7} {'p95':>7} {'max':>7} {'db p50':>7} {'cpu p50':>7} {'SQL':>4}"
              "   (ms; db = time inside SQL calls, cpu = this process's CPU time)")
    print(header + "\n" + "-" * 76)
    selected = [s for s in scenarios if not only or s[0] in only]
    queries = []
    for _name, who, url in selected:
        n, sqls = count_queries(clients[who], url)
        queries.append((n, sqls))
    samples = timed_round_robin(selected, clients, args.runs, args.warmup)
    results = []
    for i, (name, who, url) in enumerate(selected):
        runs = samples[i]["wall"]
        row = {"page": name, "user": who, "url": url, "queries": queries[i][0],
               "p50": statistics.median(runs), "p95": percentile(runs, 95), "max": max(runs),
               "db_p50": statistics.median(samples[i]["db"]), "cpu_p50": statistics.median(samples[i]["cpu"])}
        results.append(row)
        flag = "" if row["p95"] < 100 else "  > 100 ms"
        print(f"{name:<30} {who:<6} {row['p50']:7.1f} {row['p95']:7.1f} {row['max']:7.1f} {row['db_p50']:7.1f} "
              f"{row['cpu_p50']:7.1f} {row['queries']:4d}{flag}", flush=True)
        if args.explain:
            explain(queries[i][1])
    print("\nSQL queries per page at page_size 20 and 100 (user with scope all):")
    sizes = []
    for name, small, large in size_checks:
        n_small, _ = count_queries(clients["all"], small)
        n_large, _ = count_queries(clients["all"], large)
        sizes.append({"check": name, "20": n_small, "100": n_large})
        print(f"  {name:<24} {n_small:3d} {n_large:3d}  {'same' if n_small == n_large else 'DIFFERENT'}")
    print(f"load average after: {load_average()}")
    report = {"vendor": connection.vendor, "facts": facts, "generation": generation, "results": results,
              "page_sizes": sizes, "runs": args.runs, "warmup": args.warmup, "cpus": os.cpu_count(),
              "python": platform.python_version(), "load_average_after": load_average(),
              "server_version": _server_version()}
    out = BENCH_DIR / f"results-{vendor}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"Results written to {out.relative_to(ROOT)}")
    print(f"Re-measure on the same data: .venv/bin/python bench/customers_bench.py --db {vendor} "
          f"--customers {args.customers} --reuse --runs {args.runs}")
    return report


def _server_version():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        return cursor.fetchone()[0]


def main(argv=None):
    args = parse_args(argv)
    if args.db == "both":
        # One database per process: Django's settings are read once.
        status = 0
        for vendor in ("postgres", "sqlite"):
            cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]), "--db", vendor]
            status |= subprocess.call(cmd)
        return status
    run_one(args, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
