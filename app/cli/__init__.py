"""`policy`: audit and sync access from the command line, in names.

Uses the app's settings (environment and `.env`), its async engine for the tables and the
same enforcer (`load_policy`: a `PolicyEngine`) for every decision. Users, roles and groups
are shown by name (`--ids` adds their ids). Exit status: 0 on success or ALLOW; 1 on DENY,
drift, a failed policy test, a `diff` with changes, an audit export not written in full or a
database error; 2 on a usage error.
A database error is said in one line, never with its statement (`app/cli/failures.py`);
`--debug`, before or after the subcommand, adds the statement and the traceback.

This module only parses the command line: each command's module (one per group of
subcommands) is imported when it runs, and none of them imports FastAPI or the web layer.
"""

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from app.cli.output import CliError, moment

DEBUG = "on a database error, also print the statement and the traceback"
BEFORE = "e.g. 2026-01-01 (UTC), not in the future"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument(
        "--ids", action="store_true", help="show ids (u:2, r:1, g:3) beside the names"
    )
    # Accepted after the subcommand too; SUPPRESS: its absence there keeps `policy --debug X`.
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG)
    parser = argparse.ArgumentParser(
        prog="policy",
        description="Audit and sync access, with the app's own enforcer, in names.",
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: str, helped: str) -> argparse.ArgumentParser:
        found = sub.add_parser(name, parents=[common], help=helped, description=helped)
        found.set_defaults(run=run)
        return found

    p = command(
        "sync", "maintenance:cmd_sync", "make the Casbin rules match the permissions tables"
    )
    p.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")

    p = command(
        "check",
        "decisions:cmd_check",
        "decide USER MODEL:ACTION[:SCOPE] as the API does, and say why (exit 0 allow, 1 deny)",
    )
    p.add_argument("user", metavar="USER", help="username (or id)")
    p.add_argument(
        "permission",
        metavar="MODEL:ACTION[:SCOPE]",
        help="e.g. task:update; with a scope (task:delete:all), whether that grant is held",
    )
    p.add_argument("--record", type=int, metavar="ID", help="decide on this record")

    p = command(
        "who-can", "decisions:cmd_who_can", "users holding a permission, the role and groups"
    )
    p.add_argument("permission", metavar="MODEL:ACTION[:SCOPE]")

    p = command("show", "decisions:cmd_show", "a user's roles, groups and effective permissions")
    p.add_argument("user", metavar="USER", help="username (or id)")

    p = command(
        "report", "reports:cmd_report", "every user's effective permissions and their roles"
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = command(
        "diff",
        "reports:cmd_diff",
        "who gained and lost what between two reports (or one and now); exit 1 on changes",
    )
    p.add_argument("old", metavar="OLD.json", help="a `policy report --format json` output")
    p.add_argument("new", metavar="NEW.json", nargs="?", help="another one (default: now)")

    p = command("history", "history:cmd_history", "access changes from the audit log, oldest first")
    p.add_argument("--user", metavar="USER", help="only changes to this user's access")
    p.add_argument("--since", type=moment, metavar="DATE", help="from this date (UTC)")

    p = command("export", "reports:cmd_export", "the role x permission matrix")
    p.add_argument("--format", choices=("csv", "json"), default="csv")

    command(
        "lint",
        "maintenance:cmd_lint",
        "drift, orphan and duplicate rule rows, conditions that no longer check or of another "
        "model (exit 1); unknown models, unheld roles, permissions and conditions, users "
        "without roles, inactive users with roles (warnings)",
    )

    p = command(
        "test", "cases:cmd_test", "check expected decisions (a TOML file) against the stored policy"
    )
    p.add_argument("file", metavar="FILE", help="e.g. policy/tests.toml")

    p = command(
        "audit-export",
        "retention:cmd_audit_export",
        "write the audit entries older than DATE as JSON lines, oldest first (then audit-prune)",
    )
    p.add_argument("--before", type=moment, required=True, metavar="DATE", help=BEFORE)
    p.add_argument("--output", metavar="FILE", help="a new file (default: standard output)")

    p = command(
        "audit-prune",
        "retention:cmd_audit_prune",
        "delete the audit entries older than DATE: those audit-export --before DATE wrote",
    )
    p.add_argument("--before", type=moment, required=True, metavar="DATE", help=BEFORE)
    p.add_argument("--yes", action="store_true", help="delete them (without: say how many)")

    p = sub.add_parser("audit", help="the older form of audit-prune")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    p = audit_sub.add_parser(
        "prune",
        parents=[common],
        help="delete entries older than DATE (default: AUDIT_RETENTION_DAYS ago)",
    )
    p.add_argument("--before", type=moment, metavar="DATE", help="e.g. 2026-01-01 (UTC)")
    p.add_argument("--dry-run", action="store_true", help="count them, delete nothing")
    p.set_defaults(run="retention:cmd_prune")
    return parser


def command_of(name: str) -> Any:
    """Return the coroutine function a command names (`module:function`), importing it."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(f"app.cli.{module}"), function)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sqlalchemy.exc import SQLAlchemyError  # after parsing: `--help` needs none of it

    from app.cli.failures import describe_target, report_failure
    from app.core.config import get_settings

    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"policy: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(command_of(args.run)(args, settings))
    except CliError as exc:
        print(f"policy: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # one line, never the statement (`--debug` adds it)
        what = " ".join(filter(None, ("policy", args.command, getattr(args, "audit_command", ""))))
        report_failure(what, describe_target(settings), exc, debug=args.debug)
        return 1
    except BrokenPipeError:  # `policy export | head`: the reader left; that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
