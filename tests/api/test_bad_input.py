"""What a careless or hostile client sends: every answer is a 4xx with a reason, never a 500.

Every client in this module fails the test on any 5xx (see `client_factory` below), so each
case checks both the status it expects and that nothing on the way crashed.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.resources import REGISTRY, RESOURCES
from tests.conftest import Backend
from tests.support.checks import guarded
from tests.support.records import Records

ALL = [res.path for res in RESOURCES]
CREATABLE = [res.path for res in RESOURCES if res.create_schema is not None]

# Required fields of each create body; parents (`project_id`, `task_id`) are made as needed.
REQUIRED: dict[str, tuple[str, ...]] = {
    "users": ("username", "email", "password"),
    "roles": ("name",),
    "permissions": ("model", "action", "scope"),
    "groups": ("name",),
    "customers": ("name",),
    "projects": ("name",),
    "tasks": ("project_id", "title"),
    "tags": ("name",),
    "comments": ("task_id", "body"),
    "time_entries": ("task_id", "spent_on", "minutes"),
}
# A string field of each resource and the length of its column.
STRING_FIELD: dict[str, tuple[str, int]] = {
    "users": ("full_name", 200),
    "roles": ("name", 50),
    "permissions": ("model", 50),
    "groups": ("name", 100),
    "customers": ("company", 200),
    "projects": ("name", 200),
    "tasks": ("title", 200),
    "tags": ("name", 50),
    "comments": ("body", 100_000),
    "time_entries": ("note", 500),
}
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
HUGE_IDS = ["2147483648", "99999999999999999999", str(2**63), "9" * 400]


@pytest.fixture
def client_factory(
    client_factory: Callable[[], httpx.Client],
) -> Callable[[], httpx.Client]:
    """Make clients that fail the test on any 5xx."""
    return guarded(client_factory)


def locs(response: httpx.Response) -> list[list[Any]]:
    """Return the `loc` of every error in a 422 body."""
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return [list(err["loc"]) for err in detail]


def assert_422_naming(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert any(field in loc for loc in locs(response)), response.text


# Wrong types


@pytest.mark.parametrize("path", CREATABLE)
def test_wrong_type_for_string(admin: httpx.Client, records: Records, path: str) -> None:
    field, _ = STRING_FIELD[path]
    for value in (["a", "b"], {"a": 1}, 123, 1.5, True):
        response = admin.post(f"/{path}", json=records.body(path) | {field: value})
        assert_422_naming(response, field)


@pytest.mark.parametrize("path", CREATABLE)
def test_wrong_type_for_int(admin: httpx.Client, records: Records, path: str) -> None:
    field = INT_FIELD[path]
    for value in ("abc", "", "1.5", 1.5, [1], {"id": 1}, "0x10", "1e3"):
        response = admin.post(f"/{path}", json=records.body(path) | {field: value})
        assert_422_naming(response, field)


@pytest.mark.parametrize("path", sorted(BOOL_FIELD))
def test_wrong_type_for_bool(admin: httpx.Client, records: Records, path: str) -> None:
    field = BOOL_FIELD[path]
    for value in ({"a": True}, [True], "maybe", 2, 0.5, ""):
        response = admin.post(f"/{path}", json=records.body(path) | {field: value})
        assert_422_naming(response, field)


@pytest.mark.parametrize("path", CREATABLE)
def test_wrong_types_in_partial_update(admin: httpx.Client, records: Records, path: str) -> None:
    record = records.create(path)
    field, _ = STRING_FIELD[path]
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: ["x"]}), field)
    int_field = INT_FIELD[path]
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
        ("tags", "color", "red"),
        ("tags", "color", "#12345g"),
        ("customers", "email", "not-an-email"),
        ("permissions", "action", "destroy"),
        ("permissions", "scope", "everyone"),
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


@pytest.mark.parametrize(
    ("path", "field"), [(path, field) for path, fields in REQUIRED.items() for field in fields]
)
def test_missing_required_field(
    admin: httpx.Client, records: Records, path: str, field: str
) -> None:
    body = records.body(path)
    del body[field]
    response = admin.post(f"/{path}", json=body)
    assert response.status_code == 422, response.text
    assert ["body", field] in locs(response)


@pytest.mark.parametrize(
    ("path", "field"), [(path, field) for path, fields in REQUIRED.items() for field in fields]
)
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
    field, length = STRING_FIELD[path]
    created = records.create(path, **{field: "x" * length})
    assert created[field] == "x" * length


@pytest.mark.parametrize("path", CREATABLE)
def test_string_beyond_column_length(admin: httpx.Client, records: Records, path: str) -> None:
    field, length = STRING_FIELD[path]
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
    field, _ = STRING_FIELD[path]
    assert_422_naming(admin.post(f"/{path}", json=records.body(path) | {field: "a\x00b"}), field)
    record = records.create(path)
    assert_422_naming(admin.put(f"/{path}/{record['id']}", json={field: "\x00"}), field)


@pytest.mark.parametrize("path", CREATABLE)
def test_lone_surrogate_in_string(admin: httpx.Client, records: Records, path: str) -> None:
    field, _ = STRING_FIELD[path]
    body = json.dumps(records.body(path) | {field: "PLACEHOLDER"})
    raw = body.replace("PLACEHOLDER", "a\\ud800b").encode()
    response = admin.post(f"/{path}", content=raw, headers={"Content-Type": "application/json"})
    assert_422_naming(response, field)


def test_nul_and_bad_characters_in_auth(anon: httpx.Client) -> None:
    for body in (
        {"username": "de\x00mo", "email": "x@example.com", "password": "password123"},
        {"username": "nulpass", "email": "x@example.com", "password": "pass\x00word123"},
        {"username": "nulmail", "email": "x\x00@example.com", "password": "password123"},
    ):
        assert anon.post("/auth/register", json=body).status_code == 422
    for body in (
        {"username": "demo\x00", "password": "demo123"},
        {"username": "demo", "password": "demo123\x00"},
        {"username": "x" * 10_000, "password": "demo123"},
        {"username": "demo", "password": "x" * 10_000},
    ):
        assert anon.post("/auth/login", json=body).status_code == 422


# Ids in the path


@pytest.mark.parametrize("path", ALL)
def test_ids_in_path(admin: httpx.Client, path: str) -> None:
    can_update = REGISTRY[path].update_schema is not None
    for raw in HUGE_IDS:  # beyond any id the column can hold: simply not found
        assert admin.get(f"/{path}/{raw}").status_code == 404, raw
        assert admin.delete(f"/{path}/{raw}").status_code == 404, raw
        if can_update:
            assert admin.put(f"/{path}/{raw}", json={}).status_code == 404, raw
    for raw in ("0", "-1", "-2147483649", "-99999999999999999999"):
        assert admin.get(f"/{path}/{raw}").status_code == 404, raw
        assert admin.delete(f"/{path}/{raw}").status_code == 404, raw
    for raw in ("abc", "1.5", "1e3", "0x1f", "%00", "NaN", "true", "%E2%82%AC"):
        assert_422_naming(admin.get(f"/{path}/{raw}"), "id")
        assert admin.delete(f"/{path}/{raw}").status_code == 422, raw
        if can_update:
            assert admin.put(f"/{path}/{raw}", json={}).status_code == 422, raw


def test_missing_record_is_404_for_every_verb(admin: httpx.Client) -> None:
    for path in ALL:
        assert admin.get(f"/{path}/999999").status_code == 404
        assert admin.delete(f"/{path}/999999").status_code == 404
        if REGISTRY[path].update_schema is not None:
            assert admin.put(f"/{path}/999999", json={}).status_code == 404


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
    field, value = REFERENCE[path]
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


# Malformed bodies


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"{'name': 'single quotes'}",
        b'{"name": "unterminated',
        b'{"name": "x",}',
        b"[]",
        b"null",
        b"42",
        b'"name"',
        b'{"name": "x"} trailing',
        b"\xff\xfe{}",
    ],
    ids=lambda c: repr(c[:24]),
)
def test_invalid_json_body(admin: httpx.Client, records: Records, content: bytes) -> None:
    tag = records.create("tags")
    for method, url in [("POST", "/tags"), ("PUT", f"/tags/{tag['id']}")]:
        response = admin.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
    assert admin.get("/tags").json()["items"] == [tag]


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "\xff"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"name": "x", "owner_group_id": ' + b"1" * 5000 + b"}",
    ],
    ids=["not-utf8", "nested-too-deep", "5000-digit-number"],
)
def test_undecodable_body(admin: httpx.Client, records: Records, content: bytes) -> None:
    # FastAPI answers 400 "There was an error parsing the body" to what json.loads
    # cannot decode at all (as opposed to malformed JSON, a 422); either way no 5xx.
    tag = records.create("tags")
    for method, url in [("POST", "/tags"), ("PUT", f"/tags/{tag['id']}")]:
        response = admin.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text
        assert "detail" in response.json()
    assert admin.get("/tags").json()["items"] == [tag]


def test_invalid_json_is_422(admin: httpx.Client) -> None:
    response = admin.post(
        "/customers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_without_json_content_type(admin: httpx.Client, content_type: str) -> None:
    response = admin.post(
        "/customers", content=b'{"name": "Acme"}', headers={"Content-Type": content_type}
    )
    assert response.status_code in (415, 422), response.text
    assert admin.get("/customers").json()["total"] == 0


@pytest.mark.parametrize(
    ("field", "literal"),
    [("budget", "NaN"), ("budget", "Infinity"), ("budget", "-Infinity"), ("budget", "1e400")],
)
def test_non_finite_numbers(admin: httpx.Client, field: str, literal: str) -> None:
    content = f'{{"name": "p", "{field}": {literal}}}'.encode()
    response = admin.post(
        "/projects", content=content, headers={"Content-Type": "application/json"}
    )
    assert_422_naming(response, field)


def test_non_finite_numbers_for_ints(admin: httpx.Client, records: Records) -> None:
    task = records.create("tasks")
    for literal in ("NaN", "Infinity", "1e400", "3.0000000001"):
        response = admin.put(
            f"/tasks/{task['id']}",
            content=f'{{"priority": {literal}}}'.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert_422_naming(response, "priority")


# Body size


def body_of(size: int) -> bytes:
    """Return a JSON object of exactly `size` bytes."""
    head, tail = b'{"name": "Acme", "notes": "', b'"}'
    return head + b"n" * (size - len(head) - len(tail)) + tail


def test_body_over_limit_with_content_length(admin: httpx.Client, live: Backend) -> None:
    content = body_of(live.settings.max_body_bytes + 1)
    response = admin.post(
        "/customers", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "detail" in response.json()
    assert admin.get("/customers").json()["total"] == 0


def test_body_over_limit_chunked(admin: httpx.Client, live: Backend) -> None:
    content = body_of(2 * live.settings.max_body_bytes)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    response = admin.post(
        "/customers", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert admin.get("/customers").json()["total"] == 0


def test_body_over_limit_refused_before_authentication(anon: httpx.Client, live: Backend) -> None:
    content = body_of(live.settings.max_body_bytes + 1)
    for url in ("/auth/register", "/auth/login", "/customers"):
        response = anon.post(url, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, url


def test_body_under_limit_is_read(admin: httpx.Client, live: Backend) -> None:
    # Just under the limit: read and validated (notes is longer than its 100 000 characters).
    content = body_of(live.settings.max_body_bytes)
    response = admin.post(
        "/customers", content=content, headers={"Content-Type": "application/json"}
    )
    assert_422_naming(response, "notes")


def test_chunked_body_under_limit_is_accepted(admin: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": '
        yield b'"Chunked"}'

    response = admin.post(
        "/customers", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Chunked"


# List parameters


@pytest.mark.parametrize("path", ALL)
def test_list_limit_and_offset_bounds(admin: httpx.Client, path: str) -> None:
    for limit in ("0", "-1", "201", "1000000", "abc", "1.5", "", "99999999999999999999"):
        assert_422_naming(admin.get(f"/{path}", params={"limit": limit}), "limit")
    for offset in ("-1", "abc", str(2**31), "99999999999999999999"):
        assert_422_naming(admin.get(f"/{path}", params={"offset": offset}), "offset")
    for limit in ("1", "200"):
        response = admin.get(f"/{path}", params={"limit": limit})
        assert response.status_code == 200
        assert response.json()["limit"] == int(limit)
    response = admin.get(f"/{path}", params={"offset": 1_000_000})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_list_defaults(admin: httpx.Client) -> None:
    body = admin.get("/permissions").json()
    assert (body["limit"], body["offset"], body["total"]) == (50, 0, 132)
    assert len(body["items"]) == 50
    last = admin.get("/permissions", params={"limit": 200, "offset": 130}).json()
    assert len(last["items"]) == 2


@pytest.mark.parametrize("path", ALL)
def test_sort_columns(admin: httpx.Client, path: str) -> None:
    secret = {"users": "hashed_password", "sessions": "token_hash"}.get(path, "password")
    for sort in ("bogus", "-bogus", secret, f"-{secret}", "--id", "-", "id;drop", "id desc"):
        assert_422_naming(admin.get(f"/{path}", params={"sort": sort}), "sort")
    for column in REGISTRY[path].sort_columns:
        for sort in (column, f"-{column}"):
            assert admin.get(f"/{path}", params={"sort": sort}).status_code == 200, sort


@pytest.mark.parametrize("path", ALL)
def test_search_text_in_query(admin: httpx.Client, path: str) -> None:
    for q in ("\x00", "a\x00b", "x" * 201):
        assert_422_naming(admin.get(f"/{path}", params={"q": q}), "q")
    for q in ("%00", "x" * 200, "'; DROP TABLE users; --", "\\", "\u00e9\U0001f600"):
        assert admin.get(f"/{path}", params={"q": q}).status_code == 200, q
    for query in (
        "q=%FF%FE",
        "q=%ED%A0%80",
        "q=" + "%25" * 200,
        "q=a&q=b",
        "limit=1&limit=abc",
        "sort=%00",
        "bogus=1",
        "%00=%00",
        "&&&==&",
    ):
        response = admin.get(f"/{path}?{query}")
        assert response.status_code in (200, 422), query


def test_sort_ascending_and_descending(admin: httpx.Client, records: Records) -> None:
    for name in ("bravo", "alpha", "charlie"):
        records.create("tags", name=name)
    ascending = admin.get("/tags", params={"sort": "name"}).json()["items"]
    descending = admin.get("/tags", params={"sort": "-name"}).json()["items"]
    assert [t["name"] for t in ascending] == ["alpha", "bravo", "charlie"]
    assert [t["name"] for t in descending] == ["charlie", "bravo", "alpha"]
    by_id = admin.get("/tags", params={"sort": "-id"}).json()["items"]
    assert [t["name"] for t in by_id] == ["charlie", "alpha", "bravo"]


def test_search_with_q(admin: httpx.Client, records: Records) -> None:
    for name in ("alpha-one", "Alphabet", "beta", "50%_off", "5000 off"):
        records.create("tags", name=name)

    def names(q: str) -> list[str]:
        response = admin.get("/tags", params={"q": q, "sort": "name"})
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["items"]]

    assert names("alpha") == ["Alphabet", "alpha-one"]
    assert names("ALPHA") == ["Alphabet", "alpha-one"]
    assert names("%") == ["50%_off"]  # wildcards are searched for literally
    assert names("_") == ["50%_off"]
    assert names("0%") == ["50%_off"]
    assert names("nothing-like-this") == []
    assert names("\\") == []
    assert admin.get("/tags", params={"q": ""}).json()["total"] == 5


def test_search_and_filter_combine(admin: httpx.Client, records: Records) -> None:
    records.create("projects", name="Apollo", status="active")
    records.create("projects", name="Apollo II", status="planned")
    records.create("projects", name="Gemini", status="active")
    response = admin.get("/projects", params={"q": "apollo", "status": "active"})
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == ["Apollo"]
    assert response.json()["total"] == 1


def test_filters(admin: httpx.Client, records: Records) -> None:
    active = records.create("projects", status="active", is_billable=False)
    records.create("projects", status="planned")
    page = admin.get("/projects", params={"status": "active"}).json()
    assert [p["id"] for p in page["items"]] == [active["id"]]
    page = admin.get("/projects", params={"is_billable": "false"}).json()
    assert [p["id"] for p in page["items"]] == [active["id"]]
    assert admin.get("/projects", params={"status": "completed"}).json()["total"] == 0
    assert admin.get("/users", params={"is_active": "true"}).json()["total"] == 2
    assert admin.get("/permissions", params={"model": "tag", "action": "read"}).json()["total"] == 3


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("projects", "status", "bogus"),
        ("projects", "status", "ACTIVE"),
        ("projects", "is_billable", "maybe"),
        ("projects", "customer_id", "abc"),
        ("projects", "customer_id", "99999999999999999999"),
        ("tasks", "status", "finished"),
        ("tasks", "priority", "high"),
        ("tasks", "project_id", "1.5"),
        ("tasks", "assignee_id", str(2**40)),
        ("users", "is_active", "2"),
        ("permissions", "action", "destroy"),
        ("permissions", "scope", "everyone"),
        ("sessions", "user_id", "me"),
        ("comments", "task_id", "-99999999999999999999"),
        ("time_entries", "is_billable", "{}"),
    ],
)
def test_invalid_filter_values(admin: httpx.Client, path: str, name: str, value: str) -> None:
    assert_422_naming(admin.get(f"/{path}", params={name: value}), name)


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


# Methods and routes


def test_unsupported_methods(admin: httpx.Client) -> None:
    assert admin.patch("/customers/1", json={}).status_code == 405
    assert admin.put("/customers", json={}).status_code == 405
    assert admin.delete("/customers").status_code == 405
    assert admin.post("/sessions", json={}).status_code == 405
    assert admin.get("/no_such_resource").status_code == 404
    assert admin.get("/customers/1/extra").status_code == 404
