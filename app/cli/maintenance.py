"""`policy sync` and `lint`: the Casbin rules against the permissions tables."""

import argparse
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.directory import Directory, transaction
from app.cli.output import emit_json
from app.core.conditions.checker import can_targets, check_condition
from app.core.conditions.errors import ConditionError
from app.core.config import Settings
from app.crud.policy import sync_policy
from app.crud.policy_rules import Rule, well_formed
from app.models import Condition, Permission, User, role_permissions, user_roles
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS


async def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Reconcile the Casbin table with the permissions tables, printing each rule as the
    difference streams in (JSON: all of it at the end) and, on a terminal, a progress line."""
    found: dict[str, list[Rule]] = {kind: [] for kind in ("added", "removed", "duplicates")}
    progress = Progress("would change" if args.dry_run else "changed")
    async with transaction(settings) as session:
        directory = await Directory.load(session, ids=args.ids)

        def report(kind: str, rules: list[Rule]) -> None:
            progress.advance(len(rules))
            if args.json:
                found[kind].extend(rules)
            else:
                for rule in rules:
                    print(sync_line(directory, kind, rule))

        diff = await sync_policy(session, dry_run=args.dry_run, report=report)
    progress.done()
    if args.json:
        named = {
            key: [{"rule": list(rule), "text": directory.rule(rule)} for rule in rules]
            for key, rules in found.items()
        }
        emit_json({"dry_run": args.dry_run, "changed": diff.changed, **named})
        return 0
    verb = "would " if args.dry_run else ""
    counts = diff.counts
    if diff.changed:
        print(
            f"{verb}add {counts['added']}, {verb}remove {counts['removed']} rule(s) "
            f"and {counts['duplicates']} duplicate row(s)"
        )
    else:
        print("policy is in sync; nothing changes")
    return 0


def sync_line(directory: Directory, kind: str, rule: Rule) -> str:
    if kind == "added":
        return f"+ {directory.rule(rule)}"
    if kind == "duplicates":
        return f"- {directory.rule(rule)} (duplicate row)"
    return f"- {directory.rule(rule)}{' (orphan)' if directory.orphan(rule) else ''}"


class Progress:
    """A line on standard error, rewritten as rules stream in, on a terminal only."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.count = 0
        self.shown = sys.stderr.isatty()

    def advance(self, count: int) -> None:
        self.count += count
        if self.shown and count:
            print(f"\rpolicy sync: {self.verb} {self.count:,} rule(s)...", end="", file=sys.stderr)

    def done(self) -> None:
        if self.shown and self.count:
            print(file=sys.stderr)


async def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        report = await lint(session, ids=args.ids)
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
    for found in report["broken_conditions"]:
        print(f"error: condition {found['condition']} no longer checks: {found['error']}")
    for found in report["foreign_conditions"]:
        print(f"error: permission {found['permission']} carries a condition of {found['model']}")
    for key, said in (
        ("unknown_models", "permission {} names an unknown model"),
        ("unheld_roles", "role {} is held by nobody"),
        ("unheld_permissions", "permission {} is granted to no role"),
        ("unused_conditions", "condition {} is carried by no permission"),
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


async def lint(session: AsyncSession, *, ids: bool = False) -> dict[str, Any]:
    """Return the errors (drift: missing, stale, orphan and duplicate rule rows; permissions
    whose model no rule can hold; conditions that no longer check, permissions carrying
    another model's) and the warnings (unknown models, unheld roles and permissions,
    conditions nobody carries, users without a role, inactive users who still hold roles),
    in names."""
    diff = await sync_policy(session, dry_run=True)
    directory = await Directory.load(session, ids=ids)
    unknown = sorted(
        str(p)
        for p in await session.scalars(
            select(Permission).where(Permission.model.not_in(PERMISSION_MODELS))
        )
        if str(p) not in EXTRA_PERMISSIONS and well_formed(p.model)
    )
    memberships = list(await session.execute(select(user_roles.c.user_id, user_roles.c.role_id)))
    held_roles = {role_id for _, role_id in memberships}
    with_role = {user_id for user_id, _ in memberships}
    granted = set(await session.scalars(select(role_permissions.c.permission_id)))
    users = list(await session.execute(select(User.id, User.is_active).order_by(User.username)))

    def named(rules: list[Rule]) -> list[dict[str, Any]]:
        return [{"rule": list(rule), "text": directory.rule(rule)} for rule in rules]

    orphans = [rule for rule in diff.removed if directory.orphan(rule)]
    permissions = list(await session.scalars(select(Permission)))
    malformed = sorted(str(p) for p in permissions if not well_formed(p.model))
    findings = await condition_findings(session, permissions)
    return {
        "drift": {
            "missing": named(diff.added),
            "stale": named([rule for rule in diff.removed if rule not in orphans]),
            "orphan": named(orphans),
            "duplicate": named(diff.duplicates),
        },
        "malformed_models": malformed,
        **findings,
        "unknown_models": unknown,
        "unheld_roles": sorted(directory.role(r) for r in directory.roles if r not in held_roles),
        "unheld_permissions": sorted(str(p) for p in permissions if p.id not in granted),
        "users_without_roles": [directory.user(u) for u, _ in users if u not in with_role],
        "inactive_users_with_roles": [
            directory.user(u) for u, active in users if not active and u in with_role
        ],
        "ok": not diff.changed and not malformed and not _condition_errors(findings),
    }


async def condition_findings(
    session: AsyncSession, permissions: list[Permission]
) -> dict[str, list[Any]]:
    """Conditions that no longer check against the schema (true of nothing: errors), that
    no permission carries (warnings), and permissions carrying another model's (errors)."""
    conditions = list(await session.scalars(select(Condition).order_by(Condition.model)))
    reaches = can_targets((condition.model, condition.expression) for condition in conditions)
    broken = []
    for condition in conditions:  # against the schema, and no loop of can() through others
        try:
            check_condition(condition.model, condition.expression, reaches)
        except ConditionError as refusal:
            broken.append({"condition": _named(condition), "error": str(refusal)})
    by_id = {condition.id: condition for condition in conditions}
    carried = {p.condition_id for p in permissions}
    return {
        "broken_conditions": broken,
        "unused_conditions": [_named(c) for c in conditions if c.id not in carried],
        "foreign_conditions": [
            {"permission": str(p), "model": by_id[p.condition_id].model}
            for p in permissions
            if p.condition_id in by_id and by_id[p.condition_id].model != p.model
        ],
    }


def _condition_errors(findings: dict[str, list[Any]]) -> bool:
    return bool(findings["broken_conditions"] or findings["foreign_conditions"])


def _named(condition: Condition) -> str:
    return f"{condition.model}.{condition.name}"
