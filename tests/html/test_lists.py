"""List pages: pagination, sorting by the column headers, search, filters, bad parameters."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.core.lists import COUNT_CAP
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import page
from tests.support.records import Records


def rows(shown: Page) -> list[str]:
    """Return the record links of a list page's rows, in order: each row's one link to
    its record (its title, or its id where the title is not a column)."""
    body = shown.root.find("tbody")
    assert body is not None
    links = []
    for row in body.find_all("tr"):
        first = row.find("a")
        href = first.attrs.get("href", "") if first is not None else ""
        if href.rpartition("/")[2].isdigit():  # not an empty state's link
            links.append(href)
    return links


def link(shown: Page, text: str, within: str = "nav") -> str | None:
    """Return the target of the link reading `text` (in the pager by default)."""
    scope = shown.root.find(within, class_="pager") if within == "nav" else shown.root
    assert scope is not None
    for anchor in scope.find_all("a"):
        if anchor.text() == text:
            return anchor.attrs["href"]
    return None


def api_order(api: httpx.Client, path: str, **params: str | int) -> list[str]:
    found = api.get(f"/{path}", params={"limit": 200, **params}).json()["items"]
    return [f"/{path}/{item['id']}" for item in found]


@pytest.fixture
def tags(records: Records) -> list[str]:
    """Make seven tags named out of id order, three with 'berry' in the name."""
    names = ["kiwi", "apple", "blueberry", "fig", "strawberry", "cherry", "raspberry"]
    return [f"/tags/{records.create('tags', name=name)['id']}" for name in names]


def test_pages_walk_through_every_record_once(
    admin_browser: Browser, admin: httpx.Client, tags: list[str]
) -> None:
    """Follow Next from a 3-row page: every tag once, in the API's order; then Previous."""
    shown = page(admin_browser, "/tags?limit=3")
    seen = rows(shown)
    assert len(seen) == 3
    assert link(shown, "Previous") is None
    while (target := link(shown, "Next")) is not None:
        shown = page(admin_browser, target)
        assert parse_qs(urlsplit(target).query)["limit"] == ["3"]
        seen += rows(shown)
    assert seen == api_order(admin, "tags")
    assert "7\N{EN DASH}7 of 7" in shown.root.find("nav", class_="pager").text()  # type: ignore[union-attr]
    back = link(shown, "Previous")
    assert back is not None
    assert rows(page(admin_browser, back)) == seen[3:6]


def test_pages_past_the_count_cap_follow_a_cursor(
    admin_browser: Browser, admin: httpx.Client, many_tags: int
) -> None:
    """Next by offset while rows are counted, then by keyset cursor: every tag once."""
    shown = page(admin_browser, "/tags?limit=200")
    assert f"{COUNT_CAP}+ records" in shown.root.text()
    seen = rows(shown)
    targets = []
    while (target := link(shown, "Next")) is not None:
        targets.append(parse_qs(urlsplit(target).query))
        shown = page(admin_browser, target)
        seen += rows(shown)
    assert len(seen) == len(set(seen)) == many_tags
    assert "cursor" not in targets[0] and "offset" in targets[0]
    assert "cursor" in targets[-1] and "offset" not in targets[-1]
    assert link(shown, "Previous") is None
    first = link(shown, "First page")
    assert first is not None and rows(page(admin_browser, first)) == seen[:200]
    dashboard = page(admin_browser, "/dashboard").root.text()
    assert f"{COUNT_CAP}+ visible" in " ".join(dashboard.split())


def test_column_headers_sort_both_ways(
    admin_browser: Browser, admin: httpx.Client, tags: list[str]
) -> None:
    """Click the Name header: ascending by name; click again: descending."""
    shown = page(admin_browser, "/tags")
    ascending = link(shown, "Name", within="table")
    assert ascending is not None and "sort=name" in ascending
    shown = page(admin_browser, ascending)
    assert rows(shown) == api_order(admin, "tags", sort="name")
    header = next(th for th in shown.root.find_all("th") if th.text() == "Name")
    assert header.attrs.get("aria-sort") == "ascending"
    descending = link(shown, "Name", within="table")
    assert descending is not None and "sort=-name" in descending
    shown = page(admin_browser, descending)
    assert rows(shown) == list(reversed(api_order(admin, "tags", sort="name")))
    assert rows(shown) != rows(page(admin_browser, "/tags"))


def test_search_box_narrows_the_list_and_keeps_the_query(
    admin_browser: Browser, admin: httpx.Client, tags: list[str]
) -> None:
    """Search for 'berry': the three berries, the box still holding the query."""
    shown = page(admin_browser, "/tags?q=berry&sort=name")
    assert rows(shown) == api_order(admin, "tags", q="berry", sort="name")
    assert len(rows(shown)) == 3
    form = shown.form("/tags")
    assert form.data()["q"] == ["berry"]
    assert form.data()["sort"] == ["name"]
    assert rows(page(admin_browser, "/tags?q=no-such-fruit")) == []


def test_filters_narrow_the_list(
    admin_browser: Browser, admin: httpx.Client, records: Records
) -> None:
    """Filter projects by status and by a yes/no column; the select shows the choice."""
    for status in ("active", "active", "on_hold", "planned"):
        records.create("projects", status=status, is_billable=status != "on_hold")
    shown = page(admin_browser, "/projects?status=active")
    assert rows(shown) == api_order(admin, "projects", status="active")
    assert len(rows(shown)) == 2
    assert shown.form("/projects").control("status").submitted() == ["active"]
    shown = page(admin_browser, "/projects?is_billable=false")
    assert rows(shown) == api_order(admin, "projects", is_billable="false")
    assert len(rows(shown)) == 1
    assert shown.form("/projects").control("is_billable").submitted() == ["false"]
    assert rows(page(admin_browser, "/projects?status=")) == api_order(admin, "projects")


def test_lists_show_only_readable_records(
    demo_browser: Browser, demo: httpx.Client, records: Records
) -> None:
    """List demo's own projects for demo, never the admin's."""
    hidden = records.create("projects")
    demo.post("/projects", json={"name": "demo's"})
    shown = rows(page(demo_browser, "/projects"))
    assert shown == api_order(demo, "projects")
    assert f"/projects/{hidden['id']}" not in shown
    assert len(shown) == 1


BAD_QUERIES = [
    "limit=0",
    "limit=201",
    "limit=abc",
    "limit=99999999999999999999999",
    "offset=-1",
    "offset=99999999999",
    "sort=bogus",
    "sort=-hashed_password",
    "status=bogus",
    "customer_id=abc",
    "customer_id=99999999999",
    "is_billable=maybe",
    "q=a%00b",
    "q=" + "x" * 201,
]


def test_bad_list_parameters_give_an_error_page(admin_browser: Browser) -> None:
    """Answer every bad sort, limit, offset, filter or query with a 422 page naming it."""
    for query in BAD_QUERIES:
        shown = page(admin_browser, f"/projects?{query}", 422)
        name = query.split("=")[0]
        assert name in shown.root.find("main").text(), query  # type: ignore[union-attr]
        assert shown.nav_paths(), query
