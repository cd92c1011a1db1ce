"""`GET /api/v1/audit`: every filter, keyset pages newest first, and only for holders of
`audit:read:all` (admin's by default)."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.no_server_errors


def every(client: httpx.Client, **params: object) -> list[dict]:
    """All entries matching `params`, page by page (3 at a time)."""
    found, cursor = [], None
    while True:
        page = client.get(
            "/audit", params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_filters_and_keyset_pages(
    admin: httpx.Client, login: Callable[[str, str], httpx.Client]
) -> None:
    tags = [admin.post("/tags", json={"name": f"a{i}"}).json()["id"] for i in range(4)]
    admin.put(f"/tags/{tags[0]}", json={"name": "renamed"})
    demo = login("demo", "demo123")
    demo.post("/tags", json={"name": "demos"})
    everything = every(admin)
    ids = [entry["id"] for entry in everything]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # newest first, once
    assert everything == admin.get("/audit", params={"limit": 200}).json()["items"]

    created = every(admin, event="created", resource="tags")
    assert [e["record_id"] for e in created][-4:] == list(reversed(tags))
    assert [e["actor_name"] for e in every(admin, actor="demo", event="created")] == ["demo"]
    admin_id = admin.get("/auth/me").json()["id"]
    assert {e["actor_id"] for e in every(admin, actor_id=admin_id)} == {admin_id}
    (renamed,) = every(admin, resource="tags", record_id=tags[0], event="updated")
    assert renamed["changes"] == {"name": ["a0", "renamed"]}
    middle = everything[len(everything) // 2]["at"]
    newer, older = every(admin, since=middle), every(admin, until=middle)
    assert newer + older == everything
    assert all(e["at"] >= middle for e in newer) and all(e["at"] < middle for e in older)


def test_only_holders_of_audit_read(
    anon: httpx.Client, login: Callable[[str, str], httpx.Client]
) -> None:
    assert anon.get("/audit").status_code == 401
    refused = login("demo", "demo123").get("/audit")
    assert refused.status_code == 403
    assert "audit:read:all" in refused.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "record_id=0",
        "actor_id=-1",
        "limit=0",
        "limit=201",
        "cursor=abc",
        "since=yesterday",
        f"record_id={2**31}",
        "event=" + "x" * 400,
    ],
)
def test_bad_queries_are_422(admin: httpx.Client, query: str) -> None:
    assert admin.get(f"/audit?{query}").status_code == 422


def test_empty_filters_are_refused(admin: httpx.Client) -> None:
    """The API takes only what its schema says (the page drops its form's blank fields)."""
    for name in ("actor", "event", "record_id", "since"):
        assert admin.get(f"/audit?{name}=").status_code == 422, name


def permission_ids(admin: httpx.Client, *names: str) -> list[int]:
    found = []
    for name in names:
        model, action, scope = name.split(":")
        query = {"model": model, "action": action, "scope": scope}
        (item,) = admin.get("/permissions", params=query).json()["items"]
        found.append(item["id"])
    return found


def test_entries_name_what_they_refer_to(admin: httpx.Client, make_user: Any) -> None:
    """Who made whom a manager, in one call: the entry's `title` is its record's, and
    `names` gives the titles of the records a changed field names, those the reader may
    read; a reader who may not read roles sees the ids only."""
    user, _ = make_user(roles=("user",))
    manager, member = make_user.role_id("manager"), make_user.role_id("user")
    changed = admin.put(f"/users/{user['id']}", json={"role_ids": [member, manager]})
    assert changed.status_code == 200, changed.text
    query = {"event": "updated", "resource": "users", "record_id": user["id"], "limit": 1}
    (entry,) = admin.get("/audit", params=query).json()["items"]
    assert entry["actor_name"] == "admin" and entry["title"] == user["username"]
    assert entry["changes"]["role_ids"] == [[member], sorted([member, manager])]
    assert entry["names"] == {"role_ids": {str(member): "user", str(manager): "manager"}}

    auditor = admin.post(
        "/roles",
        json={
            "name": "auditor",
            "permission_ids": permission_ids(admin, "audit:read:all", "user:read:all"),
        },
    )
    assert auditor.status_code == 201, auditor.text
    _, reader = make_user(roles=("auditor",))
    (seen,) = reader.get("/audit", params=query).json()["items"]
    assert seen["title"] == user["username"] and seen["names"] == {}
    assert seen["changes"] == entry["changes"]
