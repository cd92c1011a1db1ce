"""`PUT /roles/{id}?dry_run=1`: who would gain and lose which permissions, in names, with
the refusals of the real update and nothing written (role, audit log, Casbin policy)."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.models import CasbinRule, PolicyState
from app.models.audit import AuditEntry
from tests.conftest import Backend
from tests.support.callers import Callers
from tests.support.checks import assert_422_naming, db
from tests.support.factories import UserFactory

pytestmark = pytest.mark.no_server_errors


def stored(live: Backend) -> tuple[int, int, list[tuple[Any, ...]]]:
    """Return what a write would change beside the record: the audit log's size, the policy
    revision and the Casbin rules."""
    with db(live.settings) as connection:
        entries = connection.scalar(select(func.count()).select_from(AuditEntry)) or 0
        revision = connection.scalar(select(PolicyState.revision)) or 0
        table = CasbinRule.__table__
        rules = connection.execute(select(*table.c).order_by(table.c.id)).all()
    return entries, revision, [tuple(rule) for rule in rules]


def held(client: httpx.Client) -> list[str]:
    """Return the permissions the policy gives the client's user (`/auth/me`)."""
    return client.get("/auth/me").json()["permissions"]


def dry_run(
    client: httpx.Client, role_id: int, body: dict[str, Any], flag: str = "1"
) -> httpx.Response:
    """Try `PUT /roles/{role_id}` with `body` (`dry_run=flag`)."""
    return client.put(f"/roles/{role_id}", params={"dry_run": flag}, json=body)


def test_dry_run_names_who_gains_and_loses_and_writes_nothing(
    admin: httpx.Client, callers: Callers, make_user: UserFactory, live: Backend
) -> None:
    """Members' gains and losses by name; a permission another role gives is not reported."""
    role = callers.role("task:delete:own", "customer:read:own")
    other = callers.role("customer:read:own")
    alone, alone_client = make_user(roles=(role["name"],))
    both, both_client = make_user(roles=(role["name"], other["name"]))
    make_user(roles=(other["name"],))  # not a member: never listed
    body = {"permission_ids": callers.permission_ids("task:delete:all")}
    members = ((alone, alone_client), (both, both_client))
    was = {user["id"]: held(client) for user, client in members}
    before = stored(live)

    response = dry_run(admin, role["id"], body)

    assert response.status_code == 200, response.text
    expected = [
        {
            "user": alone["username"],
            "user_id": alone["id"],
            "gained": ["task:delete:all"],
            "lost": ["customer:read:own", "task:delete:own"],
        },
        {
            "user": both["username"],
            "user_id": both["id"],
            "gained": ["task:delete:all"],
            "lost": ["task:delete:own"],
        },
    ]
    expected.sort(key=lambda change: change["user"])
    assert response.json() == {
        "dry_run": True,
        "role": role["name"],
        "changes": expected,
        "hidden": 0,
    }
    assert admin.get(f"/roles/{role['id']}").json() == role
    assert stored(live) == before
    assert {user["id"]: held(client) for user, client in members} == was
    assert alone_client.get("/customers").status_code == 200  # the old rules still decide

    # The real update does what the dry run said.
    assert admin.put(f"/roles/{role['id']}", json=body).status_code == 200
    clients = {user["id"]: client for user, client in members}
    for change in expected:
        now = set(was[change["user_id"]]) - set(change["lost"]) | set(change["gained"])
        assert held(clients[change["user_id"]]) == sorted(now)


@pytest.mark.parametrize("flag", ["1", "true"])
def test_a_change_no_member_feels_lists_no_one(
    admin: httpx.Client, callers: Callers, make_user: UserFactory, flag: str
) -> None:
    """A new name, or a grant every member already holds through another role: no changes."""
    role = callers.role("tag:read:own")
    make_user(roles=(role["name"], callers.role("tag:read:own", "tag:read:all")["name"]))
    body = {
        "name": role["name"] + "-renamed",
        "permission_ids": callers.permission_ids("tag:read:all"),
    }

    response = dry_run(admin, role["id"], body, flag)

    assert response.status_code == 200, response.text
    assert response.json() == {"dry_run": True, "role": role["name"], "changes": [], "hidden": 0}
    assert admin.get(f"/roles/{role['id']}").json()["name"] == role["name"]


