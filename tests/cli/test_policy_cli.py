"""The `policy` console script: sync, lint, check (agreeing with the API), reports, help."""

import csv
import io
import os
import pty
import re
import subprocess
from select import select as readable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from app.cli.directory import Directory
from app.models import CasbinRule
from tests.cli.conftest import SCRIPT, PolicyRunner, environment
from tests.conftest import Backend
from tests.support.checks import db
from tests.support.factories import UserFactory
from tests.support.records import Records

SUBCOMMANDS = ("sync", "check", "who-can", "show", "export", "lint")


def rule_count(live: Backend) -> int:
    with db(live.settings) as connection:
        return connection.scalar(select(func.count()).select_from(CasbinRule)) or 0


def test_sync_on_the_seed_changes_nothing(live: Backend, policy: PolicyRunner) -> None:
    before = rule_count(live)
    for args in (("sync", "--dry-run"), ("sync",)):
        result = policy(*args)
        assert result.code == 0, result.err
        assert "nothing changes" in result.out
    report = policy("sync", "--json").json()
    assert report == {
        "dry_run": False,
        "changed": False,
        "added": [],
        "removed": [],
        "duplicates": [],
    }
    assert rule_count(live) == before


def test_lint_finds_a_deleted_rule_and_sync_restores_it(
    live: Backend, policy: PolicyRunner
) -> None:
    assert policy("lint").code == 0
    with db(live.settings) as connection:
        row = connection.execute(
            select(CasbinRule).where(CasbinRule.ptype == "p").order_by(CasbinRule.id).limit(1)
        ).one()
        connection.execute(delete(CasbinRule).where(CasbinRule.id == row.id))
    lost = [row.ptype, row.v0, row.v1, row.v2, row.v3]

    said = f"role admin may {':'.join(lost[2:])}"  # r:1 is admin's: in names, not ids

    lint = policy("lint")
    assert lint.code == 1
    assert f"error: missing Casbin rule: {said}" in lint.out
    assert policy("lint", "--json").json()["drift"] == {
        "missing": [{"rule": lost, "text": said}],
        "stale": [],
        "orphan": [],
        "duplicate": [],
    }

    dry = policy("sync", "--dry-run")
    assert dry.code == 0 and f"+ {said}\n" in dry.out
    assert policy("lint").code == 1, "a dry run must not write"

    fixed = policy("sync")
    assert fixed.code == 0
    assert f"+ {said}\n" in fixed.out
    assert policy("lint").code == 0
    assert "nothing changes" in policy("sync").out


def test_sync_shows_its_progress_on_a_terminal_only(live: Backend) -> None:
    """On a terminal, standard error carries a progress line rewritten as rules stream in;
    piped, it stays empty (standard output lists the rules either way)."""
    with db(live.settings) as connection:
        connection.execute(delete(CasbinRule).where(CasbinRule.ptype == "p"))
    primary, secondary = pty.openpty()
    env = os.environ | environment(live)
    try:
        done = subprocess.run(
            [str(SCRIPT), "sync"], env=env, stdout=subprocess.PIPE, stderr=secondary, timeout=60
        )
        os.close(secondary)
        shown = b""
        while ready(primary):
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    listed = done.stdout.decode()
    count = listed.count("\n+ ") + listed.startswith("+ ")
    assert count > 50
    last = rf"\rpolicy sync: changed {count:,} rule\(s\)\.\.\.\r?\n$"
    assert re.search(last, shown.decode()), shown
    piped = subprocess.run(
        [str(SCRIPT), "sync"], env=env, capture_output=True, text=True, timeout=60
    )
    assert piped.returncode == 0 and piped.stderr == ""
    assert "nothing changes" in piped.stdout


def ready(descriptor: int) -> bool:
    return bool(readable([descriptor], [], [], 1)[0])


