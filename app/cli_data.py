"""What the `policy` console script asks of the database and the enforcer.

Decisions come from the same `PolicyEngine` the app uses, loaded from the stored Casbin
rules; the explanations (which role and rule, or why nothing matched) read the same rules.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.database import create_app_engine
from app.core.enforcer import PolicyEngine, role_sub, user_sub
from app.core.numbers import whole_number
from app.crud.policy import Rule, sync_policy, well_formed
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
    """Return the user named by username (any case), or by id when no username matches."""
    user = await session.scalar(select(User).where(func.lower(User.username) == name.lower()))
    user_id = whole_number(name) if user is None else None
    if user_id is not None:
        user = await session.get(User, user_id)
    if user is None:
        raise CliError(f"unknown user {name!r}")
    return user


async def names(session: AsyncSession, model: Any) -> dict[int, str]:
    """Return id -> name (username for users) for every row of a named table."""
    column = model.username if model is User else model.name
    return dict(
        (row_id, str(value)) for row_id, value in await session.execute(select(model.id, column))
    )


@dataclass
class Directory:
    """Users, roles and groups by id, to speak of them by name (with their ids on request).

    Casbin's subjects are `u:<id>`, `r:<id>`, `g:<id>`; one that names no row is shown as
    the id with "(no such user)" and so on: an orphan rule.
    """

    users: dict[int, str]
    roles: dict[int, str]
    groups: dict[int, str]
    ids: bool = False

    @classmethod
    async def load(cls, session: AsyncSession, *, ids: bool = False) -> "Directory":
        return cls(
            await names(session, User), await names(session, Role), await names(session, Group), ids
        )

    def _name(self, kind: str, table: dict[int, str], row_id: int | None) -> str:
        if row_id is None:
            return "nobody" if kind == "user" else "none"
        sub = f"{kind[0]}:{row_id}"
        if row_id not in table:
            return f"{sub} (no such {kind})"
        return f"{table[row_id]} ({sub})" if self.ids else table[row_id]

    def user(self, user_id: int | None) -> str:
        return self._name("user", self.users, user_id)

    def role(self, role_id: int | None) -> str:
        return self._name("role", self.roles, role_id)

    def group(self, group_id: int | None) -> str:
        return self._name("group", self.groups, group_id)

    def subject(self, sub: str) -> str:
        """`u:2` -> `demo`; anything else as it is."""
        kind, _, number = sub.partition(":")
        row_id = whole_number(number)
        show = {"u": self.user, "r": self.role, "g": self.group}.get(kind)
        return show(row_id) if show and row_id is not None else sub

    def known(self, sub: str) -> bool:
        """Whether a subject names an existing user, role or group."""
        kind, _, number = sub.partition(":")
        table = {"u": self.users, "r": self.roles, "g": self.groups}.get(kind)
        return table is not None and whole_number(number) in table

    def rule(self, rule: Sequence[str]) -> str:
        """A Casbin rule in words: `role user may task:read:group`, `user demo has role user`."""
        kind, *values = rule
        if kind == "p" and len(values) == 4:
            return f"role {self.subject(values[0])} may {':'.join(values[1:])}"
        if kind == "g" and len(values) == 2:
            return f"user {self.subject(values[0])} has role {self.subject(values[1])}"
        if kind == "g2" and len(values) == 2:
            return f"user {self.subject(values[0])} is in group {self.subject(values[1])}"
        return ", ".join(rule)

    def orphan(self, rule: Sequence[str]) -> bool:
        """Whether a rule names a user, role or group that does not exist."""
        return any(not self.known(value) for value in rule[1:3] if value[:2] in SUBJECTS)


SUBJECTS = ("u:", "r:", "g:")


def known_model(model: str) -> str:
    """Return `model` if a permission can name it (a table's, or an extra one like audit)."""
    extra = {name.split(":", 1)[0] for name in EXTRA_PERMISSIONS}
    if model in PERMISSION_MODELS or model in extra:
        return model
    known = ", ".join((*PERMISSION_MODELS, *sorted(extra)))
    raise CliError(f"unknown model {model!r} (known: {known})")


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
            {"role": directory.role(role_id), "rule": ":".join(rule)}
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
    for act in steps:
        allowed = (
            bool(matched(act, (owner, group)))
            if scope
            else policy.allows(user.id, model, act, owner, group)
        )
        if allowed:
            continue
        if not any(rule[1] == act for _, rule in held):
            why = unheld(act)
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
    decision.matched = matched(action, (owner, group))
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
            via.setdefault(":".join(rule), []).append(directory.role(role_id))
    return {
        "roles": [directory.role(r) for r in role_ids],
        "groups": [directory.group(g) for g in policy.group_ids(user_id)],
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


async def lint(session: AsyncSession, *, ids: bool = False) -> dict[str, Any]:
    """Return the errors (drift: missing, stale, orphan and duplicate rule rows; permissions
    whose model no rule can hold) and the warnings (unknown models, unheld roles and
    permissions, users without a role, inactive users who still hold roles), in names."""
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
    return {
        "drift": {
            "missing": named(diff.added),
            "stale": named([rule for rule in diff.removed if rule not in orphans]),
            "orphan": named(orphans),
            "duplicate": named(diff.duplicates),
        },
        "malformed_models": malformed,
        "unknown_models": unknown,
        "unheld_roles": sorted(directory.role(r) for r in directory.roles if r not in held_roles),
        "unheld_permissions": sorted(str(p) for p in permissions if p.id not in granted),
        "users_without_roles": [directory.user(u) for u, _ in users if u not in with_role],
        "inactive_users_with_roles": [
            directory.user(u) for u, active in users if not active and u in with_role
        ],
        "ok": not diff.changed and not malformed,
    }
