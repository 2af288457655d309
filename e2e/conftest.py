"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

Playwright cannot download its own browsers here, so the tests launch the system ``chromium``
(``CHROMIUM_PATH`` overrides the default ``/usr/bin/chromium``).  Without it the tests are skipped
with a reason, except in CI (``CI=true``), where a missing browser is an error.

Every test gets a fresh browser context (own cookies, English ``Accept-Language``) on the one
browser of the session, and the live server runs on a transactional test database.  A failing
test leaves a full-page screenshot in ``e2e/artifacts/``.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Short timeouts keep a broken page from stalling the suite; the live server answers in milliseconds.
ACTION_TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", "8000"))


def _chromium_path():
    configured = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if os.path.isfile(configured) and os.access(configured, os.X_OK):
        return configured
    found = shutil.which(configured)
    return found


def _in_ci():
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's outcome on the test item so the page fixture can tell a failure.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_executable():
    path = _chromium_path()
    if path:
        return path
    reason = (
        f"Chromium not found at {os.environ.get('CHROMIUM_PATH', '/usr/bin/chromium')}: "
        "install Debian's 'chromium' package (`make chromium`) or set CHROMIUM_PATH"
    )
    if _in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_instance(chromium_executable):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the main thread; while it exists Django refuses
    # the ORM calls that fixtures and assertions make unless this is set.  Only for browser tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright_instance, chromium_executable):
    browser = playwright_instance.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_context(request, browser, live_server):
    """Open browser contexts (one per user session); on failure each page is photographed, then closed."""
    contexts = []

    def open_context():
        context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    _screenshot_on_failure(request, contexts)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


def _screenshot_on_failure(request, contexts):
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.removeprefix("e2e/"))
    shots = [open_page for context in contexts for open_page in context.pages]
    for number, open_page in enumerate(shots):
        path = ARTIFACTS / (f"{name}-{number}.png" if len(shots) > 1 else f"{name}.png")
        try:
            open_page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"screenshot of {open_page.url} failed: {exc}")


@pytest.fixture
def login(new_context):
    """Log a user in through the real log-in form in a fresh context; returns the logged-in page."""
    from e2e.pages import LoginPage

    def log_in(username, password="pw-Secret-123", page=None):
        if page is None:
            page = new_context().new_page()
        LoginPage(page).open().log_in(username, password)
        return page

    return log_in
