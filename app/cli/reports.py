"""Access review for auditors: who holds what (`policy report`), what changed between two
reports (`policy diff`), and the role x permission matrix (`policy export`).

Everything reads the same loaded Casbin policy the app decides with, and speaks in names.
"""

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.decisions import held_by
from app.cli.directory import Directory, names, transaction
from app.cli.output import CliError, describe, emit_json, table
from app.core.config import Settings
from app.core.enforcer import PolicyEngine, load_policy
from app.models import Permission, Role, User, role_permissions


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        policy = await load_policy(settings)
        found = await report(session, policy, ids=args.ids)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        emit_json(found)
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["user", "active", "permission", "via roles", "groups reached"])
        for user, permission, roles, reached in held_rows(found):
            active = str(user["active"]).lower()
            writer.writerow([user["user"], active, permission, ";".join(roles), ";".join(reached)])
        sys.stdout.write(out.getvalue())
    else:
        print(
            f"access review at {found['generated_at']} (policy revision {found['policy_revision']})"
        )
        print(table(REPORT_HEADERS, report_rows(found)))
    return 0


async def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    old = read_report(args.old)
    if args.new is not None:
        new = read_report(args.new)
    else:
        async with transaction(settings) as session:
            new = await report(session, await load_policy(settings))
    changes = diff_reports(old, new)
    if args.json:
        emit_json({"from": old["generated_at"], "to": new["generated_at"], "changes": changes})
        return 1 if changes else 0
    print(f"from {old['generated_at']} to {new['generated_at']}")
    for change in changes:
        user = change["user"]
        if change["status"] != "changed":
            print(f"{'+' if change['status'] == 'added' else '-'} user {user} ({change['status']})")
        for key, label in (("active", "active"), ("roles", "roles"), ("groups", "groups")):
            then, now = change[key]
            if change["status"] == "changed" and then != now:
                print(f"  {user}: {label} {describe(then)} -> {describe(now)}")
        for sign, key in (("+", "gained"), ("-", "lost")):
            for held in change[key]:
                print(f"{sign} {user} {held['permission']} (via {', '.join(held['roles'])})")
    print(f"{len(changes)} user(s) changed" if changes else "no change in access")
    return 1 if changes else 0


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        columns, granted = await matrix(session)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        emit_json(
            {
                "columns": columns,
                "rows": [
                    {"role": role, "permissions": {c: c in set(held) for c in columns}}
                    for role, held in granted.items()
                ],
            }
        )
        return 0
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["role", *columns])
    for role, held in granted.items():
        writer.writerow([role, *(1 if c in set(held) else 0 for c in columns)])
    sys.stdout.write(out.getvalue())
    return 0


async def matrix(session: AsyncSession) -> tuple[list[str], dict[str, list[str]]]:
    """Return every permission and, per role, the permissions it is granted in the tables."""
    perms = {
        p.id: str(p)
        for p in await session.scalars(
            select(Permission).order_by(Permission.model, Permission.action, Permission.scope)
        )
    }
    granted: dict[str, list[str]] = {name: [] for name in (await names(session, "roles")).values()}
    grants = await session.execute(
        select(Role.name, role_permissions.c.permission_id).join(
            role_permissions, role_permissions.c.role_id == Role.id
        )
    )
    for role, perm_id in grants:
        granted[role].append(perms[perm_id])
    return list(perms.values()), dict(sorted(granted.items()))


REPORT_FORMAT = "policy-report/1"


async def report(
    session: AsyncSession, policy: PolicyEngine, *, ids: bool = False
) -> dict[str, Any]:
    """Every user's effective permissions, each with the roles it comes from: the access
    review an auditor signs. Users without any permission are listed too."""
    directory = await Directory.load(session, ids=ids)
    users = []
    for user in await session.scalars(select(User).order_by(User.username)):
        entry: dict[str, Any] = {"user": directory.user(user.id), "active": user.is_active}
        if ids:
            entry["user_id"] = user.id
        users.append(entry | held_by(policy, directory, user.id))
    return {
        "format": REPORT_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "policy_revision": policy.revision,
        "users": users,
    }


def held_rows(found: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, list[str], list[str]]]:
    """Each user with each permission they hold, its roles and, for the group scope, the
    groups it reaches; a user without any permission once, with permission "" and no roles."""
    for user in found["users"]:
        for held in user["permissions"] or [{"permission": "", "roles": []}]:
            reached = user["groups"] if held["permission"].endswith(":group") else []
            yield user, held["permission"], held["roles"], reached


def report_rows(found: dict[str, Any]) -> list[list[str]]:
    """The table's rows: one per user and permission (a user without any: one saying so)."""
    rows = []
    for user, permission, roles, reached in held_rows(found):
        name = user["user"] if user["active"] else f"{user['user']} (inactive)"
        if not permission:
            rows.append([name, "(no permissions)", "", ""])
            continue
        groups = (", ".join(reached) or "-") if permission.endswith(":group") else ""
        rows.append([name, permission, ", ".join(roles), groups])
    return rows


REPORT_HEADERS = ("user", "permission", "via roles", "groups reached")


def read_report(path: str) -> dict[str, Any]:
    """Load a report `policy report --format json` wrote; refuse anything else."""
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"cannot read report {path}: {exc}") from exc
    if not isinstance(found, dict) or found.get("format") != REPORT_FORMAT:
        raise CliError(f"{path} is not a report of `policy report --format json`")
    return found


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Who gained and who lost what between two reports, user by user (by username)."""

    def index(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {user["user"]: user for user in found["users"]}

    before, after = index(old), index(new)
    changes = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        held_then = {p["permission"]: p["roles"] for p in (was or {}).get("permissions", [])}
        held_now = {p["permission"]: p["roles"] for p in (now or {}).get("permissions", [])}
        change: dict[str, Any] = {
            "user": name,
            "status": "added" if was is None else "removed" if now is None else "changed",
            "gained": [
                {"permission": p, "roles": held_now[p]}
                for p in sorted(held_now.keys() - held_then.keys())
            ],
            "lost": [
                {"permission": p, "roles": held_then[p]}
                for p in sorted(held_then.keys() - held_now.keys())
            ],
            "roles": [(was or {}).get("roles", []), (now or {}).get("roles", [])],
            "groups": [(was or {}).get("groups", []), (now or {}).get("groups", [])],
            "active": [(was or {}).get("active"), (now or {}).get("active")],
        }
        moved = (
            change["gained"]
            or change["lost"]
            or change["status"] != "changed"
            or change["roles"][0] != change["roles"][1]
            or change["groups"][0] != change["groups"][1]
            or change["active"][0] != change["active"][1]
        )
        if moved:
            changes.append(change)
    return changes
