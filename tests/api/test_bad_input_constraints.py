"""What the database guards: ids and references in bodies, uniqueness, check constraints.

Every answer is a 4xx with a reason, never a 500: every client in this module fails the test
on any 5xx (the `no_server_errors` marker), so each case checks both the status it expects
and that nothing on the way crashed.
"""

from typing import Any

import httpx
import pytest

from tests.support.checks import assert_422_naming
from tests.support.records import CREATABLE, Records

pytestmark = pytest.mark.no_server_errors

# A reference field of each resource that names another table's rows.
REFERENCE: dict[str, tuple[str, Any]] = {
    "users": ("role_ids", [999_999]),
    "roles": ("permission_ids", [999_999]),
    "permissions": ("owner_group_id", 999_999),
    "groups": ("member_ids", [999_999]),
    "customers": ("owner_group_id", 999_999),
    "projects": ("customer_id", 999_999),
    "tasks": ("project_id", 999_999),
    "tags": ("owner_group_id", 999_999),
    "comments": ("task_id", 999_999),
    "time_entries": ("task_id", 999_999),
}


# Ids in the body


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("tasks", "project_id", 2**40),
        ("tasks", "project_id", 2**31),
        ("tasks", "project_id", 0),
        ("tasks", "project_id", -1),
        ("tasks", "assignee_id", 2**63),
        ("tasks", "tag_ids", [2**40]),
        ("tasks", "tag_ids", [0]),
        ("projects", "customer_id", 2**64),
        ("comments", "task_id", 10**30),
        ("time_entries", "user_id", -(2**31)),
        ("users", "role_ids", [2**31]),
        ("roles", "permission_ids", [-5]),
        ("groups", "member_ids", [2**40]),
        ("customers", "owner_user_id", 2**40),
        ("customers", "owner_group_id", 2**40),
    ],
)
def test_out_of_range_ids_in_body(
    admin: httpx.Client, records: Records, path: str, field: str, value: Any
) -> None:
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: value}), field)


@pytest.mark.parametrize("path", CREATABLE)
def test_reference_to_missing_row(admin: httpx.Client, records: Records, path: str) -> None:
    field, value = REFERENCE.get(path, ("owner_group_id", 999_999))
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: value}), field)
    record = records.create(path)
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: value}), field)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("tasks", "assignee_id"),
        ("time_entries", "user_id"),
        ("customers", "owner_user_id"),
        ("tasks", "owner_group_id"),
        ("comments", "owner_group_id"),
    ],
)
def test_other_references_to_missing_rows(
    admin: httpx.Client, records: Records, path: str, field: str
) -> None:
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: 999_999}), field)


def test_reference_to_deleted_row(admin: httpx.Client, records: Records) -> None:
    tag = records.create("tags")
    assert admin.delete(f"/tags/{tag['id']}").status_code == 204
    body = records.body("tasks") | {"tag_ids": [tag["id"]]}
    assert_422_naming(admin.post("/tasks", json=body), "tag_ids")


# Uniqueness


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("tags", {"name": "urgent"}),
        ("roles", {"name": "admin"}),
        ("groups", {"name": "demo-team"}),
        ("users", {"username": "demo"}),
        ("users", {"email": "demo@example.com"}),
        ("users", {"email": "DEMO@Example.com"}),
        ("permissions", {"model": "user", "action": "read", "scope": "own"}),
    ],
)
def test_unique_conflict_on_create(
    admin: httpx.Client, records: Records, path: str, fields: dict[str, str]
) -> None:
    if path == "tags":
        records.create("tags", **fields)
    response = admin.post(f"/{path}", json=records.body(path) | fields)
    assert response.status_code == 409, response.text
    assert "already exists" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("tags", {"name": "taken"}),
        ("roles", {"name": "admin"}),
        ("groups", {"name": "demo-team"}),
        ("users", {"username": "admin"}),
        ("users", {"email": "Admin@Example.com"}),
        ("permissions", {"model": "user", "action": "read", "scope": "own"}),
    ],
)
def test_unique_conflict_on_update(
    admin: httpx.Client, records: Records, path: str, fields: dict[str, str]
) -> None:
    if path == "tags":
        records.create("tags", name="taken")
    record = records.create(path)
    response = admin.put(f"/{path}/{record['id']}", json=fields)
    assert response.status_code == 409, response.text
    assert admin.get(f"/{path}/{record['id']}").json() == record


def test_conflict_leaves_no_trace(admin: httpx.Client, records: Records) -> None:
    records.create("tags", name="once")
    assert admin.post("/tags", json={"name": "once"}).status_code == 409
    assert admin.post("/tags", json={"name": "twice"}).status_code == 201
    assert admin.get("/tags").json()["total"] == 2


