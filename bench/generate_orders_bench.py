"""How long ``crm generate`` takes to build the scale data set with orders, and how big it is.

    .venv/bin/python bench/generate_orders_bench.py --db postgres --customers 1000000 --orders 10000000
    .venv/bin/python bench/generate_orders_bench.py --db sqlite --customers 100000 --orders 1000000

Drops and creates its own database first (``crm_bench_scale`` on the PostgreSQL server, a file under
``var/bench/`` for SQLite; never ``test``), migrates it, runs the generator in-process and prints the
wall time, the rates, the database size and the load average before and after.  Results are also
written to ``var/bench/generate-<db>-<orders>.json``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_scale"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default=os.environ.get("BENCH_DB", "postgres"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=None, help="Default: 10 per customer.")
    parser.add_argument("--interactions", type=int, default=0)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_SCALE_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--sqlite-path", default=os.environ.get("BENCH_SCALE_SQLITE_PATH",
                                                                str(BENCH_DIR / "crm_bench_scale.sqlite3")))
    return parser.parse_args(argv)


def recreate(args):
    if args.db == "sqlite":
        Path(args.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.sqlite_path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{args.sqlite_path}"
    import psycopg

    name = args.pg_url.rsplit("/", 1)[1].split("?")[0]
    if name in ("test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to drop database {name!r}: give the benchmark a database of its own.")
    with psycopg.connect(args.pg_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return args.pg_url


def database_size(args):
    from django.db import connection

    if args.db == "sqlite":
        return sum(Path(f"{args.sqlite_path}{s}").stat().st_size for s in ("", "-wal")
                   if Path(f"{args.sqlite_path}{s}").exists())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0]


def table_sizes(args):
    from django.db import connection

    if args.db != "postgres":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("""SELECT relname, pg_total_relation_size(oid) FROM pg_class
                          WHERE relkind = 'r' AND relname IN ('customers_customer', 'customers_contact', 'sales_order',
                          'sales_orderline', 'activities_timelineevent', 'activities_interaction')
                          ORDER BY 2 DESC""")
        return dict(cursor.fetchall())


def main(argv=None):
    args = parse_args(argv)
    orders = 10 * args.customers if args.orders is None else args.orders
    url = recreate(args)
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from crm.demo.seed import generate

    call_command("migrate", verbosity=0, interactive=False)
    load_before = os.getloadavg()
    started = time.monotonic()
    totals = generate(customers=args.customers, orders=orders, interactions=args.interactions, batch_size=args.batch,
                      seed=args.seed, out=print)
    seconds = time.monotonic() - started
    result = {
        "db": args.db, "seconds": round(seconds, 1), "load_average_before": load_before,
        "load_average_after": os.getloadavg(), "database_bytes": database_size(args),
        "tables_bytes": table_sizes(args), **{k: v for k, v in totals.items() if k != "vendor"},
    }
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / f"generate-{args.db}-{orders}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"{orders:,} orders: {seconds:.0f} s, {totals['orders'] / seconds:,.0f} orders/s, "
          f"{totals['lines'] / seconds:,.0f} lines/s, database {result['database_bytes'] / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
