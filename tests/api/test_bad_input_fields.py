"""Bad field values: wrong types; unknown, missing and read-only fields; lengths, characters.

Every answer is a 4xx with a reason, never a 500: every client in this module fails the test
on any 5xx (the `no_server_errors` marker), so each case checks both the status it expects
and that nothing on the way crashed.
"""

import json
from typing import Any

import httpx
import pytest

from app.resources import REGISTRY
from app.schemas.examples import constraint, unwrap
from tests.support.checks import assert_422_naming, locs
from tests.support.records import CREATABLE, Records

pytestmark = pytest.mark.no_server_errors

# Required fields of each create body; parents (`project_id`, `task_id`) are made as needed.
REQUIRED: dict[str, tuple[str, ...]] = {
    path: tuple(
        name
        for name, info in REGISTRY[path].create_schema.model_fields.items()  # type: ignore[union-attr]
        if info.is_required()
    )
    for path in CREATABLE
}
REQUIRED_FIELDS = [(path, field) for path, fields in REQUIRED.items() for field in fields]


def string_field(path: str) -> tuple[str, int]:
    """Return a string field of `path` and its length: the chosen one, or the first found."""
    if path in STRING_FIELD:
        return STRING_FIELD[path]
    schema = REGISTRY[path].create_schema
    assert schema is not None
    for name, info in schema.model_fields.items():
        annotation, _, metadata = unwrap(info.annotation)
        length = constraint(info, "max_length", metadata)
        if annotation is str and length and not constraint(info, "pattern", metadata):
            return name, length
    raise LookupError(f"{path} has no plain string field: add one to STRING_FIELD")


# A string field of each resource and the length of its column.
STRING_FIELD: dict[str, tuple[str, int]] = {
    "users": ("full_name", 200),
    "roles": ("name", 50),
    "permissions": ("model", 50),
    "conditions": ("description", 100_000),  # an expression is read by the checker
    "groups": ("name", 100),
    "customers": ("company", 200),
    "projects": ("name", 200),
    "tasks": ("title", 200),
    "tags": ("name", 50),
    "comments": ("body", 100_000),
    "time_entries": ("note", 500),
}
# An integer field of each resource (by default `owner_group_id`, which every one has).
INT_FIELD: dict[str, str] = {
    "users": "owner_group_id",
    "roles": "owner_group_id",
    "permissions": "owner_group_id",
    "groups": "owner_group_id",
    "customers": "owner_group_id",
    "projects": "customer_id",
    "tasks": "priority",
    "tags": "owner_group_id",
    "comments": "owner_user_id",
    "time_entries": "minutes",
}
BOOL_FIELD: dict[str, str] = {
    "users": "is_active",
    "customers": "is_active",
    "projects": "is_billable",
    "time_entries": "is_billable",
}


# Wrong types


@pytest.mark.parametrize("path", CREATABLE)
def test_wrong_type_for_string(admin: httpx.Client, records: Records, path: str) -> None:
    field, _ = string_field(path)
    for value in (["a", "b"], {"a": 1}, 123, 1.5, True):
        response = admin.post(f"/{path}", json=records.body(path) | {field: value})
        assert_422_naming(response, field)


@pytest.mark.parametrize("path", CREATABLE)
def test_wrong_type_for_int(admin: httpx.Client, records: Records, path: str) -> None:
    field = INT_FIELD.get(path, "owner_group_id")
    for value in ("abc", "", "1.5", 1.5, [1], {"id": 1}, "0x10", "1e3"):
        response = admin.post(f"/{path}", json=records.body(path) | {field: value})
        assert_422_naming(response, field)


@pytest.mark.parametrize("path", sorted(BOOL_FIELD))
def test_wrong_type_for_bool(admin: httpx.Client, records: Records, path: str) -> None:
    field = BOOL_FIELD[path]
    # Only true and false: 0, 1, "true", "yes" are refused rather than guessed at.
    for value in ({"a": True}, [True], "maybe", 2, 0.5, "", 0, 1, "true", "false", "yes", "0"):
        response = admin.post(f"/{path}", json=records.body(path) | {field: value})
        assert_422_naming(response, field)


