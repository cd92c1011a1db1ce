"""The role page's permission matrix: a preview of who gains and loses what (nothing
written), then the confirmed save, which leaves alone what the grid omits."""

from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import assert_html, csrf_token, dump, follow_flash, location, submit
from tests.support.callers import Callers
from tests.support.factories import UserFactory

PASSWORD = "tidal-parsnip-42"  # what UserFactory gives the users it makes


def permission_id(admin: httpx.Client, name: str) -> int:
    """Return the id of the permission `model:action:scope`."""
    model, action, scope = name.split(":")
    query = {"model": model, "action": action, "scope": scope}
    (found,) = admin.get("/permissions", params=query).json()["items"]
    return found["id"]


def preview_matrix(browser: Browser, role_id: int, grant: list[str]) -> httpx.Response:
    """Submit the role page's matrix with `grant` checked ("Save permissions")."""
    token = csrf_token(browser, f"/roles/{role_id}")
    return submit(browser, f"/roles/{role_id}/permissions", {"grant": grant}, token)


def confirm(browser: Browser, preview: httpx.Response) -> httpx.Response:
    """Submit the preview page's form as it stands ("Confirm and save")."""
    assert_html(preview, 200)
    form = Page(preview).form()
    data = form.data()
    return submit(browser, form.action, data, data["csrf_token"][0])


def save_matrix(browser: Browser, role_id: int, grant: list[str]) -> httpx.Response:
    """Save the role page's matrix with `grant` checked: preview, then confirm."""
    return confirm(browser, preview_matrix(browser, role_id, grant))


def changes(preview: httpx.Response) -> dict[str, tuple[list[str], list[str]]]:
    """Return the preview's table: the permissions each user gains and loses, by username."""
    table = Page(preview).root.find("table", class_="changes")
    rows = table.find_all("tr")[1:] if table is not None else []  # after the header row
    found = {}
    for row in rows:
        user, gains, loses = (cell for cell in row.find_all() if cell.tag in ("th", "td"))
        names = [[code.text() for code in cell.find_all("code")] for cell in (gains, loses)]
        found[user.text()] = (names[0], names[1])
    return found


def make_role(admin: httpx.Client, name: str, *grants: str) -> dict[str, Any]:
    """Create a role holding the permissions named `grants`, through the API."""
    ids = [permission_id(admin, grant) for grant in grants]
    response = admin.post("/roles", json={"name": name, "permission_ids": ids})
    assert response.status_code == 201, response.text
    return response.json()


def test_saving_first_shows_who_gains_and_loses_and_writes_nothing(
    admin: httpx.Client, admin_browser: Browser, make_user: UserFactory, live: Backend
) -> None:
    """The preview names each member's gains and losses (not what another role still
    gives); only its "Confirm and save" writes, the grants it carries."""
    role = make_role(admin, "deleters", "task:delete:own", "customer:read:own")
    make_role(admin, "readers", "customer:read:own")
    alone, _ = make_user(roles=("deleters",))
    both, _ = make_user(roles=("deleters", "readers"))
    make_user(roles=("readers",))  # not a member: not listed
    before = dump(live.settings)

    preview = preview_matrix(admin_browser, role["id"], ["task:delete:all"])

    assert_html(preview, 200)
    assert changes(preview) == {
        alone["username"]: (["task:delete:all"], ["customer:read:own", "task:delete:own"]),
        both["username"]: (["task:delete:all"], ["task:delete:own"]),
    }
    assert dump(live.settings) == before, "the preview wrote"
    shown = Page(preview)
    form = shown.form(f"/roles/{role['id']}/permissions")
    assert form.data()["grant"] == ["task:delete:all"]
    assert form.data()["confirm"] == ["1"]
    back = shown.root.find("a", href=f"/roles/{role['id']}")
    assert back is not None and "Back to the role" in back.text()
    assert [button.text() for button in form.element.find_all("button")] == ["Confirm and save"]

    saved = confirm(admin_browser, preview)

    assert location(saved) == f"/roles/{role['id']}"
    follow_flash(admin_browser, saved, "Permissions saved.")
    assert admin.get(f"/roles/{role['id']}").json()["permissions"] == ["task:delete:all"]


def test_a_change_no_user_feels_says_so(admin: httpx.Client, admin_browser: Browser) -> None:
    """A role nobody holds: the preview says no user's permissions change."""
    role = make_role(admin, "unheld", "tag:read:own")
    preview = preview_matrix(admin_browser, role["id"], ["tag:read:all"])
    assert_html(preview, 200)
    assert changes(preview) == {}
    assert "No user's permissions change." in preview.text
    assert admin.get(f"/roles/{role['id']}").json()["permissions"] == ["tag:read:own"]


