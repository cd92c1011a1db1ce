"""`policy`: audit and sync access from the command line, in names.

Uses the app's settings (environment and `.env`), its async engine for the tables and the
same enforcer (`load_enforcer` + `PolicyEngine`) for every decision. Users, roles and groups
are shown by name (`--ids` adds their ids). Exit status: 0 on success or ALLOW; 1 on DENY,
drift, a failed policy test, a `diff` with changes or a database error; 2 on a usage error.
"""

import argparse
import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app import cli_data as data
from app import review
from app.core.config import Settings, get_settings
from app.core.enforcer import load_policy
from app.crud import audit
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


async def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        diff = await sync_policy(session, dry_run=args.dry_run)
        directory = await data.Directory.load(session, ids=args.ids)
    changes = {
        "added": diff.added,
        "removed": diff.removed,
        "duplicates": diff.duplicates,
    }
    if args.json:
        named = {
            key: [{"rule": list(rule), "text": directory.rule(rule)} for rule in rules]
            for key, rules in changes.items()
        }
        emit_json({"dry_run": args.dry_run, "changed": diff.changed, **named})
        return 0
    verb = "would " if args.dry_run else ""
    for rule in diff.added:
        print(f"+ {directory.rule(rule)}")
    for rule in diff.removed:
        orphan = " (orphan)" if directory.orphan(rule) else ""
        print(f"- {directory.rule(rule)}{orphan}")
    for rule in diff.duplicates:
        print(f"- {directory.rule(rule)} (duplicate row)")
    if diff.changed:
        print(
            f"{verb}add {len(diff.added)}, {verb}remove {len(diff.removed)} rule(s) "
            f"and {len(diff.duplicates)} duplicate row(s)"
        )
    else:
        print("policy is in sync; nothing changes")
    return 0


async def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        decision = await data.check(
            session, policy, args.user, args.permission, args.record, ids=args.ids
        )
    if args.json:
        emit_json(decision.as_dict())
    else:
        target = f" on record {args.record}" if args.record is not None else ""
        verdict = "ALLOW" if decision.allowed else "DENY"
        print(f"{verdict}: {decision.user} {decision.permission}{target}")
        if decision.record is not None:
            rec = decision.record
            print(f"  record: owner {rec['owner']}, group {rec['group']}")
        for match in decision.matched:
            print(f"  via role {match['role']}: {match['rule']}")
        if decision.reason:
            print(f"  reason: {decision.reason}")
    return 0 if decision.allowed else 1


async def cmd_who_can(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        rows = await data.who_can(session, policy, args.permission, ids=args.ids)
    if args.json:
        emit_json({"permission": args.permission, "users": rows})
    elif rows:
        lines = [
            (
                row["user"] if row["active"] else f"{row['user']} (inactive)",
                row["role"],
                row["scope"],
                ", ".join(row["groups"]) or ("none" if row["scope"] == "group" else ""),
            )
            for row in rows
        ]
        print(table(("user", "via role", "scope", "groups reached"), lines))
    else:
        print(f"nobody holds {args.permission}")
    return 0


async def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        info = await data.show(session, policy, args.user, ids=args.ids)
    if args.json:
        emit_json(info)
        return 0
    active = "" if info["is_active"] else " (inactive)"
    print(f"user {info['user']}{active}")
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


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        found = await review.report(session, policy, ids=args.ids)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        emit_json(found)
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["user", "active", "permission", "via roles", "groups reached"])
        for user, permission, roles, reached in review.held_rows(found):
            active = str(user["active"]).lower()
            writer.writerow([user["user"], active, permission, ";".join(roles), ";".join(reached)])
        sys.stdout.write(out.getvalue())
    else:
        print(
            f"access review at {found['generated_at']} (policy revision {found['policy_revision']})"
        )
        print(table(review.REPORT_HEADERS, review.report_rows(found)))
    return 0


async def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    old = review.read_report(args.old)
    if args.new is not None:
        new = review.read_report(args.new)
    else:
        async with data.transaction(settings) as session:
            new = await review.report(session, await load_policy(settings))
    changes = review.diff_reports(old, new)
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