def test_lint_warns_about_unheld_roles_without_failing(policy: PolicyRunner) -> None:
    result = policy("lint")
    assert result.code == 0
    assert "warning: role manager is held by nobody" in result.out
    report = policy("lint", "--json").json()
    assert report["ok"] is True
    assert report["unheld_roles"] == ["manager"]
    assert report["unknown_models"] == []


def api_allows(client: httpx.Client, action: str, record_id: int) -> bool:
    """Ask the API whether the caller may `action` task `record_id` (without changing it)."""
    if action == "read":
        return client.get(f"/tasks/{record_id}").status_code == 200
    if action == "update":
        return client.put(f"/tasks/{record_id}", json={"priority": 3}).status_code == 200
    return client.delete(f"/tasks/{record_id}").status_code == 204


@pytest.mark.parametrize("action", ["read", "update", "delete"])
def test_check_agrees_with_the_api(
    live: Backend,
    policy: PolicyRunner,
    admin: httpx.Client,
    demo: httpx.Client,
    make_user: UserFactory,
    action: str,
) -> None:
    records = Records(admin)
    team = admin.get("/groups", params={"q": "demo-team"}).json()["items"][0]["id"]
    owner, owner_client = make_user()
    member, member_client = make_user(groups=(team,))
    stranger, stranger_client = make_user()
    callers: dict[str, tuple[str, httpx.Client]] = {
        "owner": (owner["username"], owner_client),
        "member": (member["username"], member_client),
        "stranger": (str(stranger["id"]), stranger_client),
        "demo": ("demo", demo),
        "admin": ("admin", admin),
    }
    for who, (name, client) in callers.items():
        task = records.create("tasks", owner_user_id=owner["id"], owner_group_id=team)
        result = policy("check", name, f"task:{action}", "--record", str(task["id"]))
        assert result.code in (0, 1), result.err
        expected = api_allows(client, action, task["id"])
        assert (result.code == 0) == expected, f"{who} {action}: {result.out}"
        verdict = result.out.split(":", 1)[0]
        assert verdict == ("ALLOW" if expected else "DENY")
    # who may do what, spelled out: owner all; group members only read; admin all
    expected_allow = {"owner", "admin"} | ({"member", "demo"} if action == "read" else set())
    for who, (name, _) in callers.items():
        task = records.create("tasks", owner_user_id=owner["id"], owner_group_id=team)
        decision = policy("check", name, f"task:{action}", "--record", str(task["id"]), "--json")
        assert decision.json()["allowed"] is (who in expected_allow), who


def test_check_explains_allow_and_deny(
    policy: PolicyRunner, admin: httpx.Client, make_user: UserFactory
) -> None:
    owner, _ = make_user()
    task = Records(admin).create("tasks", owner_user_id=owner["id"])
    allow = policy("check", owner["username"], "task:update", "--record", str(task["id"]))
    assert allow.code == 0
    assert "via role user: task:update:own" in allow.out
    deny = policy("check", "demo", "task:update", "--record", str(task["id"]), "--json")
    assert deny.code == 1
    body = deny.json()
    assert body["decision"] == "DENY" and "404" in body["reason"]
    no_rule = policy("check", "demo", "role:update")
    assert no_rule.code == 1 and "no rule for role:update" in no_rule.out
    via_admin = policy("check", "admin", "role:update", "--json").json()
    assert via_admin["matched"] == [{"role": "admin", "rule": "role:update:all"}]


@pytest.mark.parametrize(
    "args",
    [
        ("check", "nobody", "task:read"),
        ("check", "demo", "task:read", "--record", "999999"),
        ("check", "demo", "nomodel:read"),
        ("check", "demo", "task"),
        ("show", "nobody"),
        ("show", "\u00b2"),  # str.isdigit() holds, int() refuses: an unknown user, no traceback
        ("check", "\u2460", "task:read"),
        ("export", "--format", "xml"),
        ("frobnicate",),
    ],
)
def test_usage_errors_exit_2(policy: PolicyRunner, args: tuple[str, ...]) -> None:
    result = policy(*args)
    assert result.code == 2, result.out + result.err
    assert result.err


