"""The pages speak names: every list and detail page of every resource, as admin and as demo,
shows what a record refers to by its title (linked) where the viewer may read it, "hidden"
where not, and never an id in its place (`#3`, `user #1`, `Project #2`)."""

import re

import httpx
import pytest

from app.resources import REGISTRY, RESOURCES
from app.services.naming import reference_targets
from tests.html.dom import Element
from tests.html.site import page
from tests.support.records import Records

BROWSERS = ("admin_browser", "demo_browser")
# An id standing in for a name: "#3", "user #1", "Group #2" (a colour like #ff8800 is not).
BARE_ID = re.compile(r"(?<![\w&])#\d+\b")


def main_text(html: Element) -> str:
    """The page's own content: its <main>, without the list's id column (ids by design)."""
    main = html.find("main")
    assert main is not None
    for row in main.find_all("tr"):
        cells = row.find_all("td")
        if cells and cells[0].text().strip().isdigit():
            cells[0].children = []
    return main.text()


def assert_no_bare_ids(browser: httpx.Client, path: str) -> str:
    shown = page(browser, path)
    text = main_text(shown.root)
    found = BARE_ID.findall(text)
    assert not found, f"{path} shows ids where names belong: {found}"
    return text


@pytest.fixture
def world(records: Records, admin: httpx.Client) -> dict[str, dict]:
    """One record of every table, each referring to others, owned by demo in demo-team:
    the accounts' tables give an existing record, every other table a new one that names a
    record of each table it refers to (made first)."""
    demo = admin.get("/users", params={"q": "demo"}).json()["items"][0]
    team = admin.get("/groups", params={"q": "demo-team"}).json()["items"][0]
    owned = {"owner_user_id": demo["id"], "owner_group_id": team["id"]}
    made = {"users": demo, "groups": team}
    for path in ("roles", "permissions", "sessions"):
        made[path] = admin.get(f"/{path}").json()["items"][0]
    pending = [res for res in RESOURCES if res.path not in made]
    while pending:
        res = next(r for r in pending if set(r.references.values()) <= made.keys() | {r.path})
        named = {
            field: [made[path]["id"]] if field.endswith("_ids") else made[path]["id"]
            for field, path in res.references.items()
            if path in made
        }
        made[res.path] = records.create(res.path, **owned, **named)
        pending.remove(res)
    return made


@pytest.mark.parametrize("who", BROWSERS)
@pytest.mark.parametrize("path", sorted(REGISTRY))
def test_lists_and_details_show_names_not_ids(
    request: pytest.FixtureRequest, world: dict[str, dict], who: str, path: str
) -> None:
    browser: httpx.Client = request.getfixturevalue(who)
    listed = browser.get(f"/{path}")
    if listed.status_code == 403:  # demo may not list it at all
        return
    assert_no_bare_ids(browser, f"/{path}")
    record = world[path]
    if browser.get(f"/{path}/{record['id']}").status_code != 200:
        return
    text = assert_no_bare_ids(browser, f"/{path}/{record['id']}")
    fields = text.split("History")[0]  # the audit log's changes name the fields they change
    for column in reference_targets(REGISTRY[path]):
        assert column not in fields


def test_references_are_titled_and_linked(
    world: dict[str, dict], admin_browser: httpx.Client
) -> None:
    task = world["tasks"]
    shown = page(admin_browser, f"/tasks/{task['id']}")
    links = {a.text().strip(): a.attrs.get("href", "") for a in shown.root.find_all("a")}
    project = world["projects"]
    assert links[project["name"]].endswith(f"/projects/{project['id']}")
    assert links["demo"].endswith(f"/users/{world['users']['id']}")
    assert links["demo-team"].endswith(f"/groups/{world['groups']['id']}")
    fields = {dt.text().strip() for dt in shown.root.find_all("dt")}
    assert {"Project", "Assignee", "Owner", "Group", "Tags"} <= fields
    listed = page(admin_browser, "/tasks")
    assert project["name"] in main_text(listed.root)
    row = next(r for r in listed.root.find_all("tr") if task["title"] in r.text())
    cells = {a.text(): a.attrs["href"] for a in row.find_all("a")}
    assert cells[world["tags"]["name"]].endswith(f"/tags/{world['tags']['id']}")  # its tags
    assert cells["demo"].endswith(f"/users/{world['users']['id']}")  # its assignee
    headings = [th.text().strip() for th in listed.root.find_all("th")]
    assert "Assignee" in headings and "Tags" in headings
    sessions = page(admin_browser, "/sessions")
    headings = [th.text().strip() for th in sessions.root.find_all("th")]
    assert "User" in headings and "User id" not in headings
    assert "admin" in main_text(sessions.root)


def test_enumerations_show_labels(world: dict[str, dict], admin_browser: httpx.Client) -> None:
    admin_browser.get("/")  # signed in
    text = main_text(page(admin_browser, f"/tasks/{world['tasks']['id']}").root)
    status = world["tasks"]["status"]
    assert status.replace("_", " ").capitalize() in text


def test_a_reference_the_viewer_may_not_read_is_hidden(
    records: Records, admin: httpx.Client, demo_browser: httpx.Client
) -> None:
    """demo owns a task in a project of admin's they may not read: "hidden", not its id."""
    demo = admin.get("/users", params={"q": "demo"}).json()["items"][0]
    secret = records.create("projects", name="Secret project")
    task = records.create(
        "tasks", project_id=secret["id"], owner_user_id=demo["id"], title="Mine in a secret"
    )
    assert demo_browser.get(f"/projects/{secret['id']}").status_code in (403, 404)
    text = assert_no_bare_ids(demo_browser, f"/tasks/{task['id']}")
    assert "Secret project" not in text
    assert "hidden" in text
    listed = assert_no_bare_ids(demo_browser, "/tasks")
    assert "Mine in a secret" in listed and "Secret project" not in listed
