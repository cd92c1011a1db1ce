"""`policy`: inspect and sync the Casbin policy from the command line.

Uses the app's settings (environment and `.env`), its async engine for the tables and the
same enforcer (`load_enforcer` + `PolicyEngine`) for every decision. Exit status: 0 on
success or ALLOW, 1 on DENY, drift or a database error, 2 on a usage error.
"""

import argparse
import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app import cli_data as data
from app.core.config import Settings, get_settings
from app.core.enforcer import load_policy
from app.crud.policy import sync_policy


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False))


def rule_text(rule: Sequence[str]) -> str:
    return ", ".join(rule)


async def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        diff = await sync_policy(session, dry_run=args.dry_run)
    if args.json:
        emit_json(
            {
                "dry_run": args.dry_run,
                "changed": diff.changed,
                "added": [list(r) for r in diff.added],
                "removed": [list(r) for r in diff.removed],
            }
        )
        return 0
    verb = "would " if args.dry_run else ""
    for rule in diff.added:
        print(f"+ {rule_text(rule)}")
    for rule in diff.removed:
        print(f"- {rule_text(rule)}")
    if diff.changed:
        print(f"{verb}add {len(diff.added)}, {verb}remove {len(diff.removed)} rule(s)")
    else:
        print("policy is in sync; nothing changes")
    return 0


async def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        decision = await data.check(session, policy, args.user, args.permission, args.record)
    if args.json:
        emit_json(decision.as_dict())
    else:
        target = f" on record {args.record}" if args.record is not None else ""
        verdict = "ALLOW" if decision.allowed else "DENY"
        print(f"{verdict}: {decision.user} {decision.permission}{target}")
        if decision.record is not None:
            rec = decision.record
            print(f"  record owners: user {rec['owner_user_id']}, group {rec['owner_group_id']}")
        for match in decision.matched:
            print(f"  via role {match['role']}: {match['rule']}")
        if decision.reason:
            print(f"  reason: {decision.reason}")
    return 0 if decision.allowed else 1


async def cmd_who_can(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        rows = await data.who_can(session, policy, args.permission)
    if args.json:
        emit_json({"permission": args.permission, "users": rows})
    elif rows:
        print(table(("user", "id", "role", "scope"), [list(r.values()) for r in rows]))
    else:
        print(f"nobody holds {args.permission}")
    return 0


async def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        info = await data.show(session, policy, args.user)
    if args.json:
        emit_json(info)
        return 0
    active = "" if info["is_active"] else " (inactive)"
    print(f"user {info['user']} (id {info['user_id']}){active}")
    print(f"roles: {', '.join(info['roles']) or 'none'}")
    print(f"groups: {', '.join(info['groups']) or 'none'}")
    rows = [(p["permission"], ", ".join(p["roles"])) for p in info["permissions"]]
    print(table(("permission", "via roles"), rows) if rows else "no permissions")
    return 0


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        columns, granted = await data.matrix(session)
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


async def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        report = await data.lint(session)
    if args.json:
        emit_json(report)
    else:
        drift = report["drift"]
        for rule in drift["added"]:
            print(f"error: drift: missing Casbin rule {rule_text(rule)}")
        for rule in drift["removed"]:
            print(f"error: drift: stale Casbin rule {rule_text(rule)}")
        for perm in report["unknown_models"]:
            print(f"warning: permission {perm} names an unknown model")
        for role in report["unheld_roles"]:
            print(f"warning: role {role} is held by nobody")
        if report["ok"]:
            print("ok: the Casbin rules match the tables")
        else:
            print("drift found: run `policy sync` to fix it")
    return 0 if report["ok"] else 1


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser = argparse.ArgumentParser(
        prog="policy",
        description="Inspect and sync the Casbin policy, with the app's own enforcer.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "sync", parents=[common], help="make the Casbin rules match the permissions tables"
    )
    p.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    p.set_defaults(run=cmd_sync)

    p = sub.add_parser(
        "check",
        parents=[common],
        help="decide USER MODEL:ACTION as the API does (exit 0 allow, 1 deny, 2 error)",
    )
    p.add_argument("user", metavar="USER", help="username or id")
    p.add_argument("permission", metavar="MODEL:ACTION", help="e.g. task:update")
    p.add_argument("--record", type=int, metavar="ID", help="decide on this record")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("who-can", parents=[common], help="users holding a permission")
    p.add_argument("permission", metavar="MODEL:ACTION[:SCOPE]")
    p.set_defaults(run=cmd_who_can)

    p = sub.add_parser(
        "show", parents=[common], help="a user's roles, groups and effective permissions"
    )
    p.add_argument("user", metavar="USER", help="username or id")
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("export", parents=[common], help="the role x permission matrix")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser(
        "lint",
        parents=[common],
        help="drift between tables and Casbin rules (error); unknown models, unheld roles",
    )
    p.set_defaults(run=cmd_lint)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"policy: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(args.run(args, settings))
    except data.CliError as exc:
        print(f"policy: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"policy: database error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `policy export | head`: the reader left; that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
