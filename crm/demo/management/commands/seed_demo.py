"""``crm seed_demo``: load the demo company 华通工业用品 (see crm/demo/seed.py)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.accounts.models import User
from crm.demo.org import DEFAULT_DEMO_PASSWORD
from crm.demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Load demo data: the industrial-supplies distributor 华通工业用品 with head office, branches in "
        "Beijing, Shanghai and Guangzhou, about thirty users in six roles, a few "
        "thousand customers and three years of products, orders, stock, interactions, to-dos and pool history. "
        f"Every demo account has the password in DEMO_PASSWORD, or '{DEFAULT_DEMO_PASSWORD}' when unset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the database already has users (used by `make run`).")
        parser.add_argument("--seed", type=int, default=2025, help="Random seed: the same seed gives the same data.")
        parser.add_argument("--customers", type=int, default=5000, help="Number of customers (default 5000).")
        parser.add_argument("--orders", type=int, default=None,
                            help="Orders over the three years (default 20 per customer: 100,000).")
        parser.add_argument("--interactions", type=int, default=None,
                            help="Interactions (default 10 per customer: 50,000).")

    def handle(self, *args, if_empty, seed, customers, orders, interactions, **options):
        if User.objects.exists():
            if if_empty:
                self.stdout.write("The database already has users: demo data not loaded.")
                return
            self.stderr.write(self.style.ERROR(
                "The database already has users; seed_demo loads into an empty database only "
                "(use `crm flush` first, or `crm generate` to add scale data)."))
            raise SystemExit(1)
        if customers < 1 or (orders is not None and orders < 0) or (interactions is not None and interactions < 0):
            raise CommandError("--customers must be positive, --orders and --interactions not negative.")
        try:
            seed_demo(seed=seed, customers=customers, orders=orders, interactions=interactions, out=self.stdout.write)
        except ValidationError as exc:  # DEMO_PASSWORD breaks the password rules
            raise CommandError(" ".join(exc.messages)) from exc
