"""Browser harness: Playwright drives Debian's Chromium against the live test server.

The browser tests run on SQLite only (`SQLITE_ONLY` in helpers.py): the pages are the same on both
backends, which the API and policy tests already cover, and a second run per backend would
double the slowest tests of the suite.

Playwright's sync API keeps its event loop marked as running on this thread, so nothing
here may call `asyncio.run` while a browser is open. The browser is therefore scoped to
this package: it is closed as soon as a worker moves on to other tests (whose harness seeds
databases with `asyncio.run`), and the `backend` fixture, being session-scoped, is always
set up before it.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.browser.helpers import ContextFactory
from tests.conftest import Backend

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Launch headless Chromium once for the browser tests of this worker."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
            "(`make browser`, or `apt-get install chromium`).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser, live: Backend) -> Iterator[ContextFactory]:
    """Make fresh browser contexts (own cookies) on the reset server; fail on script errors
    and on anything the Content-Security-Policy refused (Chromium reports it in the console)."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    refused: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live.base_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("weberror", lambda error: errors.append(str(error.error)))
        context.on("console", console)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the page: {errors}"
    assert not refused, f"Content-Security-Policy violations: {refused}"


@pytest.fixture
def page(new_context: ContextFactory) -> Page:
    """Open a page in a fresh context whose base URL is the live server."""
    return new_context().new_page()
