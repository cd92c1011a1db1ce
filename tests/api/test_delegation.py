"""A grant delegates only what the granter holds: editing a role's permissions, a user's
roles, a group's members or what a permission grants may add only what the editor holds at
that scope or wider (403 naming the rest); the admin role, holding everything, may grant
anything."""

from typing import Any

import httpx
import pytest

from tests.support.callers import Callers
from tests.support.factories import UserFactory

pytestmark = pytest.mark.no_server_errors

# Edits roles and reads permissions: without the rule, admin in disguise.
ROLE_EDITOR = ("role:read:all", "role:update:all", "permission:read:all")


def every_permission(admin: httpx.Client) -> list[dict[str, Any]]:
    page = admin.get("/permissions", params={"limit": 200}).json()
    assert page["total"] <= 200
    return page["items"]


def refused_naming(response: httpx.Response, *names: str) -> None:
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert "you may grant only what you hold" in detail, detail
    for name in names:
        assert name in detail, (name, detail)


def test_a_role_editor_cannot_give_their_own_role_everything(
    admin: httpx.Client, callers: Callers
) -> None:
    me, editor = callers(*ROLE_EDITOR)
    [role_id] = me["role_ids"]
    before = admin.get(f"/roles/{role_id}").json()
    everything = [item["id"] for item in every_permission(admin)]
    for params in ({}, {"dry_run": "1"}):  # the preview refuses alike
        answer = editor.put(f"/roles/{role_id}", params=params, json={"permission_ids": everything})
        refused_naming(answer, "user:update:all", "task:delete:all", "audit:read:all")
        assert "role:update:all," not in answer.json()["detail"]  # held: not named
    assert admin.get(f"/roles/{role_id}").json() == before
    assert sorted(editor.get("/auth/me").json()["permissions"]) == sorted(ROLE_EDITOR)


def test_what_the_editor_holds_may_be_granted_at_that_scope_or_narrower(
    admin: httpx.Client, callers: Callers
) -> None:
    _, editor = callers(*ROLE_EDITOR, "role:create:all", "task:read:all", "tag:update:own")
    other = callers.role()
    grant = callers.permission_ids("task:read:all", "task:read:own", "task:read:group")
    granted = editor.put(f"/roles/{other['id']}", json={"permission_ids": grant})
    assert granted.status_code == 200, granted.text
    wider = callers.permission_ids("tag:update:own", "tag:update:all")
    refused_naming(
        editor.put(f"/roles/{other['id']}", json={"permission_ids": wider}), "tag:update:all"
    )
    group = callers.permission_ids("tag:update:group")
    refused_naming(
        editor.put(f"/roles/{other['id']}", json={"permission_ids": group}), "tag:update:group"
    )
    made = {"name": "made", "permission_ids": callers.permission_ids("tag:update:all")}
    refused_naming(editor.post("/roles", json=made), "tag:update:all")
    # Taking away is never an escalation; keeping what the role already had is no grant.
    kept = grant[:1]
    assert editor.put(f"/roles/{other['id']}", json={"permission_ids": kept}).status_code == 200
    assert admin.get(f"/roles/{other['id']}").json()["permissions"] == ["task:read:all"]


