"""Schema fuzzing: Schemathesis against the running application, as an administrator and as a sales rep.

Builds a fresh SQLite database in a temporary directory (migrate, a small demo company, an API token for
``admin`` and for the sales rep ``chenjing``), starts the application on ``FUZZ_PORT`` (default 8106),
runs ``st run`` once per identity within a time budget and stops the server again, also on failure or
Ctrl-C.  The figures of each run (requests, operations, failures by kind) are printed at the end; the
exit status is non-zero when any check failed or Schemathesis reported an error.

    python fuzz/run.py                 # what `make fuzz` runs
    FUZZ_SECONDS=30 python fuzz/run.py # a shorter budget per identity

Environment: FUZZ_PORT, FUZZ_SECONDS (budget per identity, default 75), FUZZ_SEED (default 2025),
FUZZ_KEEP (keep the temporary directory with the database, server log and reports).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = int(os.environ.get("FUZZ_PORT", "8106"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "75"))
SEED = os.environ.get("FUZZ_SEED", "2025")
BASE = f"http://127.0.0.1:{PORT}"
SCHEMA_URL = f"{BASE}/api/schema/?format=json"

# What the schema promises: no 5xx, only documented status codes, content types and bodies.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
IDENTITIES = [
    # (label, username): the rep first, so that the administrator's writes cannot change the rep's rights
    # before the rep's run.
    ("sales rep", "chenjing"),
    ("administrator", "admin"),
]


def schemathesis_cli() -> list[str]:
    st = Path(PYTHON).with_name("st")
    if st.exists():
        return [str(st)]
    found = shutil.which("st")
    if found:
        return [found]
    sys.exit("Schemathesis is not installed: pip install -e '.[test]'")


def manage(env, *args, capture=False):
    return subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True,
                          capture_output=capture, text=True)


def prepare(env) -> dict:
    """A fresh database with a small demo company; returns {username: token}."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--customers", "40", "--orders", "200", "--interactions", "120", "--seed", SEED,
           capture=True)
    # Two complete refreshes of the customer value analysis, so that its summary and transitions answer.
    manage(env, "shell", "-c", "from crm.analytics import services\n"
           "for _ in range(2): services.run_refresh(services.start_refresh()[0].pk)", capture=True)
    tokens = {}
    for _label, username in IDENTITIES:
        out = manage(env, "drf_create_token", username, capture=True).stdout
        tokens[username] = out.split()[2]  # "Generated token <key> for user <name>"
    return tokens


def port_is_free() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", PORT)) != 0


def wait_until_up(server, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(SCHEMA_URL, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer on {BASE} within {timeout} s")


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def token_works(token) -> bool:
    request = urllib.request.Request(f"{BASE}/api/me/", headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except urllib.error.URLError:
        return False


def requests_logged(log_path) -> int:
    """Requests the server logged so far (one line per request from runserver)."""
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return sum(1 for line in log if ' HTTP/1.1" ' in line)


def fuzz(label, token, report_dir, log_path) -> dict:
    report = report_dir / "run.json"
    command = [
        *schemathesis_cli(), "run", SCHEMA_URL,
        "--header", f"Authorization: Token {token}",
        "--checks", CHECKS,
        "--max-time", str(SECONDS),
        "--seed", SEED,
        "--workers", "1",
        "--continue-on-failure",
        "--suppress-health-check", "all",
        "--request-timeout", "20",
        "--report", "json", "--report-json-path", str(report),
        "--no-color",
    ]
    print(f"\n=== Schemathesis as the {label} ({SECONDS} s) ===", flush=True)
    started, requests_before = time.monotonic(), requests_logged(log_path)
    completed = subprocess.run(command, cwd=report_dir)
    result = json.loads(report.read_text()) if report.exists() else {}
    result["_exit_code"] = completed.returncode
    result["_seconds"] = time.monotonic() - started
    result["_requests"] = requests_logged(log_path) - requests_before
    return result


def summarise(label, result, token_ok) -> tuple[str, bool]:
    cases = result.get("test_cases", {})
    operations = result.get("operations", {})
    tested = operations.get("tested", operations.get("selected", "?")) if isinstance(operations, dict) else "?"
    failures = {f"{f['code']} {f['title']}": f["count"] for f in result.get("failures", [])}
    errors = {e["title"]: e["count"] for e in result.get("errors", [])}
    ok = result.get("_exit_code") == 0 and not failures and not errors and bool(result)
    lines = [
        f"{label}: {result.get('_requests', '?')} requests ({cases.get('generated', '?')} test cases), "
        f"{tested} operations, "
        f"{sum(failures.values())} failures, {sum(errors.values())} errors, {result.get('_seconds', 0):.0f} s"
        + ("" if token_ok else " (the token stopped working during the run)"),
    ]
    lines += [f"    {count:>4}  {kind}" for kind, count in sorted(failures.items())]
    lines += [f"    {count:>4}  error: {kind}" for kind, count in sorted(errors.items())]
    return "\n".join(lines), ok


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="crm-fuzz-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CRM_VAR_DIR": str(workdir),
        "DATABASE_URL": "",
        "CRM_ENV": "development",
        "DEBUG": "false",
        "REDIS_URL": "",
    }
    server = None
    summaries, all_ok = [], True
    try:
        if not port_is_free():
            raise RuntimeError(f"port {PORT} is in use: stop what listens there or set FUZZ_PORT")
        tokens = prepare(env)
        log = open(workdir / "server.log", "w")  # noqa: SIM115 — closed with the server below
        server = subprocess.Popen(
            [PYTHON, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{PORT}", "--noreload"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until_up(server)
        for label, username in IDENTITIES:
            report_dir = workdir / username
            report_dir.mkdir()
            result = fuzz(label, tokens[username], report_dir, workdir / "server.log")
            summary, ok = summarise(label, result, token_works(tokens[username]))
            summaries.append(summary)
            all_ok &= ok
    finally:
        if server is not None:
            stop(server)
        if os.environ.get("FUZZ_KEEP"):
            print(f"Kept {workdir} (database, server.log, reports).")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n=== Schema fuzzing: figures ===")
    print("\n".join(summaries))
    print("Schema fuzzing " + ("passed." if all_ok else "FAILED."))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
