"""What the browser tests share: signing in, reading pages, screenshots."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from app.resources import RESOURCES
from app.routers.cells import column_label

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# The browser tests run on SQLite only: see the docstring of tests/browser/conftest.py.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# The navigation of a user holding only the `user` role (demo, and every registration).
USER_NAV = [
    "Dashboard",
    "Users",
    "Sessions",
    "Customers",
    "Projects",
    "Tasks",
    "Tags",
    "Comments",
    "Time entries",
]

# The navigation of the admin: every registered resource, in the registry's order.
ALL_LABELS = [res.label for res in RESOURCES]

# Makes a fresh browser context (own cookies) on the live server: the `new_context` fixture.
ContextFactory = Callable[..., BrowserContext]


def arrive(page: Page, url_pattern: str) -> None:
    """Wait until the page has loaded a URL that matches `url_pattern` (a regex, searched)."""
    expect(page).to_have_url(re.compile(url_pattern))
    page.wait_for_load_state()


def sign_in(page: Page, username: str, password: str) -> None:
    """Sign in through the login form and land on the dashboard."""
    page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    arrive(page, r"/dashboard$")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot (of the whole page, or what the screen shows) under
    test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 0
    return path


def nav_links(page: Page) -> list[str]:
    """Return the labels of the main navigation's links, in order."""
    return page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()


def expect_flash(page: Page, text: str) -> None:
    """Wait for the page to show the flash message `text`."""
    expect(page.locator(".flash", has_text=text)).to_have_count(1)


def api_create(client: httpx.Client, path: str, **body: Any) -> dict[str, Any]:
    """Create a record through the JSON API and return it."""
    response = client.post(f"/{path}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def api_find(client: httpx.Client, path: str, **match: Any) -> dict[str, Any]:
    """Return the one record of `path` whose fields equal `match`."""
    items = client.get(f"/{path}", params={"limit": 200}).json()["items"]
    found = [item for item in items if all(item.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (path, match, found)
    return found[0]


def accept_next_dialog(page: Page) -> None:
    """Accept the next `window.confirm` the page opens."""
    page.once("dialog", lambda dialog: dialog.accept())


def value_of(page: Page, column: str) -> Locator:
    """Return the value a detail page shows for `column`."""
    return page.locator(f'dl.fields dt:text-is("{column_label(column)}") + dd')
