"""Bad URLs: ids in the path, list parameters (paging, sort, search, filters), methods, routes.

Every answer is a 4xx with a reason, never a 500: every client in this module fails the test
on any 5xx (the `no_server_errors` marker), so each case checks both the status it expects
and that nothing on the way crashed.
"""

import httpx
import pytest

from app.core.permissions import ACTIONS, SCOPES
from app.init_db import EXTRA_PERMISSIONS
from app.resources import PERMISSION_MODELS, REGISTRY
from tests.support.checks import assert_422_naming
from tests.support.hostile import NUL_VALUES, ODD_DIGITS
from tests.support.records import ALL, Records

pytestmark = pytest.mark.no_server_errors

HUGE_IDS = ["2147483648", "99999999999999999999", str(2**63), "9" * 400]


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
    every = len(PERMISSION_MODELS) * len(ACTIONS) * len(SCOPES) + len(EXTRA_PERMISSIONS)
    assert (body["limit"], body["offset"], body["total"]) == (50, 0, every)
    assert len(body["items"]) == 50
    last = admin.get("/permissions", params={"limit": 200, "offset": every - 2}).json()
    assert len(last["items"]) == 2


@pytest.mark.parametrize("path", ALL)
def test_sort_columns(admin: httpx.Client, path: str) -> None:
    secret = {"users": "hashed_password", "sessions": "token_hash"}.get(path, "password")
    for sort in ("bogus", "-bogus", secret, f"-{secret}", "--id", "-", "id;drop", "id desc"):
        assert_422_naming(admin.get(f"/{path}", params={"sort": sort}), "sort")
    for column in REGISTRY[path].sort_columns:
        for sort in (column, f"-{column}"):
            assert admin.get(f"/{path}", params={"sort": sort}).status_code == 200, sort
    # An empty `sort=` is no sort, as an empty `q=` is no search.
    assert admin.get(f"/{path}?sort=").json() == admin.get(f"/{path}").json()
    assert admin.get(f"/{path}?q=").json() == admin.get(f"/{path}").json()


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


def list_parameters(path: str) -> list[str]:
    """Every query parameter of a resource's list that takes text or a number."""
    res = REGISTRY[path]
    ranges = [f"{column}_{bound}" for column in res.range_columns for bound in ("from", "to")]
    return ["q", "sort", "cursor", *res.filter_columns, *res.link_filters, *ranges]


@pytest.mark.parametrize("path", ALL)
def test_nul_bytes_in_any_list_parameter(admin: httpx.Client, path: str) -> None:
    """PostgreSQL stores no NUL: every filter, search and cursor refuses it first, in words."""
    for name in [*list_parameters(path), "limit", "offset", "format", "bogus"]:
        for value in NUL_VALUES:
            response = admin.get(f"/{path}", params={name: value})
            assert_422_naming(response, name)
            [error] = response.json()["detail"]
            assert error["msg"] == "text without NUL bytes", error
    assert_422_naming(admin.get(f"/{path}?a%00=1"), "a\x00")


@pytest.mark.parametrize("path", ALL)
def test_digits_beyond_ascii_are_not_numbers(admin: httpx.Client, path: str) -> None:
    """Superscripts, circled, Arabic-Indic and full-width digits: refused as numbers (422)
    wherever a number goes, never read as one nor a 500."""
    res = REGISTRY[path]
    numeric = [
        name
        for name in [*res.filter_columns, *res.link_filters]
        if name in res.link_filters or res.crud.python_type(name) is int
    ]
    for raw in ODD_DIGITS:
        for name in ("limit", "offset", *numeric):
            assert_422_naming(admin.get(f"/{path}", params={name: raw}), name)
        assert_422_naming(admin.get(f"/{path}/{raw}"), "id")
        assert admin.delete(f"/{path}/{raw}").status_code == 422


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


# Methods and routes


def test_unsupported_methods(admin: httpx.Client) -> None:
    assert admin.patch("/customers/1", json={}).status_code == 405
    assert admin.put("/customers", json={}).status_code == 405
    assert admin.delete("/customers").status_code == 405
    assert admin.post("/sessions", json={}).status_code == 405
    assert admin.get("/no_such_resource").status_code == 404
    assert admin.get("/customers/1/extra").status_code == 404
