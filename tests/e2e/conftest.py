"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every test here gets the demo data (`seed_demo`), a fresh browser context and the live
server's address as the base URL, so tests navigate with paths such as "/help/".
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cpe.accounts.demo import DEMO_PASSWORD
from cpe.accounts.models import User
from cpe.accounts.testing import device_secret, fresh_code

E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = (
    "Chromium is not installed: run `sh scripts/ensure-test-tools.sh` as root, "
    "or `apt-get install chromium`"
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: without these, Chromium's own connections to
    # Google's services are refused and get in the way of the pages under test.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
# Pages are served by a local thread: anything slower than this is a hang, not a slow network.
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `-m "not e2e"` (make test-fast) must leave out every test in this folder, and only these;
    # the modules say `pytestmark` too, this catches a new module that forgets it.
    # The hook sees the whole session's items, hence the check on the path.
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True, scope="session")
def _chromium_is_installed() -> None:
    # Session-scoped and autouse, so it runs before the database and the live server are set
    # up. Locally a missing browser is a skip; under CI it must not pass silently.
    if os.access(CHROMIUM, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM_MISSING} (CI=true: browser tests may not be skipped)")
    pytest.skip(CHROMIUM_MISSING)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API keeps an asyncio event loop running in this thread from here
        # on, and Django then refuses every ORM call from it (SynchronousOnlyOperation),
        # seeding included, also in non-browser tests run later in the session. The thread
        # only ever waits on the browser, so nothing really runs concurrently.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def demo_data(transactional_db: None) -> None:
    # The live server runs in another thread, so it sees only committed rows: hence
    # transactional_db (flushed after each test) and a fresh seed per test.
    # pytest-django switches DEBUG off, which seed_demo refuses without --allow-production.
    call_command("seed_demo", "--allow-production", "--quiet-logins", stdout=io.StringIO())


@pytest.fixture
def site_url(live_server: Any, demo_data: None) -> str:
    return str(live_server.url)


@pytest.fixture
def new_page(browser: Browser, site_url: str) -> Iterator[Callable[..., Page]]:
    """Open a page in a browser context of its own (own cookies); options go to new_context."""
    contexts = []

    def make(viewport: dict[str, int] | None = None, **options: Any) -> Page:
        # Like most learners' browsers (Chromium's own default is en-US). Pages ignore it;
        # it matters for the API, and for a test that wants an English-language browser.
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(base_url=site_url, viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def phone(new_page: Callable[..., Page]) -> Page:
    return new_page(PHONE)


@pytest.fixture
def sign_in() -> Callable[..., None]:
    """Fill in a sign-in form and submit it; the caller checks where the browser lands."""

    def submit(page: Page, path: str, username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto(path)
        form = page.locator("main form[method=post]")
        form.locator("[name=username]").fill(username)
        form.locator("[name=password]").fill(password)
        # Wait for the POST's answer so the caller's next goto cannot cancel it.
        with page.expect_navigation():
            form.locator("button[type=submit]").click()

    return submit


@pytest.fixture
def staff_sign_in(sign_in: Callable[..., None]) -> Callable[..., None]:
    """Sign a staff member in through the real pages, second factor included.

    `staff_sign_in(page, "city.wuhan")` (the password defaults to the demo one) fills in the
    staff sign-in, then the authenticator step: at a first sign-in it sets up the
    authenticator with the key shown on the set-up page (as a person typing it into their
    app would) and enters a code computed from it; at later sign-ins it enters a fresh code.
    It returns when the browser has landed after the last step: the staff console, or the
    password page for an account with a temporary password. Works for every staff role,
    whether or not the role needs a second factor, and as often as a test likes (each code
    is used once; when all codes of the current 30 s are used, it waits for the next).
    """

    def submit(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
        sign_in(page, "/staff/login/", username, password)
        path = urlsplit(page.url).path
        if path == "/staff/login/enrol/":
            secret = page.locator("[data-totp-secret]").get_attribute("data-totp-secret")
            assert secret, "the set-up page shows no key"
            _enter_code(page, fresh_code(secret))
        elif path == "/staff/login/code/":
            # The key is not on this page: read it where the server keeps it.
            secret, last_used = device_secret(User.objects.get(username=username))
            _enter_code(page, fresh_code(secret, after_step=last_used))

    return submit


def _enter_code(page: Page, code: str) -> None:
    form = page.locator("main form[method=post]")
    form.locator("[name=code]").fill(code)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


# Locator assertions retry until this timeout; page loads here take milliseconds.
expect.set_options(timeout=TIMEOUT_MS)
