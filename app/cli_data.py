"""What the `policy` console script asks of the database and the enforcer.

Decisions come from the same `PolicyEngine` the app uses, loaded from the stored Casbin
rules; the explanations (which role and rule, or why nothing matched) read the same rules.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.database import create_app_engine
from app.core.enforcer import PolicyEngine, role_sub, user_sub
from app.crud.policy import sync_policy
from app.db import create_sessionmaker
from app.models import Group, Permission, Role, User, role_permissions, user_roles
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS, REGISTRY, Resource


class CliError(Exception):
    """A usage error the script reports with exit status 2 (unknown user, record, model)."""


@asynccontextmanager
async def transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One session in one transaction, committed on success, on the app's async engine."""
    engine = create_app_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


def parse_perm(text: str, *, scope: bool = False) -> tuple[str, str, str | None]:
    """Split `model:action` (or `model:action:scope` when `scope`) into its parts."""
    parts = text.split(":")
    if (len(parts) == 2 or (scope and len(parts) == 3)) and all(parts):
        return parts[0], parts[1], parts[2] if len(parts) == 3 else None
    wanted = "MODEL:ACTION[:SCOPE]" if scope else "MODEL:ACTION"
    raise CliError(f"expected {wanted}, got {text!r}")


async def find_user(session: AsyncSession, name: str) -> User:
    """Return the user named by username, or by id when no username matches."""
    user = await session.scalar(select(User).where(User.username == name))
    if user is None and name.isdigit():
        user = await session.get(User, int(name))
    if user is None:
        raise CliError(f"unknown user {name!r}")
    return user


async def names(session: AsyncSession, model: Any) -> dict[int, str]:
    """Return id -> name (username for users) for every row of a named table."""
    column = model.username if model is User else model.name
    return dict(
        (row_id, str(value)) for row_id, value in await session.execute(select(model.id, column))
    )


def resource_for(model: str) -> Resource:
    for res in REGISTRY.values():
        if res.policy_model == model:
            return res
    raise CliError(f"unknown model {model!r} (known: {', '.join(PERMISSION_MODELS)})")


def role_ids_of(policy: PolicyEngine, user_id: int) -> list[int]:
    roles = policy.enforcer.get_named_role_manager("g").get_roles(user_sub(user_id))
    return sorted(int(name[2:]) for name in roles if name.startswith("r:"))


def rules_of(policy: PolicyEngine, role_id: int) -> list[tuple[str, str, str]]:
    """Return the (model, action, scope) rules Casbin holds for a role."""
    found = policy.enforcer.get_filtered_named_policy("p", 0, role_sub(role_id))
    return sorted((rule[1], rule[2], rule[3]) for rule in found)


@dataclass
class Decision:
    allowed: bool
    user: str
    permission: str
    record: dict[str, Any] | None
    matched: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": "ALLOW" if self.allowed else "DENY",
            "allowed": self.allowed,
            "user": self.user,
            "permission": self.permission,
            "record": self.record,
            "matched": self.matched,
            "reason": self.reason,
        }


def _matches(
    scope: str, user_id: int, group_ids: list[int], owner: int | None, group: int | None
) -> bool:
    return scope == "all" or (
        (scope == "own" and owner == user_id)
        or (scope == "group" and group is not None and group in group_ids)
    )


async def check(
    session: AsyncSession, policy: PolicyEngine, name: str, perm: str, record_id: int | None
) -> Decision:
    """Decide as the API does: `read` first on a record (404 when unreadable), then `action`."""
    model, action, _ = parse_perm(perm)
    user = await find_user(session, name)
    res = resource_for(model)
    roles = await names(session, Role)
    groups = policy.group_ids(user.id)
    held = [
        (role_id, rule)
        for role_id in role_ids_of(policy, user.id)
        for rule in rules_of(policy, role_id)
        if rule[0] == model
    ]

    def matched(act: str, record: tuple[int | None, int | None] | None) -> list[dict[str, str]]:
        """The role and rule of each `act` rule held, that covers `record` if there is one."""
        return [
            {"role": roles.get(role_id, role_sub(role_id)), "rule": ":".join(rule)}
            for role_id, rule in held
            if rule[1] == act and (record is None or _matches(rule[2], user.id, groups, *record))
        ]

    decision = Decision(False, user.username, f"{model}:{action}", None)
    if record_id is None:
        decision.allowed = policy.scopes(user.id, model, action).any
        decision.matched = matched(action, None)
        if not decision.allowed:
            decision.reason = f"no rule for {model}:{action} in the user's roles"
        return decision
    row = await res.crud.get(session=session, id=record_id)
    if row is None:
        raise CliError(f"no {model} record {record_id}")
    owner, group = row.owner_user_id, row.owner_group_id
    decision.record = {"id": record_id, "owner_user_id": owner, "owner_group_id": group}
    steps = ["read"] if action == "read" else ["read", action]
    for act in steps:
        if not policy.allows(user.id, model, act, owner, group):
            scopes = sorted({rule[2] for _, rule in held if rule[1] == act})
            if not scopes:
                why = f"no rule for {model}:{act} in the user's roles"
            else:
                why = (
                    f"{model}:{act} is held only with scope {', '.join(scopes)}, and the "
                    f"record's owners (user {owner}, group {group}) are outside it "
                    f"(user {user.id}, groups {groups or 'none'})"
                )
            if act != action:
                why += "; the record is not readable, so the API answers 404"
            decision.reason = why
            return decision
    decision.allowed = True
    decision.matched = matched(action, (owner, group))
    return decision


