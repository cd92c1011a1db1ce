"""Try an update first: make it in the request's transaction, say which users would gain
and lose which permissions, and roll it back (`?dry_run=1`, the role matrix's preview)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.transaction import rollback
from app.api.writes import update_record
from app.core.config import Settings
from app.crud.role import Holder
from app.resources import REGISTRY, Resource
from app.services.access import Access

USERS = REGISTRY["users"]  # whom holders are: named only to those who may read them

DRY_RUN = (
    "Check the update as if made (the same refusals) but write nothing: answer which users "
    "would gain and lose which permissions instead of the record."
)


def dry_run_param(res: Resource) -> Callable[..., Awaitable[bool]]:
    """Build the dependency that reads `?dry_run=` where updates of `res` can be tried
    first; elsewhere the parameter is undocumented and refused (422)."""
    if res.holders is None:

        async def never(request: Request) -> bool:
            # Refused rather than ignored: a client asking to write nothing must not write.
            if "dry_run" in request.query_params:
                message = f"{res.label} cannot be tried first: leave dry_run out"
                error = {"loc": ("query", "dry_run"), "msg": message, "type": "value_error"}
                raise RequestValidationError([error])
            return False

        return never

    async def asked(dry_run: Annotated[bool, Query(description=DRY_RUN)] = False) -> bool:
        return dry_run

    return asked


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
