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
    shown = follow_flash(admin_browser, created, "Condition “late” created.")
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
    assert (str(made["id"]), "open") in form.control("condition_id").options()
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


def test_the_role_matrix_keeps_a_permission_with_a_condition(
    admin_browser: Browser, admin: httpx.Client
) -> None:
    """The grid shows permissions without a condition: saving it leaves the others alone."""
    made = condition(admin)
    body = {"model": "task", "action": "update", "scope": "own", "condition_id": made["id"]}
    perm = admin.post("/permissions", json=body).json()
    role = admin.post("/roles", json={"name": "closers", "permission_ids": [perm["id"]]}).json()
    shown = page(admin_browser, f"/roles/{role['id']}")
    assert "task:update:own[open]" in shown.root.text()
    saved = save_matrix(admin_browser, role["id"], ["task:read:own"])
    assert location(saved) == f"/roles/{role['id']}"
    assert admin.get(f"/roles/{role['id']}").json()["permissions"] == [
        "task:read:own",
        "task:update:own[open]",
    ]