def describe(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return {True: "yes", False: "no", None: "-"}[value]


async def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        policy = await load_policy(settings)
        found = await review.history(session, policy, args.user, args.since, ids=args.ids)
    if args.json:
        emit_json({"entries": found})
    elif found:
        print(table(("at", "by", "change"), [(e["at"], e["actor"], e["text"]) for e in found]))
    else:
        print(
            "no access changes recorded" + (f" since {args.since:%Y-%m-%d}" if args.since else "")
        )
    return 0


async def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    async with data.transaction(settings) as session:
        report = await data.lint(session, ids=args.ids)
    if args.json:
        emit_json(report)
        return 0 if report["ok"] else 1
    drift = report["drift"]
    for key, said in (
        ("missing", "missing Casbin rule"),
        ("stale", "stale Casbin rule"),
        ("orphan", "orphan Casbin rule (names no such row)"),
        ("duplicate", "duplicate Casbin rule row"),
    ):
        for rule in drift[key]:
            print(f"error: {said}: {rule['text']}")
    for name in report["malformed_models"]:
        print(f"error: permission {name} has a model no Casbin rule can hold (never synced)")
    for key, said in (
        ("unknown_models", "permission {} names an unknown model"),
        ("unheld_roles", "role {} is held by nobody"),
        ("unheld_permissions", "permission {} is granted to no role"),
        ("users_without_roles", "user {} has no role"),
        ("inactive_users_with_roles", "user {} is inactive but still holds roles"),
    ):
        for name in report[key]:
            print(f"warning: {said.format(name)}")
    if report["ok"]:
        print("ok: the Casbin rules match the tables")
    else:
        print("drift found: run `policy sync` to fix it")
    return 0 if report["ok"] else 1


async def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    cases = review.read_cases(args.file)
    async with data.transaction(settings) as session:
        outcomes = await review.run_cases(session, await load_policy(settings), cases)
    failed = [o for o in outcomes if not o.passed]
    if args.json:
        emit_json(
            {
                "passed": len(outcomes) - len(failed),
                "failed": [
                    {
                        "case": o.case.number,
                        "name": o.case.name,
                        "decision": o.case.describe(),
                        "expected": "allow" if o.case.expect else "deny",
                        "got": "allow" if o.allowed else "deny",
                    }
                    for o in failed
                ],
            }
        )
        return 1 if failed else 0
    for outcome in failed:
        case = outcome.case
        title = f" ({case.name})" if case.name else ""
        expected, got = ("allow", "deny") if case.expect else ("deny", "allow")
        print(f"FAIL case {case.number}{title}: {case.describe()}: expected {expected}, got {got}")
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed ({args.file})")
    return 1 if failed else 0


async def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    before = args.before
    if before is None:
        days = settings.audit_retention_days
        if days is None:
            raise data.CliError(
                "give --before DATE: AUDIT_RETENTION_DAYS is unset, so entries are kept forever"
            )
        before = datetime.now(UTC) - timedelta(days=days)
    async with data.transaction(settings) as session:
        count = await audit.prune(session, before, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    if args.json:
        emit_json({"dry_run": args.dry_run, "before": before.isoformat(), "entries": count})
    else:
        entries = "entry" if count == 1 else "entries"
        print(f"{verb} {count} audit {entries} from before {before:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def moment(text: str) -> datetime:
    """A command-line date or time (`2026-01-31`, `2026-01-31T12:00`); UTC unless it says."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-01-31, got {text!r}") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument(
        "--ids", action="store_true", help="show ids (u:2, r:1, g:3) beside the names"
    )
    parser = argparse.ArgumentParser(
        prog="policy",
        description="Audit and sync access, with the app's own enforcer, in names.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Any, helped: str) -> argparse.ArgumentParser:
        found = sub.add_parser(name, parents=[common], help=helped, description=helped)
        found.set_defaults(run=run)
        return found

    p = command("sync", cmd_sync, "make the Casbin rules match the permissions tables")
    p.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")

    p = command(
        "check",
        cmd_check,
        "decide USER MODEL:ACTION[:SCOPE] as the API does, and say why (exit 0 allow, 1 deny)",
    )
    p.add_argument("user", metavar="USER", help="username (or id)")
    p.add_argument(
        "permission",
        metavar="MODEL:ACTION[:SCOPE]",
        help="e.g. task:update; with a scope (task:delete:all), whether that grant is held",
    )
    p.add_argument("--record", type=int, metavar="ID", help="decide on this record")

    p = command("who-can", cmd_who_can, "users holding a permission, the role and groups")
    p.add_argument("permission", metavar="MODEL:ACTION[:SCOPE]")

    p = command("show", cmd_show, "a user's roles, groups and effective permissions")
    p.add_argument("user", metavar="USER", help="username (or id)")

    p = command("report", cmd_report, "every user's effective permissions and their roles")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = command(
        "diff",
        cmd_diff,
        "who gained and lost what between two reports (or one and now); exit 1 on changes",
    )
    p.add_argument("old", metavar="OLD.json", help="a `policy report --format json` output")
    p.add_argument("new", metavar="NEW.json", nargs="?", help="another one (default: now)")

    p = command("history", cmd_history, "access changes from the audit log, oldest first")
    p.add_argument("--user", metavar="USER", help="only changes to this user's access")
    p.add_argument("--since", type=moment, metavar="DATE", help="from this date (UTC)")

    p = command("export", cmd_export, "the role x permission matrix")
    p.add_argument("--format", choices=("csv", "json"), default="csv")

    command(
        "lint",
        cmd_lint,
        "drift, orphan and duplicate rule rows (exit 1); unknown models, unheld roles and "
        "permissions, users without roles, inactive users with roles (warnings)",
    )

    p = command(
        "test", cmd_test, "check expected decisions (a TOML file) against the stored policy"
    )
    p.add_argument("file", metavar="FILE", help="e.g. policy/tests.toml")

    p = sub.add_parser("audit", help="the audit log: prune old entries")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    p = audit_sub.add_parser(
        "prune",
        parents=[common],
        help="delete entries older than DATE (default: AUDIT_RETENTION_DAYS ago)",
    )
    p.add_argument("--before", type=moment, metavar="DATE", help="e.g. 2026-01-01 (UTC)")
    p.add_argument("--dry-run", action="store_true", help="count them, delete nothing")
    p.set_defaults(run=cmd_prune)
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
