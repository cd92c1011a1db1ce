"""The audit log: exactly one entry per event, in the transaction of the change, with the
actor and the fields that changed; nothing for a change rolled back; never a secret."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.database import create_sync_engine
from app.models.audit import AuditEntry
from tests.conftest import Backend

pytestmark = pytest.mark.no_server_errors

Login = Callable[[str, str], httpx.Client]


def entries(live: Backend) -> list[dict[str, Any]]:
    engine = create_sync_engine(live.settings)
    try:
        with engine.connect() as connection:
            table = AuditEntry.__table__
            rows = connection.execute(select(table).order_by(table.c.id)).mappings().all()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def since(live: Backend, mark: int) -> list[dict[str, Any]]:
    return [entry for entry in entries(live) if entry["id"] > mark]


def last_id(live: Backend) -> int:
    found = entries(live)
    return found[-1]["id"] if found else 0


def test_create_update_delete_are_recorded_once_each(admin: httpx.Client, live: Backend) -> None:
    me = admin.get("/auth/me").json()
    mark = last_id(live)
    created = admin.post("/tags", json={"name": "audited", "color": "#112233"})
    tag = created.json()
    assert admin.put(f"/tags/{tag['id']}", json={"name": "audited-2"}).status_code == 200
    assert admin.put(f"/tags/{tag['id']}", json={"name": "audited-2"}).status_code == 200  # no-op
    assert admin.delete(f"/tags/{tag['id']}").status_code == 204
    found = since(live, mark)
    assert [(e["event"], e["resource"], e["record_id"]) for e in found] == [
        ("created", "tags", tag["id"]),
        ("updated", "tags", tag["id"]),
        ("deleted", "tags", tag["id"]),
    ]
    for entry in found:
        assert (entry["actor_id"], entry["actor_name"]) == (me["id"], "admin")
        assert entry["address"] == "127.0.0.1"
    assert found[0]["request_id"] == created.headers["x-request-id"]
    assert found[0]["changes"]["name"] == [None, "audited"]
    assert found[1]["changes"] == {"name": ["audited", "audited-2"]}
    assert found[2]["changes"]["name"] == ["audited-2", None]


def test_links_are_recorded_as_id_lists(admin: httpx.Client, live: Backend) -> None:
    project = admin.post("/projects", json={"name": "Linked"}).json()["id"]
    tags = [admin.post("/tags", json={"name": f"l{i}"}).json()["id"] for i in range(2)]
    task = admin.post("/tasks", json={"title": "T", "project_id": project}).json()["id"]
    mark = last_id(live)
    assert admin.put(f"/tasks/{task}", json={"tag_ids": tags}).status_code == 200
    (entry,) = since(live, mark)
    assert entry["changes"] == {"tag_ids": [[], sorted(tags)]}


def test_a_refused_or_rolled_back_change_leaves_no_entry(
    admin: httpx.Client, live: Backend
) -> None:
    mark = last_id(live)
    assert admin.post("/tags", json={"name": "twice"}).status_code == 201
    assert admin.post("/tags", json={"name": "twice"}).status_code == 409  # before any write
    me = admin.get("/auth/me").json()
    # Refused after the write was flushed (the last-manager guard): rolled back, entry too.
    assert admin.put(f"/users/{me['id']}", json={"is_active": False}).status_code == 409
    assert [e["event"] for e in since(live, mark)] == ["created"]


def test_secrets_never_appear(
    admin: httpx.Client, login: Login, client_factory: Callable[[], httpx.Client], live: Backend
) -> None:
    secret = "tidal-audit-secret-1"
    created = admin.post(
        "/users", json={"username": "audited", "email": "a@example.com", "password": secret}
    ).json()
    renewed = "tidal-audit-secret-2"
    assert admin.put(f"/users/{created['id']}", json={"password": renewed}).status_code == 200
    user = login("audited", renewed)
    token = (
        client_factory()
        .post("/auth/token", json={"username": "audited", "password": renewed})
        .json()["access_token"]
    )
    cookie = user.cookies["session_id"]
    client_factory().post("/auth/login", json={"username": "audited", "password": secret})
    text = json.dumps(entries(live), default=str)
    for value in (secret, renewed, token, cookie):
        assert value not in text
    update = [e for e in entries(live) if e["event"] == "updated" and e["resource"] == "users"]
    assert update[-1]["changes"]["hashed_password"] == "changed"


def test_sign_in_events(
    login: Login, client_factory: Callable[[], httpx.Client], live: Backend
) -> None:
    mark = last_id(live)
    demo = login("demo", "demo123")
    demo_id = demo.get("/auth/me").json()["id"]
    anon = client_factory()
    assert (
        anon.post("/auth/login", json={"username": "demo", "password": "nope-nope"}).status_code
        == 401
    )
    assert (
        anon.post("/auth/login", json={"username": "ghost", "password": "nope-nope"}).status_code
        == 401
    )
    assert (
        anon.post("/auth/token", json={"username": "demo", "password": "demo123"}).status_code
        == 200
    )
    assert demo.delete("/sessions").status_code == 204
    assert demo.post("/auth/logout").status_code == 204
    found = [(e["event"], e["actor_name"], e["record_id"]) for e in since(live, mark)]
    assert found == [
        ("sign_in", "demo", demo_id),
        ("sign_in_failed", "demo", demo_id),
        ("sign_in_failed", "ghost", None),
        ("token_issued", "demo", demo_id),
        ("sessions_revoked", "demo", demo_id),
        ("sign_out", "demo", found[-1][2]),
    ]


def test_memberships_and_grants_are_events_of_their_own(admin: httpx.Client, live: Backend) -> None:
    roles = {r["name"]: r for r in admin.get("/roles").json()["items"]}
    demo = admin.get("/users", params={"q": "demo"}).json()["items"][0]
    group = admin.post("/groups", json={"name": "auditors"}).json()
    mark = last_id(live)
    manager = roles["manager"]["id"]
    body = {
        "role_ids": [*demo["role_ids"], manager],
        "group_ids": [*demo["group_ids"], group["id"]],
    }
    assert admin.put(f"/users/{demo['id']}", json=body).status_code == 200
    user_role = roles["user"]
    dropped = user_role["permission_ids"][0]
    kept = user_role["permission_ids"][1:]
    assert admin.put(f"/roles/{user_role['id']}", json={"permission_ids": kept}).status_code == 200
    found = [(e["event"], e["resource"], e["record_id"], e["changes"]) for e in since(live, mark)]
    events = [(event, resource, record, changes) for event, resource, record, changes in found]
    assert ("role_granted", "users", demo["id"], {"role_id": manager}) in events
    assert ("group_joined", "users", demo["id"], {"group_id": group["id"]}) in events
    assert ("permission_revoked", "roles", user_role["id"], {"permission_id": dropped}) in events
    syncs = [changes for event, _, _, changes in found if event == "policy_sync"]
    assert len(syncs) == 2 and all(sync["added"] or sync["removed"] for sync in syncs)
    assert [e[0] for e in found].count("updated") == 2
