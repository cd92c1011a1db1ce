"""Try an update first: make it in the request's transaction, say which users would gain
and lose which permissions, and roll it back (`?dry_run=1`, the role matrix's preview)."""

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core.config import Settings
from app.core.errors import FieldError, Forbidden, WriteError
from app.core.permissions import parse_permission
from app.crud.role import Holder
from app.crud.transaction import rollback
from app.resources import PERMISSION_MODELS, REGISTRY, Resource
from app.services.access import Access
from app.services.writes import create_record, update_record

USERS = REGISTRY["users"]  # whom holders are: named only to those who may read them


async def try_update(
    *,
    res: Resource,
    access: Access,
    session: AsyncSession,
    settings: Settings,
    record: Any,
    values: dict[str, Any],
) -> dict[str, Any]:
    """Make the update as `update_record` does, refused alike (403, 409, `WriteError`), and
    answer who would gain and lose what; then roll the transaction back: nothing is written,
    audited or synced to the policy. Users the caller may not read are counted, not named."""
    assert res.holders is not None, f"{res.path} declares no holders"
    name = res.title_of(record)  # read now: the rollback expires the record
    before = await res.holders(session=session, record=record)
    await update_record(
        res=res, access=access, session=session, settings=settings, record=record, values=values
    )
    after = await res.holders(session=session, record=record)
    await rollback(session)
    changes = permission_changes(before, after)
    readable = await access.titles_of(USERS, session, [change["user_id"] for change in changes])
    shown = [change for change in changes if change["user_id"] in readable]
    return {
        "dry_run": True,
        res.policy_model: name,
        "changes": shown,
        "hidden": len(changes) - len(shown),
    }


def permission_changes(before: dict[int, Holder], after: dict[int, Holder]) -> list[dict[str, Any]]:
    """Return each user whose permissions differ from `before` to `after`, in username
    order, with the permissions they gain and lose."""
    nothing: frozenset[str] = frozenset()
    changes = []
    for user_id in before.keys() | after.keys():
        held = before[user_id].permissions if user_id in before else nothing
        holds = after[user_id].permissions if user_id in after else nothing
        if held != holds:
            username = (after.get(user_id) or before[user_id]).username
            gained, lost = sorted(holds - held), sorted(held - holds)
            changes.append({"user": username, "user_id": user_id, "gained": gained, "lost": lost})
    return sorted(changes, key=lambda change: (change["user"], change["user_id"]))


async def matrix_change(
    session: AsyncSession, role: Any, names: set[str]
) -> tuple[dict[str, Any], list[str]]:
    """The update a role's permission matrix asks for (every checked `model:action:scope`,
    and `model:action:scope[condition]` beside the grid), and the permissions it grants by
    name. Permissions of models beyond the registry's (the audit log's) stay as they are."""
    granted = await crud.permission.named(session=session, names=names, models=PERMISSION_MODELS)
    kept = {p.id for p in role.permissions if p.model not in PERMISSION_MODELS}
    values = {"permission_ids": sorted({p.id for p in granted} | kept)}
    # Named now: a preview's rollback expires these objects.
    return values, sorted(str(p) for p in granted)


async def conditioned_grant(
    *,
    access: Access,
    session: AsyncSession,
    settings: Settings,
    grant: str,
    condition_id: int,
) -> str:
    """The name of `grant` (`model:action:scope`) under condition `condition_id`, made first
    when no permission has that name yet (as `POST /permissions` makes it, refused alike)."""
    condition = await REGISTRY["conditions"].crud.get(session=session, id=condition_id)
    if condition is None:
        raise WriteError([FieldError("condition_id", "no such condition", "reference_error")])
    model, action, scope, _ = parse_permission(grant)
    name = f"{grant}[{condition.name}]"
    if await crud.permission.named(session=session, names={name}, models=[model]):
        return name
    body = {"model": model, "action": action, "scope": scope, "condition_id": condition_id}
    res = REGISTRY["permissions"]
    assert res.create_schema is not None
    try:
        obj_in = res.create_schema.model_validate(body)
    except ValidationError as exc:
        raise WriteError([FieldError("grant", "a permission of the grid", "value_error")]) from exc
    if not access.scopes(res.policy_model, "create").any:
        raise Forbidden(f"{name} does not exist yet, and making it needs permission:create")
    made = await create_record(
        res=res, access=access, session=session, settings=settings, obj_in=obj_in
    )
    return str(made)