@pytest.mark.parametrize("flag", ["0", "false"])
def test_dry_run_off_is_the_real_update(admin: httpx.Client, callers: Callers, flag: str) -> None:
    role = callers.role()
    response = dry_run(admin, role["id"], {"description": "saved"}, flag)
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "saved"
    assert admin.get(f"/roles/{role['id']}").json()["description"] == "saved"


def test_invalid_input_is_refused_as_by_the_real_update(
    admin: httpx.Client, callers: Callers, live: Backend
) -> None:
    """A bad body or a bad flag: 422, nothing written."""
    role = callers.role("tag:read:own")
    before = stored(live)
    assert_422_naming(dry_run(admin, role["id"], {"name": ""}), "name")
    assert_422_naming(dry_run(admin, role["id"], {"permission_ids": [999_999]}), "permission_ids")
    assert_422_naming(dry_run(admin, role["id"], {"permission_ids": "all"}), "permission_ids")
    assert_422_naming(dry_run(admin, role["id"], {}, "maybe"), "dry_run")
    taken = dry_run(admin, role["id"], {"name": "admin"})
    assert taken.status_code == 409, taken.text
    assert admin.get(f"/roles/{role['id']}").json() == role
    assert stored(live) == before


def test_callers_who_may_not_update_the_role_are_refused_alike(
    admin: httpx.Client, demo: httpx.Client, callers: Callers, live: Backend
) -> None:
    """The dry run answers what the real update answers: 404 unreadable, 403 read-only."""
    role = callers.role("tag:read:own")
    _, reader = callers("role:read:all")
    body = {"permission_ids": []}
    before = stored(live)
    for client, status in ((demo, 404), (reader, 403)):
        assert dry_run(client, role["id"], body).status_code == status
        assert client.put(f"/roles/{role['id']}", json=body).status_code == status
    assert dry_run(admin, 999_999, body).status_code == 404
    assert admin.get(f"/roles/{role['id']}").json() == role
    assert stored(live) == before


def test_a_dry_run_that_would_lock_everyone_out_is_refused(
    admin: httpx.Client, make_user: UserFactory, live: Backend
) -> None:
    """Emptying the only admin's role: 409, as the real update answers."""
    admin_role = admin.get(f"/roles/{make_user.role_id('admin')}").json()
    before = stored(live)

    response = dry_run(admin, admin_role["id"], {"permission_ids": []})

    assert response.status_code == 409, response.text
    assert "no active user could manage users and roles" in response.json()["detail"]
    assert admin.get(f"/roles/{admin_role['id']}").json() == admin_role
    assert stored(live) == before


def test_other_resources_refuse_the_flag(admin: httpx.Client, live: Backend) -> None:
    """Only updates that can be tried first take `dry_run`: elsewhere 422, never a write."""
    tag = admin.post("/tags", json={"name": "untried"}).json()
    response = admin.put(f"/tags/{tag['id']}", params={"dry_run": "1"}, json={"name": "tried"})
    assert_422_naming(response, "dry_run")
    assert admin.get(f"/tags/{tag['id']}").json()["name"] == "untried"


def test_members_the_editor_may_not_read_are_counted_not_named(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """An editor of roles who may not read users learns how many members would change,
    never who; one who reads their own row sees themselves named."""
    editor_perms = ("role:read:all", "role:update:all", "permission:read:all")
    _, blind = callers(*editor_perms)
    user_role = make_user.role_id("user")
    response = dry_run(blind, user_role, {"permission_ids": []})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changes"] == [] and body["hidden"] >= 1
    assert "demo" not in response.text

    role = callers.role("tag:read:own", "customer:read:own")
    for _ in range(2):
        make_user(roles=(role["name"],))
    me, self_reader = callers(*editor_perms, "user:read:own")
    joined = admin.put(f"/users/{me['id']}", json={"role_ids": [*me["role_ids"], role["id"]]})
    assert joined.status_code == 200, joined.text
    response = dry_run(self_reader, role["id"], {"permission_ids": []})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": True,
        "role": role["name"],
        "changes": [
            {
                "user": me["username"],
                "user_id": me["id"],
                "gained": [],
                "lost": ["customer:read:own", "tag:read:own"],
            }
        ],
        "hidden": 2,
    }
    assert len(dry_run(admin, role["id"], {"permission_ids": []}).json()["changes"]) == 3
