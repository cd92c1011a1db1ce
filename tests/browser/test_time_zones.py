"""Times in the viewer's zone, in Chromium set to Tokyo: the page's script tells the server
the browser's zone, times show in it with the zone named, and an account's own setting,
chosen in its form by keyboard, wins."""

import httpx
from playwright.sync_api import expect

from tests.browser.helpers import (
    SQLITE_ONLY,
    ContextFactory,
    api_create,
    arrive,
    screenshot,
    sign_in,
)

pytestmark = SQLITE_ONLY

DUE = "2026-06-01T10:00:00+00:00"


def test_times_follow_the_browser_then_the_accounts_setting(
    new_context: ContextFactory, admin: httpx.Client
) -> None:
    project = api_create(admin, "projects", name="Zoned project")
    task = api_create(admin, "tasks", title="Zoned task", project_id=project["id"], due_at=DUE)
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    sign_in(page, "admin", "admin123")
    page.goto(f"/tasks/{task['id']}")
    due = page.locator(f'time[datetime="{DUE}"]')
    expect(due).to_have_text("2026-06-01 19:00 JST")
    footer = page.locator("footer")
    expect(footer).to_contain_text("Times are shown in Asia/Tokyo (your browser's time zone).")
    screenshot(page, "time-zone")

    footer.get_by_role("link", name="Set your time zone").click()
    arrive(page, r"/users/\d+/edit")
    picker = page.get_by_label("Time zone")
    picker.focus()
    picker.select_option("Europe/Berlin")
    page.get_by_role("button", name="Save").press("Enter")  # by keyboard
    arrive(page, r"/users/\d+$")
    page.goto(f"/tasks/{task['id']}")
    expect(due).to_have_text("2026-06-01 12:00 CEST")
    expect(footer).to_contain_text("Times are shown in Europe/Berlin (your setting).")