def test_saving_keeps_grants_of_models_the_grid_does_not_show(
    admin: httpx.Client, admin_browser: Browser
) -> None:
    """A grant of a model outside the registry (forecast) survives a save; grid boxes follow."""
    custom = {"model": "forecast", "action": "read", "scope": "own"}
    forecast = admin.post("/permissions", json=custom)
    assert forecast.status_code == 201, forecast.text
    held = [forecast.json()["id"], permission_id(admin, "tag:read:all")]
    role = admin.post("/roles", json={"name": "billing", "permission_ids": held}).json()

    response = save_matrix(admin_browser, role["id"], ["customer:read:all", "task:update:own"])

    assert location(response) == f"/roles/{role['id']}"
    saved = admin.get(f"/roles/{role['id']}").json()["permissions"]
    assert sorted(saved) == ["customer:read:all", "forecast:read:own", "task:update:own"]


def test_granting_permissions_the_editor_cannot_read_is_refused_with_a_message(
    admin: httpx.Client, signed_in: Callable[[str, str], Browser]
) -> None:
    """An editor of roles who may read no permission gets the role page back, role unchanged."""
    editor_perms = [permission_id(admin, "role:read:all"), permission_id(admin, "role:update:all")]
    editor_role = admin.post("/roles", json={"name": "role-editor", "permission_ids": editor_perms})
    user = {"username": "editor", "email": "editor@example.com", "password": "editor-pass-1"}
    made = admin.post("/users", json=user | {"role_ids": [editor_role.json()["id"]]})
    assert made.status_code == 201, made.text
    target = admin.post("/roles", json={"name": "target"}).json()
    browser = signed_in("editor", "editor-pass-1")

    for data in ({}, {"confirm": "1"}):  # the preview and the save alike
        token = csrf_token(browser, f"/roles/{target['id']}")
        sent = {"grant": ["customer:read:all"], **data}
        response = submit(browser, f"/roles/{target['id']}/permissions", sent, token)
        assert response.status_code == 303
        follow_flash(browser, response, "You may grant only permissions you can read.")
    assert admin.get(f"/roles/{target['id']}").json()["permissions"] == []


def test_preview_and_save_are_refused_alike(
    admin_browser: Browser, demo_browser: Browser, make_user: UserFactory
) -> None:
    """Emptying the only admin's role: 409; a role the caller may not update: 403."""
    admin_role = make_user.role_id("admin")
    refusals = ((admin_browser, admin_role, 409), (demo_browser, make_user.role_id("user"), 403))
    for browser, role_id, status in refusals:
        for data in ({}, {"confirm": "1"}):
            token = csrf_token(browser)
            sent = {"grant": ["tag:read:all"], **data}
            response = submit(browser, f"/roles/{role_id}/permissions", sent, token)
            assert_html(response, status)
    shown = Page(admin_browser.get(f"/roles/{admin_role}"))
    box = shown.root.find("input", value="user:update:all")
    assert box is not None and "checked" in box.attrs  # still granted


ROLE_EDITOR = ("role:read:all", "role:update:all", "permission:read:all")


def test_the_preview_counts_the_members_the_editor_may_not_read(
    callers: Callers, make_user: UserFactory, signed_in: Callable[[str, str], Browser]
) -> None:
    me, _ = callers(*ROLE_EDITOR)
    browser = signed_in(me["username"], PASSWORD)
    preview = preview_matrix(browser, make_user.role_id("user"), [])
    assert_html(preview, 200)
    shown = Page(preview)
    assert changes(preview) == {}
    assert "you cannot see" in shown.root.find("p", class_="hidden-changes").text()  # type: ignore[union-attr]
    assert "demo" not in shown.root.find("main").text()  # type: ignore[union-attr]


def test_the_matrix_grants_only_what_the_editor_holds(
    admin: httpx.Client,
    callers: Callers,
    signed_in: Callable[[str, str], Browser],
    live: Backend,
) -> None:
    """A role editor checking every box of their own role: 403 naming what they do not hold,
    at the preview and the save alike; nothing written."""
    me, _ = callers(*ROLE_EDITOR)
    [role_id] = me["role_ids"]
    browser = signed_in(me["username"], PASSWORD)
    everything = [
        item["name"] for item in admin.get("/permissions", params={"limit": 200}).json()["items"]
    ]
    before = dump(live.settings)
    for data in ({}, {"confirm": "1"}):
        token = csrf_token(browser, f"/roles/{role_id}")
        sent = {"grant": everything, **data}
        response = submit(browser, f"/roles/{role_id}/permissions", sent, token)
        assert_html(response, 403)
        text = Page(response).root.text()
        assert "you may grant only what you hold" in text and "user:update:all" in text
    assert dump(live.settings) == before
