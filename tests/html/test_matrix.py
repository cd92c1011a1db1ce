"""The role page's permission matrix: it saves the grid and leaves alone what the grid omits."""

from collections.abc import Callable

import httpx

from tests.html.conftest import Browser
from tests.html.site import csrf_token, follow_flash, location, submit


def permission_id(admin: httpx.Client, name: str) -> int:
    """Return the id of the permission `model:action:scope`."""
    model, action, scope = name.split(":")
    query = {"model": model, "action": action, "scope": scope}
    (found,) = admin.get("/permissions", params=query).json()["items"]
    return found["id"]


def save_matrix(browser: Browser, role_id: int, grant: list[str]) -> httpx.Response:
    """Submit the role page's matrix with `grant` checked, as the page does."""
    token = csrf_token(browser, f"/roles/{role_id}")
    return submit(browser, f"/roles/{role_id}/permissions", {"grant": grant}, token)


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

    response = save_matrix(browser, target["id"], ["customer:read:all"])

    assert response.status_code == 303
    follow_flash(browser, response, "You may grant only permissions you can read.")
    assert admin.get(f"/roles/{target['id']}").json()["permissions"] == []
