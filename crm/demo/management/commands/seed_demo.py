"""``crm seed_demo``: load the demo company 华通工业用品 (see crm/demo/seed.py)."""

from django.core.management.base import BaseCommand

from crm.accounts.models import User
from crm.demo.org import DEFAULT_DEMO_PASSWORD
from crm.demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Load demo data: the industrial-supplies distributor 华通工业用品 with head office, branches in "
        "Beijing, Shanghai and Guangzhou, about thirty users in six roles and a few thousand customers. "
        f"Every demo account has the password in DEMO_PASSWORD, or '{DEFAULT_DEMO_PASSWORD}' when unset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the database already has users (used by `make run`).")
        parser.add_argument("--seed", type=int, default=2025, help="Random seed: the same seed gives the same data.")
        parser.add_argument("--customers", type=int, default=5000, help="Number of customers (default 5000).")

    def handle(self, *args, if_empty, seed, customers, **options):
        if User.objects.exists():
            if if_empty:
                self.stdout.write("The database already has users: demo data not loaded.")
                return
            self.stderr.write(self.style.ERROR(
                "The database already has users; seed_demo loads into an empty database only "
                "(use `crm flush` first, or `crm generate` to add scale data)."))
            raise SystemExit(1)
        seed_demo(seed=seed, customers=customers, out=self.stdout.write)
