"""Nobody gains what they do not hold: registration, self-edits, owner fields, references."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.resources import REGISTRY, RESOURCES
from tests.support.callers import Callers, permissions
from tests.support.factories import UserFactory, unique
from tests.support.records import Records, parent_reads

# Resources whose records a caller creates and then owns (a new user row owns itself).
OWNABLE = [res.path for res in RESOURCES if res.create_schema is not None and res.path != "users"]
# Every field through which a write names other records: (resource, field, target resource).
REFERENCES = [
    (res.path, field, target) for res in RESOURCES for field, target in res.references.items()
]


def named(admin: httpx.Client, path: str, name: str) -> dict[str, Any]:
    """Return the `path` record called `name`."""
    items = admin.get(f"/{path}", params={"q": name}).json()["items"]
    return next(item for item in items if item["name"] == name)


def test_registration_grants_only_the_user_role(
    anon: httpx.Client, admin: httpx.Client, login: Callable[[str, str], httpx.Client]
) -> None:
    """Give a registration the `user` role and nothing else, whatever the body claims."""
    admin_role, team = named(admin, "roles", "admin"), named(admin, "groups", "demo-team")
    username = unique("newcomer")
    response = anon.post(
        "/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": "tidal-parsnip-42",
            "role_ids": [admin_role["id"]],
            "roles": ["admin"],
            "group_ids": [team["id"]],
            "groups": ["demo-team"],
            "permissions": ["user:create:all"],
            "is_active": False,
            "is_superuser": True,
            "owner_user_id": 1,
            "owner_group_id": team["id"],
            "hashed_password": "not-a-hash",
            "id": 999,
        },
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["id"] != 999
    assert (user["roles"], user["groups"], user["is_active"]) == (["user"], [], True)
    assert (user["owner_user_id"], user["owner_group_id"]) == (user["id"], None)

    client = login(username, "tidal-parsnip-42")
    me = client.get("/auth/me").json()
    assert me["permissions"] == sorted(named(admin, "roles", "user")["permissions"])
    assert client.get("/roles").status_code == 403


def test_self_edit_is_limited_to_email_name_and_password(
    admin: httpx.Client,
    anon: httpx.Client,
    demo: httpx.Client,
    login: Callable[[str, str], httpx.Client],
    make_user: UserFactory,
) -> None:
    """Let `user:update:own` change email, full name and password, and nothing else (403)."""
    me = demo.get("/auth/me").json()
    url = f"/users/{me['id']}"
    before = admin.get(url).json()
    group = make_user.group()
    for field, value in {
        "role_ids": [named(admin, "roles", "admin")["id"]],
        "group_ids": [group["id"]],
        "is_active": False,
        "username": "renamed",
        "owner_group_id": group["id"],
    }.items():
        response = demo.put(url, json={field: value, "full_name": "Sneaky"})
        assert response.status_code == 403, (field, response.text)
        assert admin.get(url).json() == before, field
    admin_url = f"/users/{admin.get('/auth/me').json()['id']}"
    assert demo.put(admin_url, json={"full_name": "Sneaky"}).status_code == 404

    change = {"email": "demo.new@example.com", "full_name": "Demo Renamed"}
    response = demo.put(
        url, json=change | {"password": "new-password", "current_password": "demo123"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == before | change | {"updated_at": response.json()["updated_at"]}
    assert login("demo", "new-password").get("/auth/me").status_code == 200
    old = anon.post("/auth/login", json={"username": "demo", "password": "demo123"})
    assert old.status_code == 401


def test_demo_cannot_give_records_away(
    admin: httpx.Client, demo: httpx.Client, records: Records
) -> None:
    """Refuse (403) demo a customer owned by admin, and moving its project to admin."""
    admin_id = admin.get("/auth/me").json()["id"]
    refused = demo.post("/customers", json={"name": "Acme", "owner_user_id": admin_id})
    assert refused.status_code == 403, refused.text
    assert records.total("customers") == 0

    project = demo.post("/projects", json={"name": "Mine"}).json()
    url = f"/projects/{project['id']}"
    moved = demo.put(url, json={"owner_user_id": admin_id})
    assert moved.status_code == 403, moved.text
    assert admin.get(url).json() == project


def test_group_reader_cannot_claim_a_teammates_record(
    admin: httpx.Client, demo: httpx.Client, make_user: UserFactory
) -> None:
    """Refuse (403) `update:own` on a record it only reads through its group, even to claim it."""
    team = named(admin, "groups", "demo-team")
    _, teammate = make_user(roles=("user",), groups=(team["id"],))
    created = teammate.post("/customers", json={"name": "Theirs"})
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["owner_group_id"] == team["id"]
    url = f"/customers/{customer['id']}"
    demo_id = demo.get("/auth/me").json()["id"]

    assert demo.get(url).status_code == 200
    for change in ({"name": "Mine now"}, {"owner_user_id": demo_id}):
        response = demo.put(url, json=change)
        assert response.status_code == 403, (change, response.text)
    assert demo.delete(url).status_code == 403
    assert admin.get(url).json() == customer


@pytest.mark.parametrize("path", OWNABLE)
def test_owner_fields_stay_within_held_scopes(
    path: str, admin: httpx.Client, callers: Callers, make_user: UserFactory, records: Records
) -> None:
    """Refuse (403) creating or moving a record to owners outside the caller's scopes."""
    admin_id = admin.get("/auth/me").json()["id"]
    actions = ("create", "read", "update")
    me, own = callers(*permissions(path, "own", actions), *parent_reads(path, "own"))
    body = records.body(path, owner_user_id=me["id"])
    before = records.total(path)
    for owner in (admin_id, None):
        refused = own.post(f"/{path}", json=body | {"owner_user_id": owner})
        assert refused.status_code == 403, (owner, refused.text)
    assert records.total(path) == before
    created = own.post(f"/{path}", json=body)
    assert created.status_code == 201, created.text
    record = created.json()
    for owner in (admin_id, None):
        moved = own.put(f"/{path}/{record['id']}", json={"owner_user_id": owner})
        assert moved.status_code == 403, (owner, moved.text)
    assert admin.get(f"/{path}/{record['id']}").json() == record

    team, elsewhere = make_user.group(), make_user.group()
    _, member = callers(
        *permissions(path, "group", actions), *parent_reads(path, "group"), groups=(team["id"],)
    )
    body = records.body(path, owner_group_id=team["id"])
    refused = member.post(f"/{path}", json=body | {"owner_group_id": elsewhere["id"]})
    assert refused.status_code == 403, refused.text
    created = member.post(f"/{path}", json=body)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["owner_group_id"] == team["id"]  # the caller's group by default
    for group_id in (elsewhere["id"], None):
        moved = member.put(f"/{path}/{record['id']}", json={"owner_group_id": group_id})
        assert moved.status_code == 403, (group_id, moved.text)
    assert admin.get(f"/{path}/{record['id']}").json() == record


