"""``crm serve`` runs three processes; stopping it stops all three, however it is stopped.

These tests start the real command in a subprocess on a fresh SQLite database and a free port.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid):
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture(scope="module")
def serve_env(tmp_path_factory):
    var = tmp_path_factory.mktemp("serve-var")
    env = {**os.environ, "CRM_VAR_DIR": str(var), "DATABASE_URL": "", "DJANGO_SETTINGS_MODULE": "crm.settings",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": "1"}
    env.pop("DEBUG", None)
    subprocess.run([sys.executable, "-m", "crm.cli", "migrate", "--noinput"], env=env, cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    return env


def _start(env):
    """Start ``crm serve`` and return (process, child pids) once the web server answers."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "crm.cli", "serve", "--port", str(port)],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    children = []
    for line in process.stdout:
        children += [int(pid) for pid in re.findall(r"\(pid (\d+)\)", line)]
        if "Kehu CRM is at" in line:
            break

    def answers():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    assert _wait_until(answers, 60), "the web server did not start"
    assert len(children) == 2 and all(_alive(pid) for pid in children)
    return process, children


def _sigterm(process):
    process.send_signal(signal.SIGTERM)  # what systemd, docker stop and kill send to the command


def _ctrl_c(process):
    os.killpg(process.pid, signal.SIGINT)  # the terminal sends SIGINT to the whole foreground group


def _sigkill(process):
    process.kill()  # no clean-up possible: on Linux the children are told by the kernel


@pytest.mark.parametrize("stop", [
    _sigterm, _ctrl_c,
    pytest.param(_sigkill, marks=pytest.mark.skipif(sys.platform != "linux", reason="Linux only")),
], ids=["sigterm", "ctrl-c", "sigkill"])
def test_stopping_serve_stops_worker_and_periodic_loop(serve_env, stop):
    process, children = _start(serve_env)
    try:
        stop(process)
        process.wait(timeout=30)
        assert _wait_until(lambda: not any(_alive(pid) for pid in children), 15), "children still running"
    finally:
        for pid in [process.pid, *children]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.stdout.close()
