"""The pages of conditions, and of the permissions that carry them: the list, the new and edit
forms (a refused expression or model said at its field), a permission's condition picked by
name and shown in its title, and a condition in use kept with a 409 page naming the
permissions (a single delete and a bulk one alike)."""

from typing import Any

import httpx

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import (
    assert_html,
    csrf_token,
    dump,
    follow_flash,
    location,
    page,
    submit,
)
from tests.html.test_matrix import save_matrix

OPEN = 'record.status != "done"'


def condition(admin: httpx.Client) -> dict[str, Any]:
    body = {"name": "open", "model": "task", "expression": OPEN}
    response = admin.post("/conditions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_list_and_the_new_form(admin_browser: Browser, admin: httpx.Client) -> None:
    made = condition(admin)
    listed = page(admin_browser, "/conditions")
    assert "open" in listed.root.text() and OPEN in listed.root.text()
    assert "/conditions" in listed.nav_paths()
    form = page(admin_browser, "/conditions/new").form()
    assert {"name", "model", "expression", "description"} <= set(form.names())
    data = form.data() | {
        "name": ["late"],
        "model": ["task"],
        "expression": ["record.due_at < now"],
    }
    created = submit(admin_browser, "/conditions", data, data["csrf_token"][0])
    shown = follow_flash(admin_browser, created, "Condition “task:late” created.")
    assert "record.due_at < now" in shown.root.text()
    assert location(created) != f"/conditions/{made['id']}"


def test_a_refused_expression_and_model_are_said_at_their_fields(
    admin_browser: Browser, admin: httpx.Client, live: Backend
) -> None:
    made = condition(admin)
    before = dump(live.settings)
    for shown, action in (
        ("/conditions/new", "/conditions"),
        (f"/conditions/{made['id']}/edit", f"/conditions/{made['id']}"),
    ):
        form = page(admin_browser, shown).form()
        for field, value, words in (
            ("expression", "record.statuz == 1", "unknown column `statuz` of task at 7"),
            ("model", "invoice", "a permission model, one of:"),
        ):
            valid = {"name": ["typo"], "model": ["task"], "expression": [OPEN]}
            data = form.data() | valid | {field: [value]}
            response = submit(admin_browser, action, data, data["csrf_token"][0])
            assert_html(response, 422)
            errors = Page(response).errors()
            assert words in errors.get(field, ""), (action, field, errors)
    assert dump(live.settings) == before


def test_the_edit_form_saves(admin_browser: Browser, admin: httpx.Client) -> None:
    made = condition(admin)
    edit = f"/conditions/{made['id']}/edit"
    data = page(admin_browser, edit).form().data() | {"description": ["not done yet"]}
    saved = submit(admin_browser, f"/conditions/{made['id']}", data, data["csrf_token"][0])
    assert location(saved) == f"/conditions/{made['id']}"
    assert admin.get(f"/conditions/{made['id']}").json()["description"] == "not done yet"


def test_a_permission_s_condition_is_picked_by_name_and_titled(
    admin_browser: Browser, admin: httpx.Client
) -> None:
    made = condition(admin)
    form = page(admin_browser, "/permissions/new").form()
    assert (str(made["id"]), "task:open") in form.control("condition_id").options()
    data = form.data() | {
        "model": ["task"],
        "action": ["delete"],
        "scope": ["own"],
        "condition_id": [str(made["id"])],
    }
    created = submit(admin_browser, "/permissions", data, data["csrf_token"][0])
    shown = follow_flash(admin_browser, created, "Permission “task:delete:own[open]” created.")
    assert shown.heading == "Permission: task:delete:own[open]"
    listed = page(admin_browser, f"/permissions?condition_id={made['id']}")
    assert "task:delete:own[open]" in listed.root.text()


def test_a_condition_in_use_is_kept_with_a_409_page(
    admin_browser: Browser, admin: httpx.Client, live: Backend
) -> None:
    made = condition(admin)
    body = {"model": "task", "action": "update", "scope": "own", "condition_id": made["id"]}
    assert admin.post("/permissions", json=body).status_code == 201
    url = f"/conditions/{made['id']}"
    before = dump(live.settings)
    for method, action in (("POST", f"{url}/delete"), ("DELETE", url)):
        confirmed = {"confirm": "1"} if method == "POST" else {}
        response = submit(admin_browser, action, confirmed, csrf_token(admin_browser), method)
        assert_html(response, 409)
        assert "cannot be deleted" in response.text and "task:update:own[open]" in response.text
    data = {"ids": [str(made["id"])], "confirm": "1"}
    done = submit(admin_browser, "/conditions/bulk-delete", data, csrf_token(admin_browser))
    follow_flash(admin_browser, done, "1 could not be deleted")
    assert dump(live.settings) == before
    assert admin.get(url).status_code == 200


def test_the_role_matrix_shows_adds_and_removes_permissions_with_a_condition(
    admin_browser: Browser, admin: httpx.Client
) -> None:
    """Beside the grid, the role's permissions with a condition, each kept while its box is
    checked; one is added by picking a grid permission and a condition (made when missing);
    the preview counts and names them."""
    made = condition(admin)
    body = {"model": "task", "action": "update", "scope": "own", "condition_id": made["id"]}
    perm = admin.post("/permissions", json=body).json()
    role = admin.post("/roles", json={"name": "closers", "permission_ids": [perm["id"]]}).json()
    shown = page(admin_browser, f"/roles/{role['id']}")
    box = shown.root.find("input", value="task:update:own[open]")
    assert box is not None and "checked" in box.attrs
    picker = shown.root.find("select", name="add_condition")
    assert picker is not None and "task:open" in picker.text()
    # The page's form as it stands keeps it, beside a grid box checked.
    saved = save_matrix(admin_browser, role["id"], ["task:read:own", "task:update:own[open]"])
    assert location(saved) == f"/roles/{role['id']}"
    assert admin.get(f"/roles/{role['id']}").json()["permissions"] == [
        "task:read:own",
        "task:update:own[open]",
    ]
    # Add task:delete:own[open] (no such permission yet: made), the preview counting it.
    token = csrf_token(admin_browser, f"/roles/{role['id']}")
    data = {
        "grant": ["task:read:own", "task:update:own[open]"],
        "add_grant": ["task:delete:own"],
        "add_condition": [str(made["id"])],
    }
    preview = submit(admin_browser, f"/roles/{role['id']}/permissions", data, token)
    assert_html(preview, 200)
    assert "With these 3 permissions checked" in Page(preview).root.text()
    form = Page(preview).form()
    assert "task:delete:own[open]" in form.data()["grant"]
    confirmed = submit(admin_browser, form.action, form.data(), form.data()["csrf_token"][0])
    assert location(confirmed) == f"/roles/{role['id']}"
    held = sorted(admin.get(f"/roles/{role['id']}").json()["permissions"])
    assert held == ["task:delete:own[open]", "task:read:own", "task:update:own[open]"]
    # Unchecked, it goes.
    save_matrix(admin_browser, role["id"], ["task:read:own", "task:delete:own[open]"])
    held = sorted(admin.get(f"/roles/{role['id']}").json()["permissions"])
    assert held == ["task:delete:own[open]", "task:read:own"]
    # A condition of another model, or none at all, is refused in words.
    bad = {"grant": ["task:read:own"], "add_grant": ["project:read:all"]}
    for add_condition in ([str(made["id"])], ["99999999999999"], ["x"]):
        token = csrf_token(admin_browser, f"/roles/{role['id']}")
        refused = submit(
            admin_browser,
            f"/roles/{role['id']}/permissions",
            bad | {"add_condition": add_condition},
            token,
        )
        assert location(refused) == f"/roles/{role['id']}", refused.text[:200]
    assert sorted(admin.get(f"/roles/{role['id']}").json()["permissions"]) == held
