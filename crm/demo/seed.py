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

from django.db import connection, transaction
from django.utils import timezone

from crm.accounts.models import OrgUnit, User
from crm.core.text import pinyin_keys
from crm.customers.models import Contact, Customer, OwnershipChange

from .customers import Batch, CustomerGenerator, Owner, build_custom_fields, build_tags, write_batch
from .fake import Faker, Name
from .org import DEFAULT_DEMO_PASSWORD, REGION_OF_UNIT_NAME, USERS, Organisation, build_organisation, demo_password
from .writer import Progress, reset_sequences

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


def seed_customers(org: Organisation, *, seed: int, count: int, now=None) -> tuple[int, int]:
    faker = Faker(seed)
    owners, weights = demo_owners(org)
    tags = build_tags()
    build_custom_fields()
    gen = CustomerGenerator(faker, owners, weights, tag_ids={n: t.pk for n, t in tags.items()}, total=count,
                            history_share=0.12, now=now or anchor_time())
    by_user = {o.user_id: o for o in owners}
    batch = Batch()
    for name, industry, domain, username in SHOWCASE_CUSTOMERS[:count]:
        gen.customer(batch, by_user[org.users[username].pk],
                     showcase=(Name(name, *pinyin_keys(name)), industry, domain))
    for _ in range(count - len(batch.customers)):
        gen.customer(batch)
    customers, contacts = write_batch(batch)
    reset_sequences(Customer, Contact, OwnershipChange, Customer.tags.through)
    return customers, contacts


def seed_demo(*, seed: int = 2025, customers: int = 5000, out=None) -> Organisation:
    password = demo_password()
    started = time.monotonic()
    with transaction.atomic():
        org = build_organisation(password=password)
        n_customers, n_contacts = seed_customers(org, seed=seed, count=customers)
    if out is not None:
        out(f"Demo data for 华通工业用品: {len(org.units)} units, {len(org.users)} users, "
            f"{n_customers:,} customers, {n_contacts:,} contacts in {time.monotonic() - started:.1f} s.")
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


def refresh_statistics():
    """Planner statistics after a bulk load; on PostgreSQL also VACUUM, which sets the visibility map
    (index-only scans) and hint bits, so the first queries do not pay for the load."""
    tables = [m._meta.db_table for m in (Customer, Contact, OwnershipChange, Customer.tags.through)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            cursor.execute(f"{verb} {', '.join(tables)}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


def _batches(gen: CustomerGenerator, customers: int, batch_size: int):
    done = 0
    while done < customers:
        batch = Batch()
        for _ in range(min(batch_size, customers - done)):
            gen.customer(batch)
        done += len(batch.customers)
        yield batch


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
             years: int = 6, out=None, progress_stream=None) -> dict:
    started = time.monotonic()
    with transaction.atomic():
        owners, weights = scale_owners()
        tags = build_tags()
    gen = CustomerGenerator(Faker(seed), owners, weights, tag_ids={n: t.pk for n, t in tags.items()},
                            total=customers, contacts_per_customer=contacts_per_customer, history_share=0.04,
                            now=anchor_time(), years=years)
    progress = Progress(customers, label="customers", stream=progress_stream)
    totals = {"customers": 0, "contacts": 0}
    for batch in _prefetched(_batches(gen, customers, batch_size)):
        with transaction.atomic():
            n_customers, n_contacts = write_batch(batch)
        totals["customers"] += n_customers
        totals["contacts"] += n_contacts
        progress.advance(n_customers)
    write_seconds = progress.finish()
    reset_sequences(Customer, Contact, OwnershipChange, Customer.tags.through)
    analyse_started = time.monotonic()
    refresh_statistics()
    totals.update(seconds=time.monotonic() - started, write_seconds=write_seconds,
                  analyse_seconds=time.monotonic() - analyse_started, vendor=connection.vendor)
    if out is not None:
        out(f"Generated {totals['customers']:,} customers and {totals['contacts']:,} contacts on "
            f"{connection.vendor} in {totals['seconds']:.0f} s "
            f"({totals['customers'] / max(write_seconds, 1e-9):,.0f} customers/s; "
            f"statistics {totals['analyse_seconds']:.0f} s).")
    return totals
