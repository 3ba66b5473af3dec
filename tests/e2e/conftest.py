"""Browser tests: the real app served by `lms run`, driven by Debian's headless Chromium.

Every test in this folder gets the `e2e` marker, so `pytest -m "not e2e"` leaves them out.
One server (fresh SQLite database, synced content, demo data) and one browser serve the
whole session; each test gets its own browser context, so no cookies leak between tests.
A full-page screenshot of every page a test opened lands in test-results/e2e/.
Every page a test opens is also checked with axe-core (see accessibility.py): a serious or
critical finding fails the test, naming the page, the rule, the impact and the element.

The server syncs a copy of content/ with the files under extra_content/ added (a one-minute
exam for the time-limit test), so the shipped content stays exactly as it is.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.accessibility import Auditor, AxeUnavailable, ensure_axe_installed
from tests.e2e.support import newest_message, postgresql_dsn

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "test-results" / "e2e"
E2E_DIR = Path(__file__).resolve().parent
EXTRA_CONTENT = E2E_DIR / "extra_content"  # laid over a copy of content/ for the served app
SERVER_START_TIMEOUT = 30.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# --- marker ----------------------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# --- the browser binary ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; installed with apt-get when missing, else skip (or fail in CI)."""
    problem = "" if CHROMIUM.exists() else _install_chromium()
    if not CHROMIUM.exists():
        message = (f"Chromium is not at {CHROMIUM}; the browser tests need Debian's package. "
                   "Install it with `sudo apt-get update && sudo apt-get install -y chromium`."
                   + (f" The automatic install failed: {problem}" if problem else ""))
        if os.environ.get("LMS_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (LMS_REQUIRE_BROWSER=1, so this is a failure.)",
                        pytrace=False)
        pytest.skip(message)
    return CHROMIUM


def _install_chromium() -> str:
    """`apt-get update && apt-get install -y chromium`; return what went wrong, if anything."""
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if prefix and shutil.which("sudo") is None:
        return "not root and no sudo."
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        command = prefix + command
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True,
                                    timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"`{' '.join(command)}`: {error}"
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-500:]
            return f"`{' '.join(command)}` exited with {result.returncode}: {output}"
    return ""


# --- axe-core --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script; `npm ci` installs it from package-lock.json when it is missing."""
    try:
        return ensure_axe_installed()
    except AxeUnavailable as error:
        if os.environ.get("LMS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{error} (LMS_REQUIRE_BROWSER=1, so this is a failure.)", pytrace=False)
        pytest.skip(str(error))


# --- the served app --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def live_instance(tmp_path_factory) -> Path:
    """The instance folder of the served app; its database is `e2e.db` inside."""
    return tmp_path_factory.mktemp("e2e-instance")


@pytest.fixture(scope="session")
def live_database(live_instance) -> Path | str:
    """`e2e.db` in the instance folder, or LMS_E2E_DATABASE_URL (PostgreSQL), emptied first.

    CI serves the browser tests once on each database.
    """
    url = os.environ.get("LMS_E2E_DATABASE_URL")
    if not url:
        return live_instance / "e2e.db"
    import psycopg

    try:
        with psycopg.connect(postgresql_dsn(url), autocommit=True) as connection:
            connection.execute("DROP SCHEMA public CASCADE")
            connection.execute("CREATE SCHEMA public")
    except psycopg.OperationalError as error:
        pytest.fail(f"LMS_E2E_DATABASE_URL={url} is not reachable: {error}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def live_content(tmp_path_factory) -> Path:
    """A copy of content/ plus the test-only files in extra_content/ (say a 1-minute exam)."""
    root = tmp_path_factory.mktemp("e2e-content") / "content"
    shutil.copytree(PROJECT_ROOT / "content", root)
    shutil.copytree(EXTRA_CONTENT, root, dirs_exist_ok=True)
    return root


@pytest.fixture(scope="session")
def live_server(live_instance, live_database, live_content) -> Iterator[str]:
    """Migrate, sync content, load demo data, then serve the app; yield its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    lms = Path(sys.executable).parent / "lms"  # the console script of this very venv
    if not lms.exists():
        pytest.fail(f"No `lms` script beside {sys.executable}; run `pip install -e .[test]`.",
                    pytrace=False)
    # Only the settings below: none of the caller's LMS_* (say LMS_SMTP_URL) or FLASK_DEBUG.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LMS_", "FLASK_"))}
    env.update({
        "LMS_INSTANCE_PATH": str(live_instance),
        "LMS_DATABASE_URL": (live_database if isinstance(live_database, str)
                             else f"sqlite:///{live_database}"),
        "LMS_SECRET_KEY": "e2e",
        "LMS_BASE_URL": base_url,
        "LMS_CONTENT_PATH": str(live_content),
        "PYTHONUNBUFFERED": "1",
    })
    for args in (["db", "upgrade"], ["content", "sync"], ["demo"]):
        result = subprocess.run([str(lms), *args], cwd=PROJECT_ROOT, env=env, text=True,
                                capture_output=True, timeout=120, check=False)
        if result.returncode != 0:
            pytest.fail(f"`lms {' '.join(args)}` failed ({result.returncode}):\n"
                        f"{result.stdout}\n{result.stderr}", pytrace=False)

    log_path = live_instance / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(lms), "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"{base_url}/login", server, log_path)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`lms run` exited with {server.returncode} before answering {url}.\n"
                        f"Server output:\n{log_path.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.terminate()
    server.wait(timeout=10)
    pytest.fail(f"The app did not answer {url} within {SERVER_START_TIMEOUT:.0f} s.\n"
                f"Server output:\n{log_path.read_text()}", pytrace=False)


# --- the outbox ------------------------------------------------------------------------------

@pytest.fixture
def outbox(live_server, live_database) -> Callable[..., dict]:
    """`outbox(address)`: the newest message to that address (waits a moment for it)."""

    def read(address: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = newest_message(live_database, address)
            if message is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert message is not None, f"No outbox message to {address}"
        return message

    return read


# --- the browser -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path),
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def auditor(axe_source) -> Auditor:
    """axe-core's findings for the pages of this test (every context of `new_page` feeds it)."""
    return Auditor(axe_source)


@pytest.fixture
def new_page(request, browser, live_server, auditor):
    """Factory: each call opens a page in a fresh browser context (no shared cookies).

    Keyword arguments go to `browser.new_context`, say `java_script_enabled=False`.
    Every page of the context is checked with axe-core as it loads and, if still open, at the
    end of the test; serious or critical findings fail the test. (Not with JavaScript off:
    axe-core is JavaScript; the same pages are checked in the tests that have it on.)
    """
    contexts = []
    pages = []
    unscripted = []  # pages with JavaScript off: axe-core cannot run in them

    def open_page(**options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900},
                                         "base_url": live_server, **options})
        context.set_default_timeout(10_000)
        auditor.attach(context)
        contexts.append(context)
        pages.append(context.new_page())
        if options.get("java_script_enabled") is False:
            unscripted.append(pages[-1])
        return pages[-1]

    yield open_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for number, page in enumerate(pages, start=1):
        suffix = "" if number == 1 else f"-{number}"
        if page.is_closed():  # the test closed it on purpose (say, to leave an exam)
            continue
        if page not in unscripted:
            auditor.check(page, "at the end of the test")
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)
        except Exception as error:  # a screenshot must never hide the test's own result
            print(f"screenshot of page {number} failed: {error}")
    for context in contexts:
        context.close()
    if auditor.findings or auditor.problems:
        pytest.fail(auditor.report(), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()
