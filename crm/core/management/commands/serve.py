"""Serve the web application together with its background worker and the periodic-task loop (the embedded
default).  In production run the three separately: see docs/deployment.md.

However the command is stopped — Ctrl-C, ``kill`` (SIGTERM), a closed terminal (SIGHUP) — it stops its two
children before it exits; on Linux the children also end if the command itself is killed outright.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def _end_with_parent():
    """In the child, before it runs: ask Linux to send SIGTERM when the parent dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):  # no prctl: the parent's handlers still stop them
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(signum, frame):
    """SIGTERM and SIGHUP end the web server as Ctrl-C does, so the ``finally`` below stops the children."""
    raise SystemExit(128 + signum)


def _start(cmd):
    return subprocess.Popen(cmd, preexec_fn=_end_with_parent if sys.platform == "linux" else None)


class Command(BaseCommand):
    help = "Run the web server, the background task worker and the periodic-task loop in one process group."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")
        parser.add_argument("--no-periodic", action="store_true",
                            help="Do not start the loop that queues periodic tasks (crm run_periodic --loop).")

    def handle(self, *args, host, port, no_worker, no_periodic, **options):
        for signum in _STOP_SIGNALS:
            signal.signal(signum, _stop)
        children = []
        if not no_worker:
            worker_cmd = [sys.executable, "-m", "crm.cli"]
            if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
                worker_cmd += ["db_worker", "--queue-name", "*"]
            else:
                worker_cmd += ["rqworker", "default"]
            worker = _start(worker_cmd)
            children.append(worker)
            self.stdout.write(f"Background worker started (pid {worker.pid}).")
        if not no_periodic:
            periodic = _start([sys.executable, "-m", "crm.cli", "run_periodic", "--loop"])
            children.append(periodic)
            self.stdout.write(f"Periodic tasks are queued every minute (pid {periodic.pid}).")
        self.stdout.write(self.style.SUCCESS(f"Kehu CRM is at http://{host}:{port}/"))
        self.stdout.write("Log in with a demo account (see README): admin / the password printed by seed_demo.")
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False, use_threading=True)
        finally:
            for signum in (*_STOP_SIGNALS, signal.SIGINT):  # a second signal must not cut the clean-up short
                signal.signal(signum, signal.SIG_IGN)
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
