"""Permission, role and membership changes made through the API bind the very next request,
and each, synced only for the subjects it touched, leaves the Casbin table exactly what a full
reconciliation would make it."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.crud.policy import PolicyDiff, sync_policy
from tests.conftest import Backend
from tests.policy.population import open_db, run
from tests.support.callers import Callers
from tests.support.factories import UserFactory
from tests.support.records import Records


async def drift(settings: Settings) -> PolicyDiff:
    async with open_db(settings) as sessions, sessions() as session:
        return await sync_policy(session, dry_run=True)


@pytest.fixture(autouse=True)
def no_drift(live: Backend) -> Iterator[None]:
    """After the test's changes, `policy sync` would find nothing to change."""
    yield
    found = run(drift(live.settings))
    assert not found.changed, found


def put(client: httpx.Client, url: str, body: dict[str, Any]) -> None:
    response = client.put(url, json=body)
    assert response.status_code == 200, response.text


def held(client: httpx.Client) -> list[str]:
    """Return the permissions `/auth/me` reports for the client's user."""
    return client.get("/auth/me").json()["permissions"]


def test_permission_added_to_or_removed_from_a_role(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """Apply `PUT /roles/{id}` permission_ids to the role's holders at once."""
    role = callers.role()
    _, client = make_user(roles=(role["name"],))
    assert client.get("/customers").status_code == 403

    put(
        admin,
        f"/roles/{role['id']}",
        {"permission_ids": callers.permission_ids("customer:read:own")},
    )
    assert client.get("/customers").status_code == 200
    assert held(client) == ["customer:read:own"]

    put(admin, f"/roles/{role['id']}", {"permission_ids": []})
    assert client.get("/customers").status_code == 403
    assert held(client) == []


def test_role_given_to_or_taken_from_a_user(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """Apply `PUT /users/{id}` role_ids to that user at once."""
    role = callers.role("customer:read:own")
    user, client = make_user(roles=())
    assert client.get("/customers").status_code == 403

    put(admin, f"/users/{user['id']}", {"role_ids": [role["id"]]})
    assert client.get("/customers").status_code == 200

    put(admin, f"/users/{user['id']}", {"role_ids": []})
    assert client.get("/customers").status_code == 403


@pytest.mark.parametrize("via", ["group member_ids", "user group_ids"])
def test_group_membership_given_and_taken(
    via: str, admin: httpx.Client, make_user: UserFactory, records: Records
) -> None:
    """Apply a membership change, from either side, to group-scoped reads at once."""
    group = make_user.group()
    customer = records.create("customers", owner_group_id=group["id"])
    user, client = make_user(roles=("user",))  # holds customer:read:group
    url = f"/customers/{customer['id']}"

    def join(member: bool) -> None:
        if via == "group member_ids":
            put(admin, f"/groups/{group['id']}", {"member_ids": [user["id"]] if member else []})
        else:
            put(admin, f"/users/{user['id']}", {"group_ids": [group["id"]] if member else []})

    assert client.get(url).status_code == 404
    join(True)
    assert client.get(url).status_code == 200
    assert [item["id"] for item in client.get("/customers").json()["items"]] == [customer["id"]]
    join(False)
    assert client.get(url).status_code == 404
    assert client.get("/customers").json()["items"] == []


def test_deleted_role_stops_granting(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """Take a deleted role's permissions from its holders at once."""
    role = callers.role("customer:read:own")
    _, client = make_user(roles=(role["name"],))
    assert client.get("/customers").status_code == 200

    assert admin.delete(f"/roles/{role['id']}").status_code == 204
    assert client.get("/customers").status_code == 403
    assert held(client) == []


def test_deleted_permission_stops_granting(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """Take a deleted permission from every role holding it, and nothing else."""
    role = callers.role("customer:read:own", "customer:create:own")
    _, client = make_user(roles=(role["name"],))
    assert client.get("/customers").status_code == 200

    (read_own,) = callers.permission_ids("customer:read:own")
    assert admin.delete(f"/permissions/{read_own}").status_code == 204
    assert client.get("/customers").status_code == 403
    assert client.post("/customers", json={"name": "Still allowed"}).status_code == 201
    assert held(client) == ["customer:create:own"]


def test_edited_permission_grants_its_new_meaning(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """Apply `PUT /permissions/{id}` to every role holding the permission at once."""
    role = callers.role("customer:read:own")
    _, client = make_user(roles=(role["name"],))
    assert client.get("/customers").status_code == 200

    (read_own,) = callers.permission_ids("customer:read:own")
    put(admin, f"/permissions/{read_own}", {"model": "widget"})
    assert client.get("/customers").status_code == 403
    assert held(client) == ["widget:read:own"]


def test_deleted_users_grants_do_not_pass_to_the_next_account(
    admin: httpx.Client, anon: httpx.Client, make_user: UserFactory
) -> None:
    """Drop a deleted user's roles from the policy, even where the id is reused (SQLite)."""
    user, client = make_user(roles=("admin",))
    assert admin.delete(f"/users/{user['id']}").status_code == 204
    assert client.get("/auth/me").status_code == 401

    body = {
        "username": "successor",
        "email": "successor@example.com",
        "password": "tidal-parsnip-42",
    }
    assert anon.post("/auth/register", json=body).status_code == 201
    assert anon.post("/auth/login", json=body).status_code == 200
    assert anon.get("/roles").status_code == 403
    assert "user:read:all" not in held(anon)
