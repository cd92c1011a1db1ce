"""Forms as a user of limited scope: what demo may not read or change is refused at the field.

A record demo cannot read is never offered and, named anyway, is a field error (422) on
creating and on editing; demo edits its own account's email, name and password only.
"""

from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import Bad, follow_flash, page, submit, try_bad_inputs, with_bad
from tests.support.factories import unique
from tests.support.records import Records

# resource path, field, the resource the field names (made admin-only for the test)
HIDDEN_REFERENCES = [
    ("projects", "customer_id", "customers"),
    ("tasks", "project_id", "projects"),
    ("tasks", "assignee_id", "users"),
    ("comments", "task_id", "tasks"),
    ("time_entries", "task_id", "tasks"),
    ("time_entries", "user_id", "users"),
    ("customers", "owner_group_id", "groups"),
    ("tasks", "owner_group_id", "groups"),
]


@pytest.mark.parametrize(("path", "field", "target"), HIDDEN_REFERENCES)
def test_a_record_the_caller_cannot_read_is_a_field_error(
    path: str,
    field: str,
    target: str,
    demo_browser: Browser,
    demo: httpx.Client,
    records: Records,
    live: Backend,
) -> None:
    """Name a record demo cannot read, creating and editing: 422 at the field, never offered."""
    hidden = records.create(target)["id"]
    assert demo.get(f"/{target}/{hidden}").status_code == 404
    record = own_record(path, demo)
    for url, form_url in ((f"/{path}", f"/{path}/new"), (f"/{path}/{record['id']}", None)):
        form = page(demo_browser, form_url or f"{url}/edit").form(url)
        data = form.data()
        if form_url is not None:
            data |= {name: [value] for name, value in fill_demo(path, demo).items()}
        assert str(hidden) not in {value for value, _ in form.control(field).options()}
        case = Bad(field, str(hidden), "a record the caller cannot read")
        try_bad_inputs(demo_browser, live, url, data, [case], path)
        shown = Page(submit(demo_browser, url, with_bad(data, case, path), data["csrf_token"][0]))
        offered = {value for value, _ in shown.form(url).control(field).options()}
        assert str(hidden) not in offered, url


def own_record(path: str, demo: httpx.Client) -> dict[str, Any]:
    """Create a record of `path` as demo, through the API."""
    response = demo.post(f"/{path}", json={k: _json(v) for k, v in fill_demo(path, demo).items()})
    assert response.status_code == 201, response.text
    return response.json()


def _json(value: str) -> Any:
    return int(value) if value.isdigit() else value


def fill_demo(path: str, demo: httpx.Client) -> dict[str, str]:
    """Return valid required fields for a record demo creates, parents demo's own."""
    name = unique("demo")
    if path == "customers":
        return {"name": name}
    if path == "projects":
        return {"name": name}
    project = demo.post("/projects", json={"name": name}).json()
    if path == "tasks":
        return {"title": name, "project_id": str(project["id"])}
    task = demo.post("/tasks", json={"title": name, "project_id": project["id"]}).json()
    if path == "comments":
        return {"body": name, "task_id": str(task["id"])}
    return {"task_id": str(task["id"]), "spent_on": "2024-05-06", "minutes": "30"}


def test_demo_edits_own_account_but_not_privileged_fields(
    demo_browser: Browser, demo: httpx.Client, live: Backend
) -> None:
    """Let demo edit only email, name, password and time zone; ignore smuggled privileged fields."""
    me = demo.get("/auth/me").json()
    url = f"/users/{me['id']}"
    form = page(demo_browser, f"{url}/edit").form(url)
    assert set(form.names()) == {
        "csrf_token",
        "email",
        "full_name",
        "current_password",
        "password",
        "time_zone",
    }
    data = form.data()
    cases = [
        Bad("email", "not-an-email", "malformed email"),
        Bad("email", "admin@example.com", "email taken"),
        Bad("password", "short", "password too short"),
        Bad("full_name", "x" * 201, "too long"),
    ]
    try_bad_inputs(demo_browser, live, url, data, cases, "users")
    smuggled = data | {
        "full_name": ["Demo Person"],
        "role_ids": ["1"],
        "group_ids": ["1"],
        "is_active": [],
        "username": ["root"],
    }
    response = submit(demo_browser, url, smuggled, data["csrf_token"][0])
    follow_flash(demo_browser, response, "saved.")
    after = demo.get("/auth/me").json()
    assert after["full_name"] == "Demo Person"
    assert (after["username"], after["roles"], after["groups"], after["is_active"]) == (
        me["username"],
        me["roles"],
        me["groups"],
        me["is_active"],
    )