@pytest.mark.parametrize("path", CREATABLE)
def test_wrong_types_in_partial_update(admin: httpx.Client, records: Records, path: str) -> None:
    record = records.create(path)
    field, _ = string_field(path)
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: ["x"]}), field)
    int_field = INT_FIELD.get(path, "owner_group_id")
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={int_field: "many"}), int_field)
    assert admin.get(f"/{path}/{record['id']}").json() == record


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("users", "role_ids", "1"),
        ("users", "role_ids", [["1"]]),
        ("roles", "permission_ids", {"1": 1}),
        ("groups", "member_ids", [1.5]),
        ("tasks", "tag_ids", [None]),
        ("tasks", "due_at", "yesterday"),
        ("tasks", "due_at", "2024-13-01T00:00:00Z"),
        ("tasks", "estimate_hours", "lots"),
        ("projects", "start_date", "2024-02-30"),
        ("projects", "start_date", "2024-01-01T10:00:00"),
        ("projects", "status", "ACTIVE"),
        ("projects", "budget", [1]),
        ("time_entries", "spent_on", "01/02/2024"),
        # A number is not a date (0 would be 1970-01-01) nor a time (seconds since then).
        ("projects", "start_date", 0),
        ("projects", "due_date", 1700000000),
        ("time_entries", "spent_on", 20240101),
        ("time_entries", "spent_on", 1.5),
        ("tasks", "due_at", 0),
        ("tasks", "due_at", 1700000000.5),
        ("tasks", "due_at", "1700000000"),
        ("projects", "start_date", "0.5"),
        ("tags", "color", "red"),
        ("tags", "color", "#12345g"),
        ("customers", "email", "not-an-email"),
        ("permissions", "action", "destroy"),
        ("permissions", "scope", "everyone"),
        # A model is named like a table; Casbin's rule text has no room for brackets or commas.
        ("permissions", "model", "task]"),
        ("permissions", "model", "keyMatch(a, b)"),
        ("permissions", "model", "Task"),
        ("permissions", "model", "1task"),
        ("permissions", "model", "task:read"),
    ],
)
def test_malformed_values(
    admin: httpx.Client, records: Records, path: str, field: str, value: Any
) -> None:
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: value}), field)


# Unknown and missing fields


@pytest.mark.parametrize("path", CREATABLE)
def test_unknown_field_is_named(admin: httpx.Client, records: Records, path: str) -> None:
    response = admin.post(f"/{path}", json=records.body(path) | {"bogus_field": 1})
    assert_422_naming(response, "bogus_field")
    record = records.create(path)
    response = admin.put(f"/{path}/{record['id']}", json={"bogus_field": 1})
    assert_422_naming(response, "bogus_field")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("users", "hashed_password"),
        ("users", "id"),
        ("users", "last_login_at"),
        ("customers", "created_at"),
        ("tasks", "tags"),
        ("roles", "permissions"),
        ("sessions", "token_hash"),
    ],
)
def test_read_only_fields_cannot_be_written(
    admin: httpx.Client, records: Records, path: str, field: str
) -> None:
    if path == "sessions":  # no create or update at all
        record_id = admin.get("/sessions").json()["items"][0]["id"]
        assert admin.post("/sessions", json={field: "x"}).status_code == 405
        assert admin.put(f"/sessions/{record_id}", json={field: "x"}).status_code == 405
        return
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: "x"}), field)


@pytest.mark.parametrize(("path", "field"), REQUIRED_FIELDS)
def test_missing_required_field(
    admin: httpx.Client, records: Records, path: str, field: str
) -> None:
    body = records.body(path)
    del body[field]
    response = admin.post(f"/{path}", json=body)
    assert response.status_code == 422, response.text
    assert ["body", field] in locs(response)