def test_who_can(policy: PolicyRunner) -> None:
    rows = policy("who-can", "task:delete", "--json").json()["users"]
    assert {(r["user"], r["role"], r["scope"]) for r in rows} == {
        ("admin", "admin", "all"),
        ("demo", "user", "own"),
    }
    assert policy("who-can", "task:delete:all", "--json").json()["users"][0]["user"] == "admin"
    assert len(policy("who-can", "task:delete:all", "--json").json()["users"]) == 1
    table = policy("who-can", "task:read:group")
    assert table.code == 0 and "demo" in table.out and "admin" not in table.out
    assert "nobody holds" in policy("who-can", "role:update:own").out


def test_show(policy: PolicyRunner) -> None:
    info: dict[str, Any] = policy("show", "demo", "--json").json()
    assert info["roles"] == ["user"]
    assert info["groups"] == ["demo-team"]
    perms = {p["permission"]: p["roles"] for p in info["permissions"]}
    assert perms["task:read:group"] == ["user"]
    assert "task:read:all" not in perms
    assert "user_id" not in info, "ids only when asked"
    user_id = policy("show", "demo", "--json", "--ids").json()["user_id"]
    text = policy("show", str(user_id))
    assert text.code == 0 and "groups: demo-team" in text.out and "task:update:own" in text.out


def test_export_csv_and_json(policy: PolicyRunner) -> None:
    rows = list(csv.reader(io.StringIO(policy("export", "--format", "csv").out)))
    header, body = rows[0], rows[1:]
    assert header[0] == "role"
    assert all(len(column.split(":")) == 3 for column in header[1:])
    assert [row[0] for row in body] == ["admin", "manager", "user"]
    assert all(cell in ("0", "1") for row in body for cell in row[1:])
    admin = dict(zip(header[1:], body[0][1:], strict=True))
    assert admin["task:update:all"] == "1" and admin["task:update:own"] == "0"

    matrix = policy("export", "--format", "json").json()
    assert matrix["columns"] == header[1:]
    assert [row["role"] for row in matrix["rows"]] == ["admin", "manager", "user"]
    user = matrix["rows"][2]["permissions"]
    assert user["task:read:group"] is True and user["task:read:all"] is False
    assert policy("export", "--json").json() == matrix


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_everywhere(policy: PolicyRunner, command: str | None) -> None:
    result = policy(*((command,) if command else ()), "--help")
    assert result.code == 0
    assert "usage: policy" in result.out
    assert "--json" in result.out or command is None


def test_the_console_script_runs_in_a_process_of_its_own(policy_script: PolicyRunner) -> None:
    """The installed `policy` script, as a shell runs it: its help, a decision, and the
    exit status of a deny (the other tests call the same `main` in-process)."""
    assert policy_script("--help").code == 0
    allowed = policy_script("check", "admin", "task:delete")
    assert allowed.code == 0 and allowed.out.startswith("ALLOW"), allowed.out + allowed.err
    denied = policy_script("check", "demo", "user:delete")
    assert denied.code == 1 and denied.out.startswith("DENY"), denied.out + denied.err


def test_a_rule_with_a_condition_is_named_with_it() -> None:
    """A `p` line's fifth value is its condition's id: named in brackets, "#id" if unknown."""
    directory = Directory({}, {1: "closers"}, {}, conditions={7: "open"})
    rule = ("p", "r:1", "task", "update", "own", "7")
    assert directory.rule(rule) == "role closers may task:update:own[open]"
    assert directory.rule(rule[:-1]) == "role closers may task:update:own"
    assert directory.rule((*rule[:-1], "")) == "role closers may task:update:own"
    assert directory.permission(("task", "update", "own", "9")) == "task:update:own[#9]"