def test_email_is_stored_lowercased(admin: httpx.Client, records: Records) -> None:
    created = admin.post("/users", json=records.body("users") | {"email": "Mixed.Case@Example.COM"})
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "mixed.case@example.com"


# Check constraints, reached through partial updates


def test_project_due_date_before_start_date(admin: httpx.Client, records: Records) -> None:
    project = records.create("projects", start_date="2024-03-10", due_date="2024-03-20")
    url = f"/projects/{project['id']}"
    assert_422_naming(admin.put(url, json={"due_date": "2024-03-01"}), "due_date")
    assert_422_naming(admin.put(url, json={"start_date": "2024-04-01"}), "start_date")
    assert admin.get(url).json() == project
    assert admin.put(url, json={"due_date": "2024-03-10"}).status_code == 200
    both = {"start_date": "2024-01-01", "due_date": "2023-12-31"}
    assert admin.post("/projects", json=records.body("projects") | both).status_code == 422


@pytest.mark.parametrize("priority", [0, 6, 9, -1, 32768, 2**40])
def test_task_priority_out_of_range(admin: httpx.Client, records: Records, priority: int) -> None:
    task = records.create("tasks")
    assert_422_naming(admin.put(f"/tasks/{task['id']}", json={"priority": priority}), "priority")
    assert admin.get(f"/tasks/{task['id']}").json()["priority"] == task["priority"]


@pytest.mark.parametrize("minutes", [0, -5, 1441, 2**31, 2**63])
def test_time_entry_minutes_out_of_range(
    admin: httpx.Client, records: Records, minutes: int
) -> None:
    entry = records.create("time_entries")
    url = f"/time_entries/{entry['id']}"
    assert_422_naming(admin.put(url, json={"minutes": minutes}), "minutes")
    assert admin.get(url).json()["minutes"] == entry["minutes"]


def test_time_entry_minutes_bounds_accepted(admin: httpx.Client, records: Records) -> None:
    entry = records.create("time_entries")
    for minutes in (1, 1440):
        response = admin.put(f"/time_entries/{entry['id']}", json={"minutes": minutes})
        assert response.status_code == 200
        assert response.json()["minutes"] == minutes


@pytest.mark.parametrize(
    "budget", [-1, "-0.01", "1.005", 1.005, "12345678901.00", 10**12, "1e12", "abc", ""]
)
def test_project_budget_invalid(admin: httpx.Client, records: Records, budget: Any) -> None:
    project = records.create("projects", budget="10.00")
    url = f"/projects/{project['id']}"
    assert_422_naming(admin.put(url, json={"budget": budget}), "budget")
    assert admin.get(url).json()["budget"] == project["budget"]


@pytest.mark.parametrize("budget", ["0", "0.5", "9999999999.99", 12.5])
def test_project_budget_valid(admin: httpx.Client, records: Records, budget: Any) -> None:
    project = records.create("projects")
    response = admin.put(f"/projects/{project['id']}", json={"budget": budget})
    assert response.status_code == 200, response.text
    assert float(response.json()["budget"]) == float(budget)


@pytest.mark.parametrize("hours", [-1, "10000.00", "1.234"])
def test_task_estimate_invalid(admin: httpx.Client, records: Records, hours: Any) -> None:
    task = records.create("tasks")
    assert_422_naming(
        admin.put(f"/tasks/{task['id']}", json={"estimate_hours": hours}), "estimate_hours"
    )


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "10000-01-01T00:00:00Z",
        "2024-01-01T25:00:00Z",
        "2024-01-01T00:00:00+25:00",
    ],
)
def test_timestamps_out_of_range(admin: httpx.Client, records: Records, value: str) -> None:
    task = records.create("tasks")
    assert_422_naming(admin.put(f"/tasks/{task['id']}", json={"due_at": value}), "due_at")


def test_timestamp_offsets_are_normalised(admin: httpx.Client, records: Records) -> None:
    task = records.create("tasks", due_at="2024-06-01T12:00:00+02:00")
    assert task["due_at"] == "2024-06-01T10:00:00+00:00"
    naive = records.create("tasks", due_at="2024-06-01T12:00:00")
    assert naive["due_at"] == "2024-06-01T12:00:00+00:00"


def test_enum_check_constraints(admin: httpx.Client, records: Records) -> None:
    project = records.create("projects")
    assert_422_naming(admin.put(f"/projects/{project['id']}", json={"status": "done"}), "status")
    task = records.create("tasks")
    assert_422_naming(admin.put(f"/tasks/{task['id']}", json={"status": "active"}), "status")