@pytest.mark.parametrize(("path", "field"), REQUIRED_FIELDS)
def test_null_for_required_field_in_update(
    admin: httpx.Client, records: Records, path: str, field: str
) -> None:
    record = records.create(path)
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: None}), field)


@pytest.mark.parametrize(
    ("path", "field"),
    [("roles", "name"), ("customers", "name"), ("tasks", "title"), ("tags", "name")],
)
def test_blank_required_string(
    admin: httpx.Client, records: Records, path: str, field: str
) -> None:
    for value in ("", "   ", "\t\n"):
        assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: value}), field)


# Lengths and characters


@pytest.mark.parametrize("path", CREATABLE)
def test_string_at_column_length_fits(admin: httpx.Client, records: Records, path: str) -> None:
    field, length = string_field(path)
    created = records.create(path, **{field: "x" * length})
    assert created[field] == "x" * length


@pytest.mark.parametrize("path", CREATABLE)
def test_string_beyond_column_length(admin: httpx.Client, records: Records, path: str) -> None:
    field, length = string_field(path)
    too_long = "x" * (length + 1)
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: too_long}), field)
    record = records.create(path)
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: too_long}), field)
    assert admin.get(f"/{path}/{record['id']}").json()[field] == record[field]


@pytest.mark.parametrize(
    ("path", "field", "length"),
    [
        ("users", "username", 50),
        ("users", "password", 128),
        ("customers", "name", 200),
        ("customers", "phone", 50),
        ("groups", "description", 2000),
        ("customers", "notes", 100_000),
        ("tasks", "description", 100_000),
    ],
)
def test_other_strings_beyond_column_length(
    admin: httpx.Client, records: Records, path: str, field: str, length: int
) -> None:
    body = records.body(path) | {field: "a" * (length + 1)}
    assert_422_naming(admin.post(f"/{path}", json=body), field)


def test_multibyte_string_counts_characters(admin: httpx.Client, records: Records) -> None:
    created = records.create("tags", name="é" * 50)
    assert created["name"] == "é" * 50
    assert_422_naming(admin.post("/tags", json={"name": "é" * 51}), "name")
    emoji = records.create("tags", name="\U0001f600" * 50)
    assert emoji["name"] == "\U0001f600" * 50


@pytest.mark.parametrize("path", CREATABLE)
def test_nul_byte_in_string(admin: httpx.Client, records: Records, path: str) -> None:
    field, _ = string_field(path)
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: "a\x00b"}), field)
    record = records.create(path)
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: "\x00"}), field)


@pytest.mark.parametrize("path", CREATABLE)
def test_lone_surrogate_in_string(admin: httpx.Client, records: Records, path: str) -> None:
    field, _ = string_field(path)
    body = json.dumps(records.body(path) | {field: "PLACEHOLDER"})
    raw = body.replace("PLACEHOLDER", "a\\ud800b").encode()
    response = admin.post(f"/{path}", content=raw, headers={"Content-Type": "application/json"})
    assert_422_naming(response, field)


def test_nul_and_bad_characters_in_auth(anon: httpx.Client) -> None:
    for body in (
        {"username": "de\x00mo", "email": "x@example.com", "password": "tidal-parsnip-42"},
        {"username": "nulpass", "email": "x@example.com", "password": "pass\x00word-tidal-42"},
        {"username": "nulmail", "email": "x\x00@example.com", "password": "tidal-parsnip-42"},
    ):
        assert anon.post("/auth/register", json=body).status_code == 422
    for body in (
        {"username": "demo\x00", "password": "demo123"},
        {"username": "demo", "password": "demo123\x00"},
        {"username": "x" * 10_000, "password": "demo123"},
        {"username": "demo", "password": "x" * 10_000},
    ):
        assert anon.post("/auth/login", json=body).status_code == 422
