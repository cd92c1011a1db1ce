"""A grant delegates only what the granter holds, as in the trusted access systems
(PostgreSQL's grant option, Kubernetes' escalation check): without it, whoever may edit
roles and read permissions could give their own role every permission.

A write that adds permissions to a role, roles to a user, members to a group, or changes
what a permission grants may add only what the editor holds at that scope or wider
(`task:read:own` is covered by `task:read:own` or `task:read:all`). Added to a group, a
member reaches its records through their `group` permissions: the editor must reach them
too (hold the same `all`, or the same `group` and be in that group). The admin role, holding
every permission at `all`, may grant anything, permissions of models the app does not
know included. A refusal is a 403 naming what the editor does not hold.
"""

from typing import Any

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api.access import Access, forbidden
from app.models import ACTIONS, Group, Permission, Role, User
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS, REGISTRY, Resource

EVERYTHING = frozenset(
    {f"{model}:{action}:all" for model in PERMISSION_MODELS for action in ACTIONS}
    | set(EXTRA_PERMISSIONS)
)


def covers(held: frozenset[str], wanted: str) -> bool:
    """Whether holding `held` covers granting `wanted` (the same, or its model and action
    at `all`)."""
    model, action, _ = wanted.split(":")
    return wanted in held or f"{model}:{action}:all" in held


def refusal(missing: list[str]) -> HTTPException:
    return forbidden(
        "you may grant only what you hold yourself (at the same scope or wider): you do not"
        f" hold {', '.join(missing)}"
    )


async def check_delegation(
    *,
    res: Resource,
    access: Access,
    session: AsyncSession,
    values: dict[str, Any],
    record: Any | None,
) -> None:
    """Refuse (403) a create or update that would grant what the editor does not hold.

    `values` holds what the client set; `record` is the record before an update (None on
    create).
    """
    held = access.policy.permissions(access.user.id)
    if held >= EVERYTHING:
        return
    missing: list[str] = []
    if res.model is Role and "permission_ids" in values:
        added = _added(values["permission_ids"], record, "permission_ids")
        granted = await crud.permission.names(session=session, ids=added)
        missing += sorted(name for name in granted if not covers(held, name))
    elif res.model is User:
        if "role_ids" in values:
            added = _added(values["role_ids"], record, "role_ids")
            granted = await crud.role.granted(session=session, role_ids=added)
            missing += sorted(name for name in granted if not covers(held, name))
        if "group_ids" in values:
            roles = values.get("role_ids", record.role_ids if record is not None else [])
            reach = await crud.role.granted(session=session, role_ids=roles)
            groups = _added(values["group_ids"], record, "group_ids")
            missing += await _unreached(access, session, groups, reach)
    elif res.model is Group and record is not None and "member_ids" in values:
        # A new group owns no record yet: its first members reach nothing through it.
        members = _added(values["member_ids"], record, "member_ids")
        granted = await crud.role.granted_to(session=session, user_ids=members)
        reach = set().union(*granted.values())
        missing += await _unreached(access, session, [record.id], reach)
    elif res.model is Permission and record is not None:
        after = ":".join(str(values.get(part, getattr(record, part))) for part in PARTS)
        if after != str(record) and not covers(held, after):
            missing.append(after)
    if missing:
        raise refusal(list(dict.fromkeys(missing)))


PARTS = ("model", "action", "scope")


def _added(ids: list[int], record: Any | None, field: str) -> set[int]:
    """The ids a write of `field` adds to what `record` holds (all of them on create)."""
    return set(ids) - set(getattr(record, field) if record is not None else ())


async def _unreached(
    access: Access, session: AsyncSession, group_ids: set[int] | list[int], reach: set[str]
) -> list[str]:
    """What members holding `reach` would reach in each of `group_ids` through their
    `group` permissions that the editor cannot reach there, named `task:read in <group>`."""
    wanted = sorted({name.rsplit(":", 1)[0] for name in reach if name.endswith(":group")})
    if not group_ids or not wanted:
        return []
    titles = await access.titles_of(REGISTRY["groups"], session, group_ids)
    missing = []
    for group_id in sorted(group_ids):
        for model_action in wanted:
            model, action = model_action.split(":")
            if not access.can(model, action, None, group_id):
                group = titles.get(group_id, f"group #{group_id}")
                missing.append(f"{model_action} over the records of {group}")
    return missing