def test_a_user_editor_cannot_take_roles_beyond_their_own(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    me, editor = callers(
        "user:create:all", "user:read:all", "user:update:all", "role:read:all", "tag:read:all"
    )
    admin_role = make_user.role_id("admin")
    taken = editor.put(f"/users/{me['id']}", json={"role_ids": [*me["role_ids"], admin_role]})
    refused_naming(taken, "user:delete:all", "role:update:all")
    someone, _ = make_user(roles=())
    given = editor.put(f"/users/{someone['id']}", json={"role_ids": [admin_role]})
    refused_naming(given, "permission:create:all")
    made = editor.post(
        "/users",
        json={
            "username": "made-admin",
            "email": "made-admin@example.com",
            "password": "tidal-parsnip-42",
            "role_ids": [admin_role],
        },
    )
    refused_naming(made, "user:delete:all")
    readers = callers.role("tag:read:all", "user:read:own")
    fine = editor.put(f"/users/{someone['id']}", json={"role_ids": [readers["id"]]})
    assert fine.status_code == 200, fine.text
    assert admin.get(f"/users/{me['id']}").json()["role_ids"] == me["role_ids"]


def test_joining_a_group_reaches_only_what_the_editor_reaches_there(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """A member reaches a group's records through their `group` permissions: added to it by
    an editor who reaches them too (the same `all`, or the same `group` and a member)."""
    team = make_user.group()
    editor_perms = ("group:read:all", "group:update:all", "user:read:all", "user:update:all")
    me, outsider = callers(*editor_perms, "task:read:group")
    joined = outsider.put(f"/groups/{team['id']}", json={"member_ids": [me["id"]]})
    refused_naming(joined, f"task:read over the records of {team['name']}")
    joined = outsider.put(f"/users/{me['id']}", json={"group_ids": [team["id"]]})
    refused_naming(joined, f"task:read over the records of {team['name']}")
    assert admin.get(f"/groups/{team['id']}").json()["member_ids"] == []

    member, insider = callers(*editor_perms, "task:read:group", groups=(team["id"],))
    newcomer, _ = callers("task:read:group")
    added = insider.put(
        f"/groups/{team['id']}", json={"member_ids": [member["id"], newcomer["id"]]}
    )
    assert added.status_code == 200, added.text
    reader, _ = callers("task:update:group")  # reaches more than the insider does there
    more = [member["id"], newcomer["id"], reader["id"]]
    refused_naming(
        insider.put(f"/groups/{team['id']}", json={"member_ids": more}), "task:update over"
    )
    _, wide = callers(*editor_perms, "task:read:all", "task:update:all")
    assert wide.put(f"/groups/{team['id']}", json={"member_ids": more}).status_code == 200


def test_a_permission_editor_cannot_turn_a_held_permission_into_another(
    admin: httpx.Client, callers: Callers
) -> None:
    _, editor = callers("permission:read:all", "permission:update:all", "tag:read:own")
    [tag_read_own] = callers.permission_ids("tag:read:own")
    changed = {"model": "user", "action": "update", "scope": "all"}
    refused_naming(editor.put(f"/permissions/{tag_read_own}", json=changed), "user:update:all")
    refused_naming(
        editor.put(f"/permissions/{tag_read_own}", json={"scope": "all"}), "tag:read:all"
    )
    described = editor.put(f"/permissions/{tag_read_own}", json={"description": "reads own tags"})
    assert described.status_code == 200, described.text
    assert "tag:read:own" in editor.get("/auth/me").json()["permissions"]


def test_the_admin_role_may_grant_anything(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    role = callers.role()
    everything = [item["id"] for item in every_permission(admin)]
    assert admin.put(f"/roles/{role['id']}", json={"permission_ids": everything}).status_code == 200
    odd = admin.post("/permissions", json={"model": "forecast", "action": "read", "scope": "own"})
    assert odd.status_code == 201, odd.text
    role = callers.role()
    answer = admin.put(f"/roles/{role['id']}", json={"permission_ids": [odd.json()["id"]]})
    assert answer.status_code == 200, answer.text
    team = make_user.group()
    someone, _ = callers("task:update:group")
    assert admin.put(f"/users/{someone['id']}", json={"group_ids": [team["id"]]}).status_code == 200


def test_a_role_renamed_to_the_registration_role_gives_its_all_to_strangers(
    admin: httpx.Client, callers: Callers, make_user: UserFactory, anon: httpx.Client
) -> None:
    """Whoever registers gets the role named `user`: renaming another role to it is a grant
    of everything that role holds, to anyone."""
    _, editor = callers("role:read:all", "role:update:all")
    user_role, admin_role = make_user.role_id("user"), make_user.role_id("admin")
    assert editor.put(f"/roles/{user_role}", json={"name": "former-user"}).status_code == 200
    refused_naming(editor.put(f"/roles/{admin_role}", json={"name": "user"}), "user:delete:all")
    assert admin.get(f"/roles/{admin_role}").json()["name"] == "admin"
    mine = callers.role("role:read:all")  # within what the editor holds
    assert editor.put(f"/roles/{mine['id']}", json={"name": "user"}).status_code == 200
    body = {"username": "stranger", "email": "stranger@example.com", "password": "tidal-x-42"}
    assert anon.post("/auth/register", json=body).status_code == 201
    signed = anon.post("/auth/login", json={"username": "stranger", "password": body["password"]})
    assert signed.status_code == 200
    assert anon.get("/auth/me").json()["permissions"] == ["role:read:all"]


def test_setting_a_stronger_users_password_is_acting_as_them(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    helpdesk_perms = ("user:read:all", "user:update:all", "tag:read:all", "tag:update:own")
    _, helpdesk = callers(*helpdesk_perms)
    admin_id = admin.get("/auth/me").json()["id"]
    reset = helpdesk.put(f"/users/{admin_id}", json={"password": "tidal-taken-over-1"})
    refused_naming(reset, "user:delete:all")
    assert "would let you act as them" in reset.json()["detail"]
    weaker, _ = callers("tag:read:all")
    done = helpdesk.put(f"/users/{weaker['id']}", json={"password": "tidal-helped-out-1"})
    assert done.status_code == 200, done.text
    renamed = helpdesk.put(f"/users/{admin_id}", json={"full_name": "The Admin"})
    assert renamed.status_code == 200, renamed.text  # no password: nothing to act with


def test_a_group_permission_given_to_people_in_a_group_reaches_only_what_the_editor_does(
    admin: httpx.Client, callers: Callers, make_user: UserFactory
) -> None:
    """`task:read:group` given to someone in a group the editor does not reach: as if they
    added themselves to it."""
    team = make_user.group()
    member, _ = callers(groups=(team["id"],))
    role = callers.role()
    assert admin.put(f"/users/{member['id']}", json={"role_ids": [role["id"]]}).status_code == 200
    editor_perms = (*ROLE_EDITOR, "user:read:all", "user:update:all", "task:read:group")
    _, outsider = callers(*editor_perms)
    grant = {"permission_ids": callers.permission_ids("task:read:group")}
    unseen = f"task:read over the records of group #{team['id']}"  # a group it cannot read
    refused_naming(outsider.put(f"/roles/{role['id']}", json=grant), unseen)
    reader = callers.role("task:read:group")
    refused_naming(
        outsider.put(f"/users/{member['id']}", json={"role_ids": [reader["id"]]}), unseen
    )
    _, insider = callers(*editor_perms, groups=(team["id"],))
    assert insider.put(f"/roles/{role['id']}", json=grant).status_code == 200
    _, permission_editor = callers("permission:read:all", "permission:update:all", "tag:read:group")
    [tag_read_group] = callers.permission_ids("tag:read:group")
    readers = callers.role("tag:read:group")
    assert (
        admin.put(f"/users/{member['id']}", json={"role_ids": [readers["id"]]}).status_code == 200
    )
    refused_naming(
        permission_editor.put(f"/permissions/{tag_read_group}", json={"model": "task"}),
        "task:read:group",
    )


def test_a_permission_with_a_condition_is_narrower_than_the_same_without(
    admin: httpx.Client, callers: Callers
) -> None:
    """`task:update:own[open]` may be granted by whoever holds it, or `task:update:own`; its
    holder may grant neither the permission without the condition nor drop the condition."""
    body = {"name": "open", "model": "task", "expression": 'record.status != "done"'}
    made = admin.post("/conditions", json=body)
    assert made.status_code == 201, made.text
    body = {"model": "task", "action": "update", "scope": "own", "condition_id": made.json()["id"]}
    conditioned = admin.post("/permissions", json=body)
    assert conditioned.status_code == 201, conditioned.text
    narrow = callers.permission_ids("task:update:own[open]")
    for held in ("task:update:own", "task:update:own[open]"):
        _, editor = callers(*ROLE_EDITOR, held)
        role = callers.role()
        given = editor.put(f"/roles/{role['id']}", json={"permission_ids": narrow})
        assert given.status_code == 200, (held, given.text)
        assert given.json()["permissions"] == ["task:update:own[open]"]
    _, holder = callers(*ROLE_EDITOR, "permission:update:all", "task:update:own[open]")
    wider = {"permission_ids": callers.permission_ids("task:update:own")}
    refused_naming(holder.put(f"/roles/{callers.role()['id']}", json=wider), "task:update:own")
    dropped = holder.put(f"/permissions/{narrow[0]}", json={"condition_id": None})
    refused_naming(dropped, "task:update:own")
