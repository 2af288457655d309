#!/usr/bin/env python
"""Benchmark of the 360° page with a long timeline: server-side p50/p95 and SQL query counts.

    .venv/bin/python bench/timeline_bench.py                          # PostgreSQL and SQLite
    .venv/bin/python bench/timeline_bench.py --db sqlite --other-events 200000 --runs 30
    .venv/bin/python bench/timeline_bench.py --db postgres --reuse    # measure again on the same data

One customer has ``--events`` timeline events (orders, interactions and ownership changes, 5,000 by
default) among ``--other-events`` events of ``--other-customers`` other customers (2,000,000 and
20,000 by default), spread over the same three years, so the indexes must find one customer's
events among millions.  The customer's interactions are real ``Interaction`` rows with their events.

Data lives in its own database, never the development or test one: PostgreSQL database
``crm_bench_timeline`` (created on the server of BENCH_PG_URL) and the SQLite file
``var/bench/timeline_bench.sqlite3``.  Each page is requested in-process through Django's test client
(no network, no browser) by a user whose role sees all records: a few warm-up requests, then
``--runs`` timed ones, round-robin over the pages.  Query counts come from a separate request.

Environment: BENCH_DB (postgres|sqlite|both), BENCH_RUNS, BENCH_PG_URL
(default postgres://postgres@127.0.0.1:5432/crm_bench_timeline).
"""

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_timeline"
SQLITE_PATH = BENCH_DIR / "timeline_bench.sqlite3"
TARGET_NAME = "华通长时间线客户有限公司"
BATCH = 10_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("--events", type=int, default=5000, help="Events of the measured customer.")
    parser.add_argument("--other-events", type=int, default=2_000_000)
    parser.add_argument("--other-customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="Keep existing data of the same size.")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "30")))
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--explain", action="store_true", help="Print the plan of every query of every page.")
    return parser.parse_args(argv)


# --- database set-up (before Django is configured) --------------------------------------------------

def _pg_name_and_maintenance(url):
    name = url.rsplit("/", 1)[1].split("?")[0]
    if name in ("test", "postgres", "template0", "template1", "crm", "crm_bench"):
        sys.exit(f"Refusing to use database {name!r}: point BENCH_PG_URL at a database of its own.")
    return name, url.rsplit("/", 1)[0] + "/postgres"


def pg_database_exists(url):
    import psycopg

    name, maintenance = _pg_name_and_maintenance(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def recreate_database(args, vendor):
    if vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name, maintenance = _pg_name_and_maintenance(args.pg_url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOGIN_THROTTLING", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- data -------------------------------------------------------------------------------------------------

def _org():
    from crm.accounts.choices import Action, DataScopeKind, UnitKind
    from crm.accounts.models import OrgUnit, Role, User
    from crm.core.permissions import codes_for_verbs

    hq = OrgUnit.objects.create(name="总部", kind=UnitKind.HEAD_OFFICE, path="/")
    OrgUnit.objects.filter(pk=hq.pk).update(path=f"/{hq.pk}/")
    hq.refresh_from_db()
    team = OrgUnit.objects.create(name="北京销售一部", kind=UnitKind.TEAM, parent=hq, path="/")
    OrgUnit.objects.filter(pk=team.pk).update(path=f"{hq.path}{team.pk}/")
    team.refresh_from_db()
    boss = Role.objects.create(name="总经理", data_scope=DataScopeKind.ALL, permissions=codes_for_verbs(Action.values))
    sales = Role.objects.create(name="销售", data_scope=DataScopeKind.OWN,
                                permissions=codes_for_verbs([Action.VIEW, Action.CREATE, Action.CHANGE]))
    everyone = User.objects.create_user("bench_all", password="x", full_name="王总", org_unit=hq, role=boss)
    reps = [User.objects.create_user(f"bench_rep{i}", password="x", full_name=f"销售{i}", org_unit=team, role=sales)
            for i in range(5)]
    return everyone, reps, team


def _batches(rows, size=BATCH):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def generate(args, out=print):
    """The measured customer with ``args.events`` events, and the other customers with theirs."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from crm.activities.choices import InteractionKind, RelationshipContent, TimelineKind
    from crm.activities.models import Interaction, TimelineEvent
    from crm.customers.choices import OWNERSHIP_EVENT
    from crm.customers.models import Contact, Customer, OwnershipChange
    from crm.sales.choices import ORDER_EVENT

    rng = random.Random(args.seed)
    started = time.perf_counter()
    everyone, reps, team = _org()
    now = timezone.now()
    span = datetime.timedelta(days=3 * 365).total_seconds()

    def when():
        return now - datetime.timedelta(seconds=rng.random() * span)

    with transaction.atomic():
        target = Customer.objects.create(name=TARGET_NAME, owner=reps[0], branch=team, created_by=everyone)
        contacts = Contact.objects.bulk_create([
            Contact(customer=target, name=n, is_primary=i == 0) for i, n in enumerate(["张经理", "李工", "王采购"])])
        interaction_ct = ContentType.objects.get_for_model(Interaction)
        ownership_ct = ContentType.objects.get_for_model(OwnershipChange)
        kinds, contents = InteractionKind.values, RelationshipContent.values
        n_interactions = args.events * 2 // 5
        n_ownership = max(args.events // 25, 1)
        interactions = Interaction.objects.bulk_create([
            Interaction(customer=target, contact=rng.choice(contacts), user=rng.choice(reps), kind=rng.choice(kinds),
                        content=rng.choice(contents), occurred_at=when(), summary=f"第{i}次沟通：询价、交期与付款",
                        duration_minutes=rng.randint(5, 90))
            for i in range(n_interactions)], batch_size=2000)
        events = [TimelineEvent(customer=target, at=i.occurred_at, kind=TimelineKind.INTERACTION,
                                title=i.get_kind_display(), detail=i.summary, actor=i.user,
                                source_type=interaction_ct, source_id=i.pk,
                                data={"interaction": i.kind, "content": i.content, "contact": i.contact.name})
                  for i in interactions]
        for k in range(n_ownership):
            a, b = rng.sample(reps, 2)
            events.append(TimelineEvent(customer=target, at=when(), kind=OWNERSHIP_EVENT, actor=everyone,
                                        title=f"{a.full_name} → {b.full_name}", detail="调整客户分配",
                                        source_type=ownership_ct, source_id=k + 1))
        for k in range(args.events - len(events)):
            amount = rng.randint(500, 80000)
            events.append(TimelineEvent(customer=target, at=when(), kind=ORDER_EVENT, actor=rng.choice(reps),
                                        title=f"订单 SO-{k:06d} · ¥{amount:,}", detail="已确认",
                                        data={"total": amount}))
        TimelineEvent.objects.bulk_create(events, batch_size=2000)
        Customer.objects.filter(pk=target.pk).update(last_activity_at=max(e.at for e in events))
    out(f"  measured customer: {args.events:,} events ({n_interactions:,} interactions) "
        f"in {time.perf_counter() - started:.1f} s", flush=True)

    if args.other_events:
        started = time.perf_counter()
        per = max(args.other_customers, 1)
        others = []
        for batch in _batches(Customer(name=f"其他客户{i:07d}", owner=reps[i % len(reps)], branch=team)
                              for i in range(per)):
            others += [c.pk for c in Customer.objects.bulk_create(batch)]
        if others != list(range(others[0], others[0] + len(others))):
            sys.exit("The other customers' ids are not contiguous: rebuild the benchmark database.")
        with transaction.atomic():
            insert_other_events(args.other_events, first_customer=others[0], customers=len(others),
                                actors=[r.pk for r in reps], seed=args.seed)
        out(f"  other customers: {per:,} with {args.other_events:,} events in "
            f"{time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return target


def insert_other_events(n, *, first_customer, customers, actors, seed):
    """``n`` events spread over the other customers and three years, generated inside the database in
    one statement (a row-by-row load would measure the loader, not the timeline)."""
    from django.db import connection

    actor_list = ",".join(str(a) for a in actors)
    kinds = "'order','order','interaction','ownership'"
    kinds_json = '["order","order","interaction","ownership"]'
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if cursor.fetchone()[0]:
                # The generated ids are valid by construction; checking 4,000,000 deferred foreign keys
                # one by one at COMMIT would take longer than the insert itself.
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SELECT setseed(%s)", [1 / (seed + 1)])
            cursor.execute(f"""
                INSERT INTO activities_timelineevent (customer_id, at, kind, title, detail, actor_id, data)
                SELECT %s + (g %% %s), now() - random() * interval '1095 days', (ARRAY[{kinds}])[1 + g %% 4],
                       '事件 ' || g, '', (ARRAY[{actor_list}])[1 + g %% {len(actors)}], '{{}}'::jsonb
                FROM generate_series(0, %s - 1) AS g""", [first_customer, customers, n])
        else:
            cursor.execute(f"""
                WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < %s - 1)
                INSERT INTO activities_timelineevent (customer_id, at, kind, title, detail, actor_id, data)
                SELECT %s + (x %% %s),
                       strftime('%%Y-%%m-%%d %%H:%%M:%%S', 'now', '-' || (abs(random()) %% 94608000) || ' seconds')
                         || '.' || printf('%%06d', abs(random()) %% 1000000),
                       json_extract('{kinds_json}', '$[' || (x %% 4) || ']'), '事件 ' || x, '',
                       json_extract('[{actor_list}]', '$[' || (x %% {len(actors)}) || ']'), '{{}}'
                FROM g""", [n, first_customer, customers])


def prepare_data(args, vendor):
    exists = SQLITE_PATH.exists() if vendor == "sqlite" else pg_database_exists(args.pg_url)
    if not (args.reuse and exists):
        recreate_database(args, vendor)
    setup_django(f"sqlite:///{SQLITE_PATH}" if vendor == "sqlite" else args.pg_url)
    from django.core.management import call_command

    from crm.activities.models import TimelineEvent
    from crm.customers.models import Customer

    call_command("migrate", verbosity=0, interactive=False)
    target = Customer.objects.filter(name=TARGET_NAME).first()
    if target is not None:
        have = TimelineEvent.objects.filter(customer=target).count()
        total = TimelineEvent.objects.count()
        if have == args.events and total == args.events + args.other_events:
            print(f"Reusing {total:,} events in the {vendor} benchmark database.")
            return target, {"reused": True}
        sys.exit(f"The {vendor} benchmark database holds other data ({have:,} / {total:,} events): "
                 f"run without --reuse to rebuild it.")
    print(f"Generating on {vendor} …", flush=True)
    started = time.perf_counter()
    target = generate(args)
    return target, {"reused": False, "seconds": round(time.perf_counter() - started, 1)}


# --- measuring ------------------------------------------------------------------------------------------

def scenarios(target):
    from django.urls import reverse

    from crm.activities.models import TimelineEvent
    from crm.activities.queries import encode_cursor
    from crm.sales.choices import ORDER_EVENT

    def cursor_at(position, kind=None):
        events = TimelineEvent.objects.filter(customer=target).order_by("-at", "-id")
        if kind:
            events = events.filter(kind=kind)
        return encode_cursor(events[position])

    detail = reverse("customers:detail", args=[target.pk])
    partial = reverse("activities:timeline", args=[target.pk])
    deep = cursor_at(4500 * TimelineEvent.objects.filter(customer=target).count() // 5000 - 1)
    deep_orders = cursor_at(TimelineEvent.objects.filter(customer=target, kind=ORDER_EVENT).count() - 31,
                            ORDER_EVENT)
    return [
        ("360° page", detail, False),
        ("timeline partial, first page", partial, True),
        ("timeline partial, deep page (event 4,500)", f"{partial}?cursor={deep}", True),
        ("timeline partial, orders only", f"{partial}?kind=order", True),
        ("timeline partial, orders, last page", f"{partial}?kind=order&cursor={deep_orders}", True),
        ("API timeline, first page", f"/api/timeline/?customer={target.pk}", False),
        ("API timeline, deep page", f"/api/timeline/?customer={target.pk}&cursor={deep}", False),
    ]


def get(client, url, htmx):
    return client.get(url, HTTP_HX_REQUEST="true") if htmx else client.get(url)


def count_queries(client, url, htmx):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = get(client, url, htmx)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


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
            if "timelineevent" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            print("    " + sql[:300] + (" …" if len(sql) > 300 else ""))
            cursor.execute(prefix + sql)
            for row in cursor.fetchall():
                print("      " + " | ".join(str(c) for c in row))


def run_one(args, vendor):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    target, generation = prepare_data(args, vendor)
    from django.db import connection
    from django.test import Client

    from crm.accounts.models import User
    from crm.activities.models import TimelineEvent

    client = Client()
    client.force_login(User.objects.get(username="bench_all"))
    pages = scenarios(target)
    facts = {"events_of_customer": TimelineEvent.objects.filter(customer=target).count(),
             "events_total": TimelineEvent.objects.count()}
    print(f"\n{vendor}: customer {target.pk} has {facts['events_of_customer']:,} of {facts['events_total']:,} events. "
          f"{args.runs} runs after {args.warmup} warm-up; load average {os.getloadavg()}")
    header = f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}"
    print(header + "\n" + "-" * len(header))
    queries = [count_queries(client, url, htmx) for _name, url, htmx in pages]
    for _ in range(args.warmup):
        for _name, url, htmx in pages:
            get(client, url, htmx)
    samples = [[] for _ in pages]
    for _ in range(args.runs):
        for i, (_name, url, htmx) in enumerate(pages):
            started = time.perf_counter()
            response = get(client, url, htmx)
            samples[i].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    results = []
    for i, (name, url, _htmx) in enumerate(pages):
        row = {"page": name, "url": url, "queries": queries[i][0], "p50": statistics.median(samples[i]),
               "p95": percentile(samples[i], 95), "max": max(samples[i])}
        results.append(row)
        flag = "" if row["p95"] < 150 else "  > 150 ms"
        print(f"{name:<44} {row['p50']:8.1f} {row['p95']:8.1f} {row['max']:8.1f} {row['queries']:8d}{flag}",
              flush=True)
        if args.explain:
            explain(queries[i][1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        server = cursor.fetchone()[0]
    report = {"vendor": connection.vendor, "facts": facts, "generation": generation, "results": results,
              "runs": args.runs, "warmup": args.warmup, "cpus": os.cpu_count(), "python": platform.python_version(),
              "server_version": server, "load_average_after": os.getloadavg()}
    out = BENCH_DIR / f"timeline-results-{vendor}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"Results written to {out.relative_to(ROOT)}")
    return report


def main(argv=None):
    args = parse_args(argv)
    if args.db == "both":
        status = 0
        for vendor in ("postgres", "sqlite"):  # one database per process: settings are read once
            status |= subprocess.call([sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]),
                                       "--db", vendor])
        return status
    run_one(args, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
