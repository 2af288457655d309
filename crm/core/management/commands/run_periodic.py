"""Queue the periodic tasks that are due (see ``crm.core.schedule``).

Run it every minute — from cron (``* * * * * crm run_periodic``), a systemd timer, or ``--loop``, which
``crm serve`` starts next to the web server.  Running it more often, or on several machines, queues each
task once per interval all the same.
"""

import time

from django.core.management.base import BaseCommand
from django.db import connections

from crm.core import schedule


class Command(BaseCommand):
    help = "Queue every periodic task whose interval has elapsed (run it every minute)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, checking every --every seconds.")
        parser.add_argument("--every", type=int, default=60, help="Seconds between checks with --loop.")

    def handle(self, *args, loop, every, **options):
        while True:
            queued = schedule.run_due()
            for name in queued:
                self.stdout.write(f"Queued {name}.")
            if not loop:
                if not queued and options["verbosity"] > 1:
                    self.stdout.write("Nothing due.")
                return
            connections.close_all()  # a fresh connection per check: nothing stale across idle minutes
            time.sleep(max(every, 1))
