"""``crm generate``: scale data for performance work (see crm/demo/seed.py and docs/benchmarks.md)."""

from django.core.management.base import BaseCommand, CommandError

from crm.demo.seed import generate


class Command(BaseCommand):
    help = (
        "Add many believable customers with contacts, tags and ownership history, and with --orders and "
        "--interactions their orders, lines, interactions, to-dos and timeline events, written in batches "
        "(COPY on PostgreSQL, multi-row inserts elsewhere) with progress on stderr. Reuses the "
        "organisation in the database, or creates the demo one when there are no users. Run it on a "
        "database nobody else is writing to: ids are allocated up front."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True, help="How many customers to add.")
        parser.add_argument("--contacts-per-customer", type=float, default=1.5,
                            help="Average contacts per customer, 0 to 4 (default 1.5).")
        parser.add_argument("--batch", type=int, default=10_000, help="Customers per transaction (default 10000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--years", type=int, default=6, help="Spread creation dates over this many years.")
        parser.add_argument("--orders", type=int, nargs="?", const=-1, default=0,
                            help="Orders (with 1–6 lines each) over the new customers' lifetimes; without a "
                                 "number, 10 per customer (default: none).")
        parser.add_argument("--interactions", type=int, nargs="?", const=-1, default=0,
                            help="Interactions (with follow-up to-dos); without a number, 5 per customer "
                                 "(default: none).")

    def handle(self, *args, customers, contacts_per_customer, batch, seed, years, orders, interactions, **options):
        if customers < 1 or batch < 1:
            raise CommandError("--customers and --batch must be positive.")
        if not 0 <= contacts_per_customer <= 4:
            raise CommandError("--contacts-per-customer must be between 0 and 4.")
        orders = 10 * customers if orders == -1 else orders
        interactions = 5 * customers if interactions == -1 else interactions
        if orders < 0 or interactions < 0:
            raise CommandError("--orders and --interactions cannot be negative.")
        generate(customers=customers, contacts_per_customer=contacts_per_customer, batch_size=batch, seed=seed,
                 years=years, orders=orders, interactions=interactions, out=self.stdout.write,
                 progress_stream=self.stderr._out)
