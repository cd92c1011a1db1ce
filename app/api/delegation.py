"""A grant delegates only what the granter holds, as in the trusted access systems
(PostgreSQL's grant option, Kubernetes' escalation check): without it, whoever may edit
roles and read permissions could give their own role every permission.

A write may give a user only what the editor holds at that scope or wider (`task:read:own`
is covered by `task:read:own` or `task:read:all`): a role's new permissions, a user's new
roles, a changed permission, a role renamed to the one every registration gets (whose whole
set then goes to strangers), and another user's password (which lets the editor act as
them, so the editor must hold all they hold). A `group` permission reaches the records of
the holder's groups, so where a write makes one reach a group (a new member, a new
`group` permission for people in it) the editor must reach that group's records too: the
same `all`, or the same `group` and membership. The admin role, holding every permission
at `all`, may grant anything, permissions of models the app does not know included. A
refusal is a 403 naming what the editor does not hold.
"""

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api.access import forbidden
from app.api.signin import DEFAULT_ROLE
from app.models import ACTIONS, Group, Permission, Role, User
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS, REGISTRY, Resource
from app.services.access import Access

EVERYTHING = frozenset(
    {f"{model}:{action}:all" for model in PERMISSION_MODELS for action in ACTIONS}
    | set(EXTRA_PERMISSIONS)
)
PARTS = ("model", "action", "scope")  # of a permission's name


def covers(held: frozenset[str], wanted: str) -> bool:
    """Whether holding `held` covers granting `wanted` (the same, or its model and action
    at `all`)."""
    model, action, _ = wanted.split(":")
    return wanted in held or f"{model}:{action}:all" in held


def refusal(missing: list[str], why: str = "") -> HTTPException:
    """The 403 of a write that would give what the editor does not hold, naming it."""
    return forbidden(
        f"{why}you may grant only what you hold yourself (at the same scope or wider): you"
        f" do not hold {', '.join(missing)}"
    )


async def check_delegation(
    *,
    res: Resource,
    access: Access,
    session: AsyncSession,
    values: dict[str, Any],
    record: Any | None,
) -> None:
    """Refuse (403) a create or update that would give what the editor does not hold.

    `values` holds what the client set; `record` is the record before an update (None on
    create).
    """
    check = Check(access, session)
    if check.held >= EVERYTHING:
        return
    if res.model is Role:
        await _role(check, values, record)
    elif res.model is User:
        await _user(check, values, record)
    elif res.model is Group and record is not None and "member_ids" in values:
        # A new group owns no record yet: its first members reach nothing through it.
        members = _added(values["member_ids"], record, "member_ids")
        granted = [access.policy.permissions(member) for member in members]
        await check.reach([record.id], set().union(*granted))
    elif res.model is Permission and record is not None:
        after = ":".join(str(values.get(part, getattr(record, part))) for part in PARTS)
        if after != str(record):  # every holder of the permission holds this instead
            roles = await crud.role.holding(session=session, permission_id=record.id)
            groups = await crud.role.member_groups(session=session, role_ids=roles)
            await check.grant([after], groups)
    if check.missing:
        raise refusal(list(dict.fromkeys(check.missing)), check.why)


class Check:
    """What one write would give that its editor does not hold, gathered as it is found."""

    def __init__(self, access: Access, session: AsyncSession) -> None:
        self.access = access
        self.session = session
        self.held = access.policy.permissions(access.user.id)
        self.missing: list[str] = []
        self.why = ""

    async def grant(self, names: Iterable[str], groups: Iterable[int]) -> None:
        """Permissions `names` given to people in `groups`: each held, and where it is a
        `group` one, reached in each of those groups."""
        names = set(names)
        self.missing += sorted(name for name in names if not covers(self.held, name))
        await self.reach(groups, names)

    async def reach(self, group_ids: Iterable[int], names: Iterable[str]) -> None:
        """What holders of `names` would reach in each of `group_ids` through their `group`
        permissions that the editor cannot reach there, named `task:read over <group>`."""
        groups = sorted(set(group_ids))
        wanted = sorted({name.rsplit(":", 1)[0] for name in names if name.endswith(":group")})
        if not groups or not wanted:
            return
        titles = await self.access.titles_of(REGISTRY["groups"], self.session, groups)
        for group_id in groups:
            for model_action in wanted:
                model, action = model_action.split(":")
                if not self.access.allows(model, action, {"owner_group_id": group_id}):
                    group = titles.get(group_id, f"group #{group_id}")
                    self.missing.append(f"{model_action} over the records of {group}")


async def _role(check: Check, values: dict[str, Any], record: Role | None) -> None:
    """A role's new permissions go to its members (none yet on create); renamed to the
    role every registration gets, all of them go to whoever registers."""
    session = check.session
    if record is not None and values.get("name") == DEFAULT_ROLE != record.name:
        ids = values.get("permission_ids", record.permission_ids)
        await check.grant(await crud.permission.names(session=session, ids=ids), [])
        check.why = f"whoever registers gets the role named {DEFAULT_ROLE}: "
        return
    if "permission_ids" not in values:
        return
    added = _added(values["permission_ids"], record, "permission_ids")
    names = await crud.permission.names(session=session, ids=added)
    role_ids = [record.id] if record is not None else []
    await check.grant(names, await crud.role.member_groups(session=session, role_ids=role_ids))


async def _user(check: Check, values: dict[str, Any], record: User | None) -> None:
    """A user's new roles reach their groups; their new groups, through all their roles;
    another user's new password lets the editor act as them."""
    session = check.session
    roles = values.get("role_ids", record.role_ids if record is not None else [])
    groups = values.get("group_ids", record.group_ids if record is not None else [])
    if "role_ids" in values:
        added = _added(values["role_ids"], record, "role_ids")
        await check.grant(await crud.role.granted(session=session, role_ids=added), groups)
    if "group_ids" in values:
        reach = await crud.role.granted(session=session, role_ids=roles)
        await check.reach(_added(values["group_ids"], record, "group_ids"), reach)
    if (
        record is not None
        and record.id != check.access.user.id
        and values.get("password") is not None
        and not check.missing
    ):
        theirs = check.access.policy.permissions(record.id)
        await check.grant(theirs, record.group_ids)
        check.why = f"setting {record.username}'s password would let you act as them: "


def _added(ids: list[int], record: Any | None, field: str) -> set[int]:
    """The ids a write of `field` adds to what `record` holds (all of them on create)."""
    return set(ids) - set(getattr(record, field) if record is not None else ())
