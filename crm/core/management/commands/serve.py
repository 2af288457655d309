"""Serve the web application together with its background worker (the embedded default)."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and the background task worker in one process group."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")

    def handle(self, *args, host, port, no_worker, **options):
        worker = None
        if not no_worker:
            worker_cmd = [sys.executable, "-m", "crm.cli"]
            if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
                worker_cmd += ["db_worker", "--queue-name", "*"]
            else:
                worker_cmd += ["rqworker", "default"]
            worker = subprocess.Popen(worker_cmd)
            self.stdout.write(f"Background worker started (pid {worker.pid}).")
        self.stdout.write(self.style.SUCCESS(f"Kehu CRM is at http://{host}:{port}/"))
        self.stdout.write("Log in with a demo account (see README): admin / the password printed by seed_demo.")
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False, use_threading=True)
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
