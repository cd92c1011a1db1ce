"""What a change to one of the access tables' records gives people, for the delegation
check (`app/services/delegation.py`): each hook reports it to the check (`grant`, `reach`),
which refuses what the editor does not hold themselves."""

from typing import TYPE_CHECKING, Any

from app import crud
from app.core.permissions import DEFAULT_ROLE, permission_name
from app.models import Condition

if TYPE_CHECKING:
    from app.services.delegation import Check

PARTS = ("model", "action", "scope")  # of a permission's name


async def role_grants(check: "Check", values: dict[str, Any], record: Any | None) -> None:
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


async def user_grants(check: "Check", values: dict[str, Any], record: Any | None) -> None:
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


async def group_grants(check: "Check", values: dict[str, Any], record: Any | None) -> None:
    """A group's new members reach its records through their `group` permissions (a new
    group owns no record yet: its first members reach nothing through it)."""
    if record is None or "member_ids" not in values:
        return
    members = _added(values["member_ids"], record, "member_ids")
    granted = [check.access.policy.permissions(member) for member in members]
    await check.reach([record.id], set().union(*granted))


async def permission_grants(check: "Check", values: dict[str, Any], record: Any | None) -> None:
    """A changed permission: every holder of it holds the new one instead (its condition
    changed, or dropped, included)."""
    if record is None:
        return
    condition = record.condition
    condition_id = values.get("condition_id", record.condition_id)
    if condition_id != record.condition_id:
        found = await check.session.get(Condition, condition_id) if condition_id else None
        condition = found.name if found is not None else None
    after = permission_name(*(values.get(part, getattr(record, part)) for part in PARTS), condition)
    if after != str(record):
        roles = await crud.role.holding(session=check.session, permission_id=record.id)
        groups = await crud.role.member_groups(session=check.session, role_ids=roles)
        await check.grant([after], groups)


def _added(ids: list[int], record: Any | None, field: str) -> set[int]:
    """The ids a write of `field` adds to what `record` holds (all of them on create)."""
    return set(ids) - set(getattr(record, field) if record is not None else ())
