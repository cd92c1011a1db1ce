"""Names and empty states in a real browser: a list shows a task's project by name, linked;
an empty search says so and offers the whole list."""

import httpx
from playwright.sync_api import Page, expect

from tests.browser.helpers import SQLITE_ONLY, api_create, arrive, screenshot, sign_in

pytestmark = SQLITE_ONLY


def test_a_list_shows_related_records_by_name(page: Page, admin: httpx.Client) -> None:
    project = api_create(admin, "projects", name="Harbour bridge")
    api_create(admin, "tasks", title="Inspect cables", project_id=project["id"])
    sign_in(page, "admin", "admin123")
    page.goto("/tasks")
    row = page.locator("tbody tr", has_text="Inspect cables")
    link = row.get_by_role("link", name="Harbour bridge")
    expect(link).to_have_attribute("href", f"/projects/{project['id']}")
    expect(row).not_to_contain_text("#")
    screenshot(page, "list-related-names")
    link.click()
    arrive(page, rf"/projects/{project['id']}$")


def test_an_empty_search_says_what_to_do(page: Page) -> None:
    sign_in(page, "admin", "admin123")
    page.goto("/tags?q=nothing-like-this")
    expect(page.locator("tbody")).to_contain_text("No tags match this search.")
    screenshot(page, "empty-state")
    page.get_by_role("link", name="Show all tags").click()
    arrive(page, r"/tags$")


def test_a_filtered_list_exports_what_it_shows(page: Page, admin: httpx.Client) -> None:
    api_create(admin, "tags", name="export-me")
    sign_in(page, "admin", "admin123")
    page.goto("/tags")
    page.get_by_label("Search").fill("export-me")
    page.get_by_role("button", name="Apply").click()
    arrive(page, r"/tags\?q=export-me")
    screenshot(page, "filtered-export")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert "export-me" in text and len(text.splitlines()) == 2  # the header and the one tag


def test_bulk_delete_of_ticked_rows(page: Page, admin: httpx.Client) -> None:
    first = api_create(admin, "tags", name="bulk-one")
    second = api_create(admin, "tags", name="bulk-two")
    sign_in(page, "admin", "admin123")
    page.goto("/tags?q=bulk-")
    page.get_by_label("Select tag bulk-one").check()
    page.get_by_label("Select tag bulk-two").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 2 tags?")
    page.get_by_role("button", name="Delete 2").click()
    arrive(page, r"/tags$")
    expect(page.locator(".flash")).to_contain_text("Deleted 2 tags: bulk-one, bulk-two.")
    for tag in (first, second):
        assert admin.get(f"/tags/{tag['id']}").status_code == 404


def test_a_list_filters_by_tag_and_a_range_of_days(page: Page, admin: httpx.Client) -> None:
    project = api_create(admin, "projects", name="Filter works")
    tag = api_create(admin, "tags", name="Night shift")
    for title, due, tags in (
        ("Tagged in June", "2031-06-10T08:00:00Z", [tag["id"]]),
        ("Tagged in July", "2031-07-10T08:00:00Z", [tag["id"]]),
        ("Untagged in June", "2031-06-11T08:00:00Z", []),
    ):
        api_create(admin, "tasks", title=title, project_id=project["id"], due_at=due, tag_ids=tags)
    sign_in(page, "admin", "admin123")
    page.goto("/tasks")
    page.get_by_label("Tag", exact=True).select_option(label="Night shift")
    page.get_by_label("Due at from").fill("2031-06-01")
    page.get_by_label("Due at to").fill("2031-06-30")
    page.get_by_role("button", name="Apply").click()
    arrive(page, r"/tasks\?.*tag_id=")
    body = page.locator("tbody")
    expect(body).to_contain_text("Tagged in June")
    expect(body).not_to_contain_text("Tagged in July")
    expect(body).not_to_contain_text("Untagged in June")
    expect(page.get_by_label("Due at from")).to_have_value("2031-06-01")
    screenshot(page, "list-filters")
