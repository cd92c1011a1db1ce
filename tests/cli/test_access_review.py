"""The `policy` command as auditors use it: check with a scope, who-can, report, diff,
history, lint's hygiene findings and audit pruning, all in names (`policy test`:
`test_policy_tests.py`)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from app.models import CasbinRule, Permission, role_permissions
from app.models.audit import AuditEntry
from tests.cli.conftest import PolicyRunner, permission_id, permission_ids
from tests.conftest import Backend
from tests.support.checks import db
from tests.support.factories import UserFactory
from tests.support.records import Records


def team_id(admin: httpx.Client) -> int:
    return admin.get("/groups", params={"q": "demo-team"}).json()["items"][0]["id"]


# check, with a scope and in names


def test_check_with_a_scope_says_which_scope_is_held(policy: PolicyRunner) -> None:
    denied = policy("check", "demo", "task:delete:all")
    assert denied.code == 1
    assert denied.out.startswith("DENY: demo task:delete:all")
    assert "demo holds task:delete only with scope own" in denied.out
    held = policy("check", "demo", "task:delete:own")
    assert held.code == 0 and "via role user: task:delete:own" in held.out
    assert policy("check", "DEMO", "task:delete:own").code == 0, "usernames in any case"
    admin = policy("check", "admin", "audit:read:all", "--json").json()
    assert admin["matched"] == [{"role": "admin", "rule": "audit:read:all"}]
    nothing = policy("check", "demo", "role:update:all")
    assert nothing.code == 1 and "no rule for role:update in demo's roles (user)" in nothing.out


def test_check_on_a_record_names_its_owners(
    policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory
) -> None:
    owner, _ = make_user()
    task = Records(admin).create("tasks", owner_user_id=owner["id"], owner_group_id=team_id(admin))
    record = str(task["id"])
    group_read = policy("check", "demo", "task:read:group", "--record", record)
    assert group_read.code == 0, group_read.out
    assert f"record: owner {owner['username']}, group demo-team" in group_read.out
    own_read = policy("check", "demo", "task:read:own", "--record", record)
    assert own_read.code == 1
    assert f"(owner {owner['username']}, group demo-team) is outside it" in own_read.out
    assert "u:" not in own_read.out and "g:" not in own_read.out, "names, not ids"
    everything = policy("check", "admin", "task:delete:all", "--record", record, "--json").json()
    assert everything["allowed"] is True
    assert everything["record"] == {
        "id": task["id"],
        "owner": owner["username"],
        "group": "demo-team",
    }
    with_ids = policy("check", "demo", "task:read", "--record", record, "--ids")
    assert f"owner {owner['username']} (u:{owner['id']})" in with_ids.out
    assert with_ids.out.startswith("ALLOW: demo (u:")


# who-can


def test_who_can_names_the_role_and_the_groups_reached(
    policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory
) -> None:
    manager, _ = make_user(roles=("manager",), groups=(team_id(admin),))
    rows = policy("who-can", "task:update:group", "--json").json()["users"]
    assert rows == [
        {
            "user": manager["username"],
            "active": True,
            "role": "manager",
            "scope": "group",
            "condition": None,
            "groups": ["demo-team"],
        }
    ]
    text = policy("who-can", "task:read")
    assert text.code == 0
    lines = {tuple(line.split()) for line in text.out.splitlines()[2:]}
    assert ("demo", "user", "group", "demo-team") in lines
    assert ("admin", "admin", "all") in lines
    ids = policy("who-can", "task:update:group", "--json", "--ids").json()["users"][0]
    assert ids["user_id"] == manager["id"] and ids["group_ids"] == [team_id(admin)]


# report and diff


def test_report_lists_every_user_and_where_each_permission_comes_from(
    policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory
) -> None:
    both, _ = make_user(roles=("user", "manager"), groups=(team_id(admin),))
    nobody, _ = make_user(roles=())
    found = policy("report", "--format", "json").json()
    users = {user["user"]: user for user in found["users"]}
    assert list(users) == sorted(users)
    held = {p["permission"]: p["roles"] for p in users[both["username"]]["permissions"]}
    assert held["task:read:group"] == ["user", "manager"] or held["task:read:group"] == [
        "manager",
        "user",
    ]
    assert held["task:delete:group"] == ["manager"]
    assert held["task:delete:own"] == ["user"]
    assert "audit:read:all" in {p["permission"] for p in users["admin"]["permissions"]}
    assert (
        users[nobody["username"]]["permissions"] == [] and users[nobody["username"]]["roles"] == []
    )
    assert "user_id" not in users["admin"]
    assert policy("report", "--json", "--ids").json()["users"][0]["user_id"] > 0

    table = policy("report")
    assert table.code == 0
    assert f"{nobody['username']}  (no permissions)" in table.out
    rows = list(csv.DictReader(io.StringIO(policy("report", "--format", "csv").out)))
    demo = [row for row in rows if row["user"] == "demo"]
    assert {row["permission"] for row in demo} >= {"task:read:group", "task:update:own"}
    group_row = next(row for row in demo if row["permission"] == "task:read:group")
    assert group_row["via roles"] == "user" and group_row["groups reached"] == "demo-team"
    assert group_row["active"] == "true"


def test_diff_lists_who_gained_and_lost_what(
    policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory, tmp_path: Path
) -> None:
    bob, _ = make_user()
    before = tmp_path / "before.json"
    before.write_text(policy("report", "--format", "json").out)
    same = policy("diff", str(before))
    assert same.code == 0 and "no change in access" in same.out

    admin_role = admin.get("/roles", params={"q": "admin"}).json()["items"][0]["id"]
    user_role = admin.get("/roles", params={"q": "user"}).json()["items"]
    user_role_id = next(r["id"] for r in user_role if r["name"] == "user")
    assert admin.put(f"/users/{bob['id']}", json={"role_ids": [admin_role]}).status_code == 200
    _, granted = permission_ids(admin, "user")
    lost = permission_id(admin, "comment:delete:own")
    kept = [p for p in granted if p != lost]
    assert admin.put(f"/roles/{user_role_id}", json={"permission_ids": kept}).status_code == 200

    changed = policy("diff", str(before))
    assert changed.code == 1, changed.out + changed.err
    assert f"+ {bob['username']} role:update:all (via admin)" in changed.out
    assert f"- {bob['username']} task:update:own (via user)" in changed.out
    assert "- demo comment:delete:own (via user)" in changed.out
    assert f"  {bob['username']}: roles user -> admin" in changed.out
    after = tmp_path / "after.json"
    after.write_text(policy("report", "--format", "json").out)
    both = policy("diff", str(before), str(after), "--json")
    assert both.code == 1
    changes = {c["user"]: c for c in both.json()["changes"]}
    assert {p["permission"] for p in changes["demo"]["lost"]} == {"comment:delete:own"}
    assert changes["demo"]["gained"] == []
    assert "admin" not in changes
    assert policy("diff", str(after), str(after)).code == 0


@pytest.mark.parametrize("content", ["{not json", '{"users": []}', "[]"])
def test_diff_refuses_what_is_not_a_report(
    policy: PolicyRunner, tmp_path: Path, content: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = policy("diff", str(bad))
    assert result.code == 2 and "bad.json" in result.err
    assert policy("diff", str(tmp_path / "missing.json")).code == 2


# history


def test_history_tells_access_changes_in_names(
    policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory
) -> None:
    bob, _ = make_user()
    name = bob["username"]
    team = team_id(admin)
    admin_role = admin.get("/roles", params={"q": "admin"}).json()["items"][0]["id"]
    assert admin.put(f"/users/{bob['id']}", json={"role_ids": [admin_role]}).status_code == 200
    assert admin.put(f"/users/{bob['id']}", json={"group_ids": [team]}).status_code == 200
    temp = admin.post("/roles", json={"name": "temp-role"}).json()
    assert (
        admin.put(f"/users/{bob['id']}", json={"role_ids": [admin_role, temp["id"]]}).status_code
        == 200
    )
    assert admin.delete(f"/roles/{temp['id']}").status_code == 204
    assert admin.put(f"/users/{bob['id']}", json={"is_active": False}).status_code == 200
    perm = permission_id(admin, "tag:delete:all")
    role_id, granted = permission_ids(admin, "admin")
    assert (
        admin.put(
            f"/roles/{role_id}", json={"permission_ids": [p for p in granted if p != perm]}
        ).status_code
        == 200
    )

    found = policy("history", "--user", name, "--json").json()["entries"]
    texts = [entry["text"] for entry in found]
    assert texts[0] == f"created user {name}"
    assert f"gave user {name} role user" in texts
    assert f"gave user {name} role admin" in texts
    assert f"took role user from user {name}" in texts
    assert f"added user {name} to group demo-team" in texts
    assert f"gave user {name} role temp-role (deleted)" in texts
    assert f"changed user {name}: deactivated" in texts
    assert "revoked tag:delete:all from role admin" in texts, "a grant of a role they hold"
    assert all(entry["actor"] == "admin" for entry in found)
    assert not any("user demo " in text for text in texts), "only bob's access"

    everyone = policy("history").out
    assert "deleted role temp-role" in everyone
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert "no access changes recorded" in policy("history", "--since", tomorrow).out
    assert policy("history", "--since", "yesterday").code == 2
    assert policy("history", "--user", "nobody-at-all").code == 2


def test_permissions_with_a_condition_are_named_with_it(
    policy: PolicyRunner, admin: httpx.Client
) -> None:
    body = {"name": "open", "model": "task", "expression": 'record.status != "done"'}
    made = admin.post("/conditions", json=body).json()
    late = admin.post("/conditions", json=body | {"name": "late"}).json()
    body = {"model": "task", "action": "update", "scope": "own", "condition_id": made["id"]}
    perm = admin.post("/permissions", json=body).json()
    role = admin.post("/roles", json={"name": "closers", "permission_ids": [perm["id"]]})
    assert role.status_code == 201, role.text
    moved = admin.put(f"/permissions/{perm['id']}", json={"condition_id": late["id"]})
    assert moved.status_code == 200, moved.text

    matrix = policy("export", "--json").json()
    closers = next(row for row in matrix["rows"] if row["role"] == "closers")
    assert [name for name, held in closers["permissions"].items() if held] == [
        "task:update:own[late]"
    ]
    texts = [entry["text"] for entry in policy("history", "--json").json()["entries"]]
    assert "created condition open" in texts
    assert "created permission task:update:own[late]" in texts
    assert "granted task:update:own[late] to role closers" in texts
    assert "changed permission task:update:own[late]: condition 'open' -> 'late'" in texts


# lint and sync: duplicate and orphan rows, and access hygiene


def test_lint_reports_duplicate_and_orphan_rows_and_hygiene(
    live: Backend, policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory
) -> None:
    roleless, _ = make_user(roles=())
    gone, _ = make_user()
    assert admin.put(f"/users/{gone['id']}", json={"is_active": False}).status_code == 200
    with db(live.settings) as connection:
        first = connection.execute(
            select(CasbinRule).where(CasbinRule.ptype == "g").order_by(CasbinRule.id).limit(1)
        ).one()
        connection.execute(insert(CasbinRule).values(ptype="g", v0=first.v0, v1=first.v1))
        connection.execute(
            insert(CasbinRule).values(ptype="p", v0="r:99999", v1="task", v2="read", v3="all")
        )
    lint = policy("lint")
    assert lint.code == 1
    assert "error: duplicate Casbin rule row: user admin has role admin" in lint.out
    orphan = "role r:99999 (no such role) may task:read:all"
    assert f"error: orphan Casbin rule (names no such row): {orphan}" in lint.out
    assert f"warning: user {roleless['username']} has no role" in lint.out
    assert f"warning: user {gone['username']} is inactive but still holds roles" in lint.out
    assert "warning: permission user:delete:own is granted to no role" in lint.out
    report = policy("lint", "--json").json()
    assert report["ok"] is False
    assert [r["rule"] for r in report["drift"]["duplicate"]] == [["g", first.v0, first.v1]]
    assert [r["rule"] for r in report["drift"]["orphan"]] == [
        ["p", "r:99999", "task", "read", "all"]
    ]

    synced = policy("sync")
    assert "- user admin has role admin (duplicate row)" in synced.out
    assert "- role r:99999 (no such role) may task:read:all (orphan)" in synced.out
    assert "remove 1 rule(s) and 1 duplicate row(s)" in synced.out
    assert policy("lint").code == 0


# audit prune


def entry_count(live: Backend) -> int:
    with db(live.settings) as connection:
        return connection.scalar(select(func.count()).select_from(AuditEntry)) or 0


def add_entry(live: Backend, at: datetime) -> None:
    with db(live.settings) as connection:
        connection.execute(insert(AuditEntry).values(at=at, event="sign_in", actor_name="old"))


def test_prune_deletes_only_what_is_older_and_says_so(live: Backend, policy: PolicyRunner) -> None:
    now = datetime.now(UTC)
    add_entry(live, datetime(2020, 1, 1, tzinfo=UTC))
    add_entry(live, now - timedelta(days=10))
    add_entry(live, now - timedelta(days=2))
    total = entry_count(live)

    unset = policy("audit", "prune")
    assert unset.code == 2 and "AUDIT_RETENTION_DAYS" in unset.err
    dry = policy("audit", "prune", "--before", "2021-01-01", "--dry-run")
    assert dry.code == 0 and "would delete 1 audit entry" in dry.out
    assert entry_count(live) == total
    pruned = policy("audit", "prune", "--before", "2021-01-01", "--json").json()
    assert pruned["entries"] == 1 and pruned["dry_run"] is False
    assert entry_count(live) == total - 1 + 1, "one gone, one entry saying so"

    kept = policy("audit", "prune", AUDIT_RETENTION_DAYS="5")
    assert kept.code == 0 and "deleted 1 audit entry" in kept.out, kept.out + kept.err
    with db(live.settings) as connection:
        oldest = connection.scalar(select(func.min(AuditEntry.at)))
        said = (
            connection.execute(
                select(AuditEntry.changes)
                .where(AuditEntry.event == "audit_pruned")
                .order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
    assert oldest is not None and oldest.replace(tzinfo=UTC) > now - timedelta(days=3)
    assert [s["entries"] for s in said] == [1, 1]
    assert policy("audit", "prune", "--before", "someday").code == 2
    assert policy("audit", "prune", "--before", "0001-01-01T00:00+05:00").code == 2, "a bad date"
    assert (
        json.loads(policy("audit", "prune", "--before", "2000-01-01", "--json").out)["entries"] == 0
    )


def test_a_permission_no_rule_can_hold_is_reported_and_never_synced(
    live: Backend, policy: PolicyRunner, admin: httpx.Client
) -> None:
    """A model with a bracket (put in by SQL: the API refuses it) once stopped the policy
    from loading, every request answering 500; it is now never synced, and lint says so."""
    role_id, granted = permission_ids(admin, "user")
    with db(live.settings) as connection:
        bad = connection.execute(
            insert(Permission).values(model="task]", action="read", scope="all")
        ).inserted_primary_key[0]
        connection.execute(insert(role_permissions).values(role_id=role_id, permission_id=bad))
    lint = policy("lint")
    assert lint.code == 1
    assert "error: permission task]:read:all has a model no Casbin rule can hold" in lint.out
    assert "nothing changes" in policy("sync").out
    # A change through the API (the bad grant kept) syncs the policy; the app goes on deciding.
    changed = [*granted[1:], bad]
    assert admin.put(f"/roles/{role_id}", json={"permission_ids": changed}).status_code == 200
    assert admin.get("/tasks").status_code == 200
    with db(live.settings) as connection:
        stored = connection.scalar(
            select(func.count()).select_from(CasbinRule).where(CasbinRule.v1 == "task]")
        )
    assert stored == 0
