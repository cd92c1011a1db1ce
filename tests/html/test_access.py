"""Access through the pages: sign-in redirects, `next=`, 403/404 pages, navigation, scopes.

The pages ask the same enforcer as the API: what a user sees in the navigation, on the
dashboard, in a form's choices and among a record's related records is what the JSON API
lets them read, and nothing more.
"""

from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest

from app.resources import RESOURCES
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import csrf_token, dump, location, page, sign_in
from tests.support.callers import Callers
from tests.support.records import Records

ALL_PATHS = [f"/{res.path}" for res in RESOURCES]
# What the `user` role reads (each registry entry's default grants: the contract's
# defaults), so what demo's navigation links; and what it does not.
DEMO_READS = [
    f"/{res.path}"
    for res in RESOURCES
    if any(item.startswith("read:") for item in res.default_grants.get("user", ()))
]
DEMO_HIDDEN = {"/roles", "/permissions", "/groups"}
# The contract's defaults for its tables, pinned: a table added later comes after them.
CONTRACT_READS = ["/users", "/sessions", "/customers", "/projects", "/tasks", "/tags"]
CONTRACT_READS += ["/comments", "/time_entries"]
assert DEMO_READS[: len(CONTRACT_READS)] == CONTRACT_READS, DEMO_READS


@pytest.fixture
def demo_team(admin: httpx.Client) -> int:
    """Return the id of demo's group."""
    found = admin.get("/groups", params={"q": "demo-team"}).json()["items"]
    return next(group["id"] for group in found if group["name"] == "demo-team")


def test_anonymous_visitors_are_sent_to_sign_in(browser: Browser) -> None:
    """Send an anonymous visitor from every page to /login?next=<the page> (303)."""
    pages = ["/dashboard", "/tasks?status=todo&sort=-title"]
    for res in RESOURCES:
        pages += [f"/{res.path}", f"/{res.path}/1"]
        if res.create_schema is not None:
            pages += [f"/{res.path}/new", f"/{res.path}/1/edit"]
    for path in pages:
        assert location(browser.get(path)) == "/login?next=" + quote(path, safe="/"), path
    assert location(browser.get("/")) == "/login"


def test_sign_in_returns_to_the_page_asked_for(browser: Browser) -> None:
    """Follow the sign-in redirect with a query string: after login, land on that page."""
    wanted = "/tasks?status=todo&sort=-title"
    login_url = location(browser.get(wanted))
    form = page(browser, login_url).form("/login")
    assert form.data()["next"] == [wanted]
    data = form.data() | {"username": ["admin"], "password": ["admin123"]}
    assert location(browser.post("/login", data=data)) == wanted
    shown = page(browser, wanted)
    assert shown.heading == "Tasks"


FOREIGN_NEXT = [
    "http://evil.example/",
    "https://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "evil.example",
    "",
]


def test_next_accepts_local_paths_only(
    browser_factory: Callable[[], Browser], admin_browser: Browser
) -> None:
    """Send every foreign or odd `next=` to the dashboard: on the form, at login, signed in."""
    for target in FOREIGN_NEXT:
        visitor = browser_factory()
        form = page(visitor, "/login?next=" + quote(target, safe="")).form("/login")
        assert form.data()["next"] == ["/dashboard"], target
        response = sign_in(visitor, "demo", "demo123", next=target)
        assert location(response) == "/dashboard", target
        again = admin_browser.get("/login", params={"next": target})
        assert location(again) == "/dashboard", target
    local = "/customers?q=a%20b"
    assert location(admin_browser.get("/login", params={"next": local})) == local
    assert location(sign_in(browser_factory(), "demo", "demo123", next=local)) == local


def test_a_page_the_user_may_not_see_is_a_403_page(demo_browser: Browser) -> None:
    """Show demo, who may not read roles, permissions or groups, a 403 page for each."""
    for path in sorted(DEMO_HIDDEN):
        for url in (path, f"{path}/new"):
            shown = page(demo_browser, url, 403)
            assert shown.heading == "Not allowed", url
            assert shown.nav_paths(), "the error page lost the navigation"


