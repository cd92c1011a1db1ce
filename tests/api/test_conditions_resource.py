"""Conditions as a resource, and the condition a permission may carry: their CRUD (admin's,
nobody else's by default), what a write of one must be (a word for a name, unique per
model; a permission model; an expression the checker accepts), a permission's condition of
its own model, names with the condition in brackets wherever a permission is named, the
permission's uniqueness with its condition, and a condition in use kept (409 naming its
permissions) until no permission carries it."""

from typing import Any

import httpx
import pytest

from tests.support.callers import Callers

pytestmark = pytest.mark.no_server_errors

OPEN = 'record.status != "done"'


def condition(admin: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Create a condition (`open` over tasks unless `fields` say otherwise) as admin."""
    body = {"name": "open", "model": "task", "expression": OPEN} | fields
    response = admin.post("/conditions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def permission(admin: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Create a permission (`task:update:own` unless `fields` say otherwise) as admin."""
    body = {"model": "task", "action": "update", "scope": "own"} | fields
    response = admin.post("/permissions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def refused_at(response: httpx.Response, field: str, *words: str) -> str:
    """Check a 422 at `field` whose message says each of `words`; return the message."""
    assert response.status_code == 422, response.text
    [error] = [e for e in response.json()["detail"] if e["loc"] == ["body", field]]
    for word in words:
        assert word in error["msg"], (word, error["msg"])
    return str(error["msg"])


def test_admin_creates_reads_lists_updates_and_deletes_a_condition(admin: httpx.Client) -> None:
    made = condition(admin, description="tasks not done yet")
    assert {key: made[key] for key in ("name", "model", "expression", "description")} == {
        "name": "open",
        "model": "task",
        "expression": OPEN,
        "description": "tasks not done yet",
    }
    assert made["owner_user_id"] == admin.get("/auth/me").json()["id"]
    url = f"/conditions/{made['id']}"
    assert admin.get(url).json() == made
    listed = admin.get("/conditions", params={"model": "task", "q": "open"}).json()
    assert [item["id"] for item in listed["items"]] == [made["id"]]
    changed = admin.put(url, json={"expression": 'record.status == "todo"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["expression"] == 'record.status == "todo"'
    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404


def test_a_plain_user_may_not_read_or_write_conditions(
    admin: httpx.Client, demo: httpx.Client
) -> None:
    made = condition(admin)
    assert demo.get("/conditions").status_code == 403
    body = {"name": "mine", "model": "task", "expression": OPEN}
    assert demo.post("/conditions", json=body).status_code == 403
    assert demo.put(f"/conditions/{made['id']}", json={"description": "x"}).status_code == 404
    assert demo.delete(f"/conditions/{made['id']}").status_code == 404


@pytest.mark.parametrize("name", ["Open", "1st", "not done", "open-ish", "", "x" * 51])
def test_a_name_is_a_word(admin: httpx.Client, name: str) -> None:
    response = admin.post("/conditions", json={"name": name, "model": "task", "expression": OPEN})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


def test_a_name_is_unique_per_model(admin: httpx.Client) -> None:
    condition(admin)
    again = admin.post("/conditions", json={"name": "open", "model": "task", "expression": OPEN})
    assert again.status_code == 409, again.text
    assert "already exists" in again.json()["detail"]
    other = condition(admin, model="project", expression='record.status != "completed"')
    assert other["name"] == "open"


def test_an_expression_has_at_most_2000_characters(admin: httpx.Client) -> None:
    longest = " or ".join([OPEN] * 90)[:2000]
    body = {"name": "long", "model": "task", "expression": longest + " "}
    refused_at(admin.post("/conditions", json=body), "expression", "at most 2000 characters")
    assert admin.get("/conditions").json()["total"] == 0


def test_an_unknown_column_is_refused_naming_it_and_where(admin: httpx.Client) -> None:
    body = {"name": "typo", "model": "task", "expression": 'record.statuz != "done"'}
    refused_at(admin.post("/conditions", json=body), "expression", "statuz", "7")
    made = condition(admin)
    update = admin.put(f"/conditions/{made['id']}", json={"expression": "record.nope == 1"})
    refused_at(update, "expression", "nope", "7")
    assert admin.get(f"/conditions/{made['id']}").json() == made


def test_the_model_is_a_permission_model(admin: httpx.Client) -> None:
    body = {"name": "open", "model": "invoice", "expression": OPEN}
    refused_at(admin.post("/conditions", json=body), "model", "task", "time_entry", "condition")
    made = condition(admin)
    moved = admin.put(f"/conditions/{made['id']}", json={"model": "nothing"})
    refused_at(moved, "model", "task")


def test_a_changed_model_checks_the_expression_again(admin: httpx.Client) -> None:
    made = condition(admin)
    # Customers have no status: the expression over tasks is no condition over customers.
    moved = admin.put(f"/conditions/{made['id']}", json={"model": "customer"})
    refused_at(moved, "expression", "status")
    projects = admin.put(f"/conditions/{made['id']}", json={"model": "project"})
    assert projects.status_code == 200, projects.text


def test_a_permission_carries_a_condition_of_its_own_model(admin: httpx.Client) -> None:
    of_projects = condition(admin, model="project", expression='record.status != "completed"')
    refused = admin.post(
        "/permissions",
        json={
            "model": "task",
            "action": "update",
            "scope": "own",
            "condition_id": of_projects["id"],
        },
    )
    refused_at(refused, "condition_id", "task", "project", "open")
    missing = admin.post(
        "/permissions",
        json={"model": "task", "action": "update", "scope": "own", "condition_id": 999999},
    )
    refused_at(missing, "condition_id", "choose a condition")
    made = permission(admin, model="project", condition_id=of_projects["id"])
    assert made["name"] == "project:update:own[open]"
    moved = admin.put(f"/permissions/{made['id']}", json={"model": "task"})
    refused_at(moved, "condition_id", "task", "project")


def test_a_condition_s_model_stays_while_permissions_carry_it(admin: httpx.Client) -> None:
    made = condition(admin)
    permission(admin, condition_id=made["id"])
    moved = admin.put(
        f"/conditions/{made['id']}",
        json={"model": "project", "expression": 'record.status != "completed"'},
    )
    refused_at(moved, "model", "task:update:own[open]")


def test_a_permission_is_named_with_its_condition_everywhere(
    admin: httpx.Client, callers: Callers
) -> None:
    made = condition(admin)
    perm = permission(admin, condition_id=made["id"], action="delete")
    assert (perm["condition_id"], perm["condition"], perm["name"]) == (
        made["id"],
        "open",
        "task:delete:own[open]",
    )
    assert admin.get(f"/permissions/{perm['id']}").json() == perm
    listed = admin.get("/permissions", params={"condition_id": made["id"]}).json()["items"]
    assert [item["name"] for item in listed] == ["task:delete:own[open]"]
    plain = admin.get("/permissions", params={"model": "task", "action": "delete"}).json()
    assert {item["name"] for item in plain["items"]} == {
        "task:delete:all",
        "task:delete:own",
        "task:delete:group",
        "task:delete:own[open]",
    }
    role = admin.post("/roles", json={"name": "closer", "permission_ids": [perm["id"]]})
    assert role.status_code == 201, role.text
    assert role.json()["permissions"] == ["task:delete:own[open]"]
    me, client = callers("task:read:own")
    given = admin.put(f"/users/{me['id']}", json={"role_ids": [*me["role_ids"], role.json()["id"]]})
    assert given.status_code == 200, given.text
    assert client.get("/auth/me").json()["permissions"] == [
        "task:delete:own[open]",
        "task:read:own",
    ]
    csv = admin.get("/permissions", params={"condition_id": made["id"], "format": "csv"})
    assert csv.status_code == 200 and "task:delete:own[open]" in csv.text
    audit = admin.get("/audit", params={"resource": "permissions", "record_id": perm["id"]})
    assert {entry["title"] for entry in audit.json()["items"]} == {"task:delete:own[open]"}


def test_a_permission_is_unique_with_its_condition(admin: httpx.Client) -> None:
    twin = admin.post("/permissions", json={"model": "task", "action": "read", "scope": "own"})
    assert twin.status_code == 409, twin.text  # two without a condition
    assert "model, action, scope, condition_id already exists" in twin.json()["detail"]
    made = condition(admin)
    first = permission(admin, action="read", condition_id=made["id"])
    assert first["name"] == "task:read:own[open]"
    again = admin.post(
        "/permissions",
        json={"model": "task", "action": "read", "scope": "own", "condition_id": made["id"]},
    )
    assert again.status_code == 409, again.text
    unconditioned = admin.put(f"/permissions/{first['id']}", json={"condition_id": None})
    assert unconditioned.status_code == 409, unconditioned.text  # task:read:own exists
    other = condition(admin, name="late", expression="record.due_at < now")
    moved = admin.put(f"/permissions/{first['id']}", json={"condition_id": other["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["name"] == "task:read:own[late]"


def test_a_condition_in_use_is_kept_until_no_permission_carries_it(admin: httpx.Client) -> None:
    made = condition(admin)
    updates = permission(admin, action="update", condition_id=made["id"])
    deletes = permission(admin, action="delete", condition_id=made["id"])
    refused = admin.delete(f"/conditions/{made['id']}")
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "Condition “task:open” cannot be deleted" in detail
    assert "2 permissions still refer to it" in detail
    assert "task:update:own[open]" in detail and "task:delete:own[open]" in detail
    assert admin.get(f"/conditions/{made['id']}").status_code == 200
    other = condition(admin, name="late", expression="record.due_at < now")
    moved = admin.put(f"/permissions/{updates['id']}", json={"condition_id": other["id"]})
    assert moved.status_code == 200, moved.text
    detail = admin.delete(f"/conditions/{made['id']}").json()["detail"]
    assert "1 permission still refers to it (task:delete:own[open])" in detail
    assert admin.delete(f"/permissions/{deletes['id']}").status_code == 204
    assert admin.delete(f"/conditions/{made['id']}").status_code == 204


def test_a_condition_on_what_managing_takes_is_refused_when_nobody_else_manages(
    admin: httpx.Client,
) -> None:
    """Managing users and roles takes `permission:read:all` without a condition: narrowing
    the only one held would leave nobody able to (409), as deleting it would."""
    made = condition(admin, model="permission", expression='record.model == "task"')
    params = {"model": "permission", "action": "read", "scope": "all"}
    [read_all] = admin.get("/permissions", params=params).json()["items"]
    narrowed = admin.put(f"/permissions/{read_all['id']}", json={"condition_id": made["id"]})
    assert narrowed.status_code == 409, narrowed.text
    assert "could manage users and roles" in narrowed.json()["detail"]
    assert admin.get(f"/permissions/{read_all['id']}").json() == read_all