async def who_can(session: AsyncSession, policy: PolicyEngine, perm: str) -> list[dict[str, Any]]:
    """Return the users holding `model:action[:scope]`, with the role and scope it comes via."""
    model, action, scope = parse_perm(perm, scope=True)
    roles = await names(session, Role)
    users = await names(session, User)
    rows = []
    for rule in policy.enforcer.get_filtered_named_policy("p", 1, model, action):
        if scope is not None and rule[3] != scope:
            continue
        role_id = int(rule[0][2:])
        for sub in policy.enforcer.get_named_role_manager("g").get_users(rule[0]):
            user_id = int(sub[2:])
            rows.append(
                {
                    "user": users.get(user_id, sub),
                    "user_id": user_id,
                    "role": roles.get(role_id, rule[0]),
                    "scope": rule[3],
                }
            )
    return sorted(rows, key=lambda r: (r["user"], r["role"], r["scope"]))


async def show(session: AsyncSession, policy: PolicyEngine, name: str) -> dict[str, Any]:
    """Return a user's roles, groups and effective permissions with the roles they come from."""
    user = await find_user(session, name)
    roles = await names(session, Role)
    group_names = await names(session, Group)
    via: dict[str, list[str]] = {}
    role_ids = role_ids_of(policy, user.id)
    for role_id in role_ids:
        for rule in rules_of(policy, role_id):
            via.setdefault(":".join(rule), []).append(roles.get(role_id, role_sub(role_id)))
    return {
        "user": user.username,
        "user_id": user.id,
        "is_active": user.is_active,
        "roles": [roles.get(r, role_sub(r)) for r in role_ids],
        "groups": [group_names.get(g, f"g:{g}") for g in policy.group_ids(user.id)],
        "permissions": [{"permission": p, "roles": via[p]} for p in sorted(via)],
    }


async def matrix(session: AsyncSession) -> tuple[list[str], dict[str, list[str]]]:
    """Return every permission and, per role, the permissions it is granted in the tables."""
    perms = {
        p.id: str(p)
        for p in await session.scalars(
            select(Permission).order_by(Permission.model, Permission.action, Permission.scope)
        )
    }
    granted: dict[str, list[str]] = {name: [] for name in (await names(session, Role)).values()}
    grants = await session.execute(
        select(Role.name, role_permissions.c.permission_id).join(
            role_permissions, role_permissions.c.role_id == Role.id
        )
    )
    for role, perm_id in grants:
        granted[role].append(perms[perm_id])
    return list(perms.values()), dict(sorted(granted.items()))


async def lint(session: AsyncSession) -> dict[str, Any]:
    """Return drift (an error) and warnings: unknown models, roles nobody holds."""
    diff = await sync_policy(session, dry_run=True)
    unknown = sorted(
        str(p)
        for p in await session.scalars(
            select(Permission).where(Permission.model.not_in(PERMISSION_MODELS))
        )
        if str(p) not in EXTRA_PERMISSIONS
    )
    held = set(await session.scalars(select(user_roles.c.role_id)))
    unheld = sorted(
        role.name for role in await session.scalars(select(Role)) if role.id not in held
    )
    return {
        "drift": {
            "added": [list(rule) for rule in diff.added],
            "removed": [list(rule) for rule in diff.removed],
        },
        "unknown_models": unknown,
        "unheld_roles": unheld,
        "ok": not diff.changed,
    }