def test_a_record_the_user_cannot_read_is_a_403_page_and_a_missing_one_404(
    demo_browser: Browser, records: Records, live: Backend, admin: httpx.Client
) -> None:
    """Answer an admin-only record with a 403 page, a missing or bad id with 404; change nothing."""
    hidden = records.create("customers")
    token = csrf_token(demo_browser)
    before = dump(live.settings)
    for url in (f"/customers/{hidden['id']}", f"/customers/{hidden['id']}/edit", "/roles/1"):
        assert page(demo_browser, url, 403).heading == "Not allowed", url
    for url in (
        "/customers/999999",
        "/customers/99999999999999999999",
        "/customers/abc",
        "/customers/-1",
        "/no-such-page",
    ):
        assert page(demo_browser, url, 404).heading == "Not found", url
    response = demo_browser.post(f"/customers/{hidden['id']}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    response = demo_browser.post(
        f"/customers/{hidden['id']}", data={"csrf_token": token, "name": "mine now"}
    )
    assert response.status_code == 403
    assert dump(live.settings) == before
    assert admin.get(f"/customers/{hidden['id']}").json()["name"] == hidden["name"]


def test_a_readable_record_shows_only_the_actions_allowed(
    demo_browser: Browser, records: Records, demo_team: int, live: Backend
) -> None:
    """Offer demo no edit or delete on a group record they only read; refuse both (403)."""
    shared = records.create("customers", owner_group_id=demo_team)
    url = f"/customers/{shared['id']}"
    shown = page(demo_browser, url)
    assert shown.heading == f"Customer: {shared['name']}"
    assert shown.root.find("a", href=f"{url}/edit") is None
    assert shown.root.find("form", action=f"{url}/delete") is None
    token = shown.csrf_token
    before = dump(live.settings)
    assert page(demo_browser, f"{url}/edit", 403).heading == "Not allowed"
    response = demo_browser.post(f"{url}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    assert dump(live.settings) == before


def test_navigation_links_only_readable_resources(
    admin_browser: Browser,
    demo_browser: Browser,
    callers: Callers,
    signed_in: Callable[[str, str], Browser],
) -> None:
    """Link every resource for admin, what demo reads for demo, and only tags for a tag reader."""
    assert page(admin_browser, "/dashboard").nav_paths() == ["/dashboard", *ALL_PATHS, "/audit"]
    demo_nav = page(demo_browser, "/tags").nav_paths()
    assert demo_nav == ["/dashboard", *DEMO_READS]
    user, _ = callers("tag:read:all")
    reader = signed_in(user["username"], "tidal-parsnip-42")
    assert page(reader, "/dashboard").nav_paths() == ["/dashboard", "/tags"]
    assert page(reader, "/customers", 403).nav_paths() == ["/dashboard", "/tags"]


def _cards(shown: Page) -> dict[str, int]:
    cards = {}
    for card in shown.root.find_all("li", class_="card"):
        link = card.find("a")
        count = card.find("p", class_="count")
        assert link is not None and count is not None
        cards[link.attrs["href"]] = int(count.find("span").text())  # type: ignore[union-attr]
    return cards


def test_dashboard_counts_equal_the_api_totals(
    admin_browser: Browser,
    demo_browser: Browser,
    admin: httpx.Client,
    demo: httpx.Client,
    records: Records,
    demo_team: int,
) -> None:
    """Count on each dashboard card what the JSON API lists for that user, and no more."""
    demo_id = demo.get("/auth/me").json()["id"]
    for path in ("customers", "projects", "tasks", "tags", "comments", "time_entries"):
        records.create(path)
        records.create(path, owner_user_id=demo_id)
    records.create("projects", owner_group_id=demo_team)
    for browser, api in ((admin_browser, admin), (demo_browser, demo)):
        cards = _cards(page(browser, "/dashboard"))
        resources = [
            path for path in page(browser, "/dashboard").nav_paths()[1:] if path != "/audit"
        ]
        assert list(cards) == resources
        for path, count in cards.items():
            assert count == api.get(path, params={"limit": 1}).json()["total"], path
    admin_cards = _cards(page(admin_browser, "/dashboard"))
    demo_cards = _cards(page(demo_browser, "/dashboard"))
    for path in ("/customers", "/projects", "/tasks", "/comments", "/time_entries"):
        assert 0 < demo_cards[path] < admin_cards[path], path
    assert demo_cards["/users"] == 1


def _choices(browser: Browser, url: str, field: str) -> set[int]:
    form = page(browser, url).form()
    return {int(value) for value, _ in form.control(field).options() if value}


def _ids(api: httpx.Client, path: str) -> set[int]:
    return {item["id"] for item in api.get(path, params={"limit": 200}).json()["items"]}


def test_choices_list_only_readable_records(
    admin_browser: Browser,
    demo_browser: Browser,
    demo: httpx.Client,
    admin: httpx.Client,
    records: Records,
    demo_team: int,
    callers: Callers,
    signed_in: Callable[[str, str], Browser],
) -> None:
    """Offer in a form's selects exactly what the caller may read through the API."""
    hidden = records.create("projects")["id"]
    shared = records.create("projects", owner_group_id=demo_team)["id"]
    mine = demo.post("/projects", json={"name": "demo's"}).json()["id"]
    records.create("tags")
    demo_id = demo.get("/auth/me").json()["id"]

    projects = _choices(demo_browser, "/tasks/new", "project_id")
    assert projects == {shared, mine} == _ids(demo, "/projects")
    assert hidden in _choices(admin_browser, "/tasks/new", "project_id")
    assert _choices(demo_browser, "/tasks/new", "tag_ids") == _ids(demo, "/tags")
    assert _choices(demo_browser, "/tasks/new", "assignee_id") == {demo_id}
    assert _choices(demo_browser, "/tasks/new", "owner_user_id") == {demo_id}
    assert _choices(demo_browser, "/tasks/new", "owner_group_id") == {demo_team}
    assert _choices(admin_browser, "/tasks/new", "owner_group_id") == _ids(admin, "/groups")
    task = demo.post("/tasks", json={"title": "t", "project_id": mine}).json()
    assert _choices(demo_browser, f"/tasks/{task['id']}/edit", "project_id") == {shared, mine}

    user, api = callers("tag:read:own", "tag:create:own", "task:create:own", "project:read:all")
    own_tag = api.post("/tags", json={"name": "their own"}).json()["id"]
    tagger = signed_in(user["username"], "tidal-parsnip-42")
    assert _choices(tagger, "/tasks/new", "tag_ids") == {own_tag}
    assert hidden in _choices(tagger, "/tasks/new", "project_id")


def _related(shown: Page, label: str) -> set[str]:
    for section in shown.root.find_all("section", class_="related"):
        heading = section.find("h2")
        if heading is not None and heading.text().startswith(label):
            return {a.attrs["href"] for a in section.find_all("a")}
    raise AssertionError(f"no related {label} on the page")


def test_detail_pages_show_only_readable_related_records(
    admin_browser: Browser, demo_browser: Browser, demo: httpx.Client, records: Records
) -> None:
    """List a record's related records by the caller's scopes: demo theirs, admin all."""
    customer = demo.post("/customers", json={"name": "shared customer"}).json()
    theirs = demo.post("/projects", json={"name": "p", "customer_id": customer["id"]}).json()
    admins = records.create("projects", customer_id=customer["id"])
    url = f"/customers/{customer['id']}"
    assert _related(page(demo_browser, url), "Projects") == {f"/projects/{theirs['id']}"}
    assert _related(page(admin_browser, url), "Projects") == {
        f"/projects/{theirs['id']}",
        f"/projects/{admins['id']}",
    }
    task = demo.post("/tasks", json={"title": "t", "project_id": theirs["id"]}).json()
    comment = demo.post("/comments", json={"task_id": task["id"], "body": "mine"}).json()
    records.create("comments", task_id=task["id"], body="admin's")
    url = f"/tasks/{task['id']}"
    assert _related(page(demo_browser, url), "Comments") == {f"/comments/{comment['id']}"}
    assert len(_related(page(admin_browser, url), "Comments")) == 2
