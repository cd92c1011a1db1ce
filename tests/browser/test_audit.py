"""The audit log in a real browser: the admin finds a change by its filters, and on the
record's own page, in its History."""

import httpx
from playwright.sync_api import Page, expect

from tests.browser.helpers import SQLITE_ONLY, arrive, screenshot, sign_in

pytestmark = SQLITE_ONLY


def test_admin_follows_a_change_in_the_log_and_the_history(page: Page, admin: httpx.Client) -> None:
    tag = admin.post("/tags", json={"name": "traced"}).json()
    admin.put(f"/tags/{tag['id']}", json={"name": "traced-again"})
    sign_in(page, "admin", "admin123")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    arrive(page, r"/audit$")
    page.get_by_label("Event").fill("updated")
    page.get_by_label("Resource").fill("tags")
    page.get_by_role("button", name="Apply").click()
    arrive(page, r"/audit\?")
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("traced → traced-again")
    screenshot(page, "audit-log")

    page.goto(f"/tags/{tag['id']}")
    history = page.locator("section.history")
    expect(history.get_by_role("heading", name="History")).to_be_visible()
    expect(history.locator("tbody tr")).to_have_count(2)  # created, updated
    expect(history).to_contain_text("created")