@pytest.mark.parametrize(("path", "field", "target"), REFERENCES)
def test_references_must_be_readable(
    path: str, field: str, target: str, admin: httpx.Client, callers: Callers, records: Records
) -> None:
    """Refuse (422) a write naming a record the caller cannot read, and write nothing."""
    # A new user row owns itself: only `all` lets its creator read and edit it afterwards.
    scope = "all" if path == "users" else "own"
    me, client = callers(
        *permissions(path, scope, ("create", "read", "update")),
        f"{REGISTRY[target].policy_model}:read:own",
        *parent_reads(path, "own"),
    )
    admin_id = admin.get("/auth/me").json()["id"]
    hidden = records.owned_by(target, admin_id)["id"]
    visible = records.owned_by(target, me["id"])["id"]
    if field == "permission_ids":  # a role gets only what its editor holds (delegation.py)
        [role_id] = me["role_ids"]
        held = admin.get(f"/roles/{role_id}").json()["permission_ids"]
        given = admin.put(f"/roles/{role_id}", json={"permission_ids": [*held, visible]})
        assert given.status_code == 200, given.text

    def ref(record_id: int) -> int | list[int]:
        return [record_id] if field.endswith("_ids") else record_id

    body = records.body(path, owner_user_id=me["id"])
    if field == "condition_id":  # a permission's condition is one of its own model
        body["model"] = admin.get(f"/{target}/{visible}").json()["model"]
    before = records.total(path)
    refused = client.post(f"/{path}", json=body | {field: ref(hidden)})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", field]
    assert records.total(path) == before

    created = client.post(f"/{path}", json=body | {field: ref(visible)})
    assert created.status_code == 201, created.text
    record = created.json()
    url = f"/{path}/{record['id']}"
    moved = client.put(url, json={field: ref(hidden)})
    assert moved.status_code == 422, moved.text
    assert admin.get(url).json() == record
