"""The demo user in a real browser: what a `user` role may see, create and not open."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    SQLITE_ONLY,
    USER_NAV,
    api_create,
    api_find,
    arrive,
    nav_links,
    screenshot,
    sign_in,
)

pytestmark = SQLITE_ONLY


@pytest.fixture
def others(admin: httpx.Client) -> dict[str, int]:
    """Create, as admin, a project demo must not see, one of demo's group, and two tags."""
    team = api_find(admin, "groups", name="demo-team")["id"]
    return {
        "secret": api_create(admin, "projects", name="Admin secret")["id"],
        "team": api_create(admin, "projects", name="Team plan", owner_group_id=team)["id"],
        "urgent": api_create(admin, "tags", name="urgent")["id"],
        "backend": api_create(admin, "tags", name="backend")["id"],
    }


def options(page: Page, select_id: str) -> list[str]:
    """Return the labels of a select's options."""
    return page.locator(f"#{select_id} option").all_inner_texts()


def test_demo_navigation_lists_only_readable_resources(page: Page) -> None:
    """Show demo the resources its role reads, and nothing of roles, permissions or groups."""
    sign_in(page, "demo", "demo123")
    assert nav_links(page) == USER_NAV
    cards = page.locator(".card")
    expect(cards).to_have_count(8)
    users = page.locator(".card", has_text="Users")
    expect(users).to_contain_text("1 visible")
    expect(users.get_by_role("link", name="New user")).to_have_count(0)
    projects = page.locator(".card", has_text="Projects")
    expect(projects.get_by_role("link", name="New project")).to_be_visible()


def test_demo_creates_a_project_and_a_task_with_tags(page: Page, others: dict[str, int]) -> None:
    """Create a project and a tagged task; lists and dropdowns hold only own and group rows."""
    sign_in(page, "demo", "demo123")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="New project").click()
    arrive(page, r"/projects/new$")
    assert options(page, "owner_user_id") == ["—", "demo"]
    assert options(page, "owner_group_id") == ["—", "demo-team"]
    page.locator("#name").fill("Demo launch")
    page.locator("#status").select_option(label="active")
    page.get_by_role("button", name="Create").click()
    arrive(page, r"/projects/\d+$")
    project_id = int(page.url.rsplit("/", 1)[1])

    page.goto("/projects")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("tbody")).to_contain_text("Demo launch")
    expect(page.locator("tbody")).to_contain_text("Team plan")
    expect(page.locator("tbody")).not_to_contain_text("Admin secret")
    screenshot(page, "list")
    response = page.goto(f"/projects/{others['secret']}")
    assert response is not None and response.status == 403

    page.goto("/tasks/new")
    assert sorted(options(page, "project_id")) == ["Demo launch", "Team plan"]
    assert options(page, "assignee_id") == ["—", "demo"]
    assert sorted(options(page, "tag_ids")) == ["backend", "urgent"]
    page.locator("#project_id").select_option(label="Demo launch")
    page.locator("#title").fill("Demo kickoff")
    page.locator("#tag_ids").select_option(label=["urgent", "backend"])
    page.get_by_role("button", name="Create").click()
    arrive(page, r"/tasks/\d+$")
    expect(page.get_by_role("heading", level=1)).to_have_text("Task: Demo kickoff")
    fields = page.locator("dl.fields")
    expect(fields.locator(f'a[href="/projects/{project_id}"]')).to_have_count(1)
    for tag in ("urgent", "backend"):
        expect(fields.locator(f'a[href="/tags/{others[tag]}"]')).to_have_count(1)

    page.goto(f"/projects/{project_id}")
    related = page.locator("section.related", has_text="Tasks")
    expect(related.get_by_role("link", name="Demo kickoff")).to_have_count(1)


REFUSED = [
    ("/roles", 403, "Not allowed"),
    ("/permissions", 403, "Not allowed"),
    ("/groups", 403, "Not allowed"),
    ("/roles/new", 403, "Not allowed"),
    # Pages answer 403 for a record the caller may not read (the API answers 404).
    ("/roles/1", 403, "Not allowed"),
    ("/users/1", 403, "Not allowed"),
]


def test_demo_is_refused_what_it_may_not_read(page: Page) -> None:
    """Answer demo's visits to pages it may not see with 403 HTML error pages."""
    sign_in(page, "demo", "demo123")
    for path, status, heading in REFUSED:
        response = page.goto(path)
        assert response is not None and response.status == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("link", name="Back to the dashboard")).to_be_visible()
        assert "Roles" not in nav_links(page)
    page.locator(".user-menu").get_by_role("link", name="Demo User").click()
    arrive(page, r"/users/\d+$")
    expect(page.get_by_role("heading", level=1)).to_have_text("User: demo")
