"""`policy check`, `who-can` and `show`: decisions as the API takes them, and why, in names.

Decisions come from the same `PolicyEngine` the app uses, loaded from the stored Casbin
rules; the explanations (which role and rule, or why nothing matched) read the same rules.
"""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.directory import (
    Directory,
    find_user,
    known_model,
    parse_perm,
    resource_for,
    role_ids_of,
    rules_of,
    transaction,
)
from app.cli.output import CliError, emit_json, table
from app.core.config import Settings
from app.core.enforcer import PolicyEngine, load_policy
from app.models import User
from app.services.explain import access_of, reasons_for


async def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        policy = await load_policy(settings)
        decision = await check(
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
        for step in decision.steps:
            print(f"  {step}")
        for match in decision.matched:
            print(f"  via role {match['role']}: {match['rule']}")
        if decision.reason:
            print(f"  reason: {decision.reason}")
    return 0 if decision.allowed else 1


async def cmd_who_can(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        policy = await load_policy(settings)
        rows = await who_can(session, policy, args.permission, ids=args.ids)
    if args.json:
        emit_json({"permission": args.permission, "users": rows})
    elif rows:
        lines = [
            (
                row["user"] if row["active"] else f"{row['user']} (inactive)",
                row["role"],
                f"{row['scope']}[{row['condition']}]" if row["condition"] else row["scope"],
                ", ".join(row["groups"]) or ("none" if row["scope"] == "group" else ""),
            )
            for row in rows
        ]
        print(table(("user", "via role", "scope", "groups reached"), lines))
    else:
        print(f"nobody holds {args.permission}")
    return 0


async def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        policy = await load_policy(settings)
        info = await show(session, policy, args.user, ids=args.ids)
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


@dataclass
class Decision:
    allowed: bool
    user: str
    permission: str
    record: dict[str, Any] | None
    matched: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    # On a record: each permission held for the action, and whether it reaches the record
    # (its scope, its condition with the values it read).
    steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": "ALLOW" if self.allowed else "DENY",
            "allowed": self.allowed,
            "user": self.user,
            "permission": self.permission,
            "record": self.record,
            "matched": self.matched,
            "reason": self.reason,
            "steps": self.steps,
        }


def covers(
    scope: str, user_id: int, group_ids: Sequence[int], owner: int | None, group: int | None
) -> bool:
    """Whether a rule of `scope` reaches a record with these owners (the model's matcher)."""
    return scope == "all" or (
        (scope == "own" and owner == user_id)
        or (scope == "group" and group is not None and group in group_ids)
    )


async def check(
    session: AsyncSession,
    policy: PolicyEngine,
    name: str,
    perm: str,
    record_id: int | None,
    *,
    ids: bool = False,
) -> Decision:
    """Decide as the API does, and say why in names.

    Without a scope: the API's decision (on a record, `read` first: an unreadable record is
    a 404). With one (`task:delete:all`): whether the user holds the permission with that
    scope, and on a record, whether that scope reaches it.
    """
    model, action, scope = parse_perm(perm, scope=True)
    user = await find_user(session, name)
    known_model(model)
    directory = await Directory.load(session, ids=ids)
    groups = policy.group_ids(user.id)
    held = [
        (role_id, rule)
        for role_id in role_ids_of(policy, user.id)
        for rule in rules_of(policy, role_id)
        if rule[0] == model and (scope is None or rule[2] == scope)
    ]
    who = directory.user(user.id)
    decision = Decision(False, who, ":".join(filter(None, (model, action, scope))), None)

    def matched(act: str, record: tuple[int | None, int | None] | None) -> list[dict[str, str]]:
        """The role and rule of each `act` rule held, that covers `record` if there is one."""
        return [
            {"role": directory.role(role_id), "rule": directory.permission(rule)}
            for role_id, rule in held
            if rule[1] == act and (record is None or covers(rule[2], user.id, groups, *record))
        ]

    def unheld(act: str) -> str:
        others = sorted(
            {
                rule[2]
                for role_id in role_ids_of(policy, user.id)
                for rule in rules_of(policy, role_id)
                if rule[:2] == (model, act)
            }
        )
        roles = ", ".join(directory.role(r) for r in role_ids_of(policy, user.id)) or "none"
        found = f"{who} holds {model}:{act} only with scope {', '.join(others)}" if others else ""
        return found or f"no rule for {model}:{act} in {who}'s roles ({roles})"

    if record_id is None:
        decision.matched = matched(action, None)
        decision.allowed = bool(decision.matched)
        if not decision.allowed:
            decision.reason = unheld(action)
        return decision
    row = await resource_for(model).crud.get(session=session, id=record_id)
    if row is None:
        raise CliError(f"no {model} record {record_id}")
    owner, group = row.owner_user_id, row.owner_group_id
    decision.record = {
        "id": record_id,
        "owner": directory.user(owner),
        "group": directory.group(group),
    }
    if ids:
        decision.record |= {"owner_user_id": owner, "owner_group_id": group}
    steps = [action] if scope or action == "read" else ["read", action]
    access = access_of(user, policy=policy)
    res = resource_for(model)
    reasons = []
    for act in steps:  # the last is `action`: its reasons say what allows it
        view = await access.view(session, res, act, row)
        reasons = reasons_for(access, res, act, view)
        for reason in reasons:
            outcome = "allows" if reason.allows else "; ".join(reason.why_not)
            via = f"via role {reason.role}" if reason.role else "held directly"
            decision.steps.append(f"{act}: {reason.permission} ({via}): {outcome}")
        allowed = bool(matched(act, (owner, group))) if scope else access.allows(model, act, view)
        if allowed:
            continue
        if not any(rule[1] == act for _, rule in held):
            why = unheld(act)
        elif any(
            len(rule) > 3 and covers(rule[2], user.id, groups, owner, group)
            for _, rule in held
            if rule[1] == act
        ):
            why = f"no condition of {who}'s {model}:{act} permissions holds of the record"
        else:
            scopes = ", ".join(sorted({rule[2] for _, rule in held if rule[1] == act}))
            mine = ", ".join(directory.group(g) for g in groups) or "none"
            why = (
                f"{who} holds {model}:{act} only with scope {scopes}, and the record "
                f"(owner {directory.user(owner)}, group {directory.group(group)}) is outside "
                f"it ({who}'s groups: {mine})"
            )
        if act != action:
            why += "; the record is not readable, so the API answers 404"
        decision.reason = why
        return decision
    decision.allowed = True
    if scope:
        decision.matched = matched(action, (owner, group))
    else:
        decision.matched = [
            {"role": reason.role or who, "rule": reason.permission}
            for reason in reasons
            if reason.allows
        ]
    return decision


async def who_can(
    session: AsyncSession, policy: PolicyEngine, perm: str, *, ids: bool = False
) -> list[dict[str, Any]]:
    """Return the users holding `model:action[:scope]`: the role it comes through, and for
    the group scope the groups whose records it reaches."""
    model, action, scope = parse_perm(perm, scope=True)
    directory = await Directory.load(session, ids=ids)
    active = dict(list(await session.execute(select(User.id, User.is_active))))
    rows = []
    for rule in policy.enforcer.get_filtered_named_policy("p", 1, model, action):
        if scope is not None and rule[3] != scope:
            continue
        for sub in policy.enforcer.get_named_role_manager("g").get_users(rule[0]):
            user_id = int(sub[2:])
            groups = policy.group_ids(user_id) if rule[3] == "group" else []
            row = {
                "user": directory.subject(sub),
                "active": active.get(user_id, False),
                "role": directory.subject(rule[0]),
                "scope": rule[3],
                "condition": directory.condition(rule[4] if len(rule) > 4 else None),
                "groups": [directory.group(g) for g in groups],
            }
            if ids:
                row |= {"user_id": user_id, "role_id": int(rule[0][2:]), "group_ids": groups}
            rows.append(row)
    return sorted(rows, key=lambda r: (r["user"], r["role"], r["scope"]))


async def show(
    session: AsyncSession, policy: PolicyEngine, name: str, *, ids: bool = False
) -> dict[str, Any]:
    """Return a user's roles, groups and effective permissions with the roles they come from."""
    user = await find_user(session, name)
    directory = await Directory.load(session, ids=ids)
    info: dict[str, Any] = {"user": directory.user(user.id), "is_active": user.is_active}
    if ids:
        info["user_id"] = user.id
    return info | held_by(policy, directory, user.id)


def held_by(policy: PolicyEngine, directory: Directory, user_id: int) -> dict[str, Any]:
    """A user's roles, groups and permissions (each with the roles that give it), by name."""
    via: dict[str, list[str]] = {}
    role_ids = role_ids_of(policy, user_id)
    for role_id in role_ids:
        for rule in rules_of(policy, role_id):
            via.setdefault(directory.permission(rule), []).append(directory.role(role_id))
    return {
        "roles": [directory.role(r) for r in role_ids],
        "groups": [directory.group(g) for g in policy.group_ids(user_id)],
        "permissions": [{"permission": p, "roles": via[p]} for p in sorted(via)],
    }
