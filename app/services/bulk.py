"""Bulk delete: the records chosen, each decided as a single delete is (read, then delete),
each deleted in a savepoint of its own, so that one refusal (the last-admin guard, a record
gone meanwhile) keeps the others."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, NotFound
from app.resources import Resource
from app.services.access import Access
from app.services.writes import delete_record


async def readable(
    res: Resource, access: Access, session: AsyncSession, ids: list[int]
) -> list[Any]:
    """The records among `ids` the caller may read (the rest are as if missing)."""
    rows = await res.crud.among(session=session, ids=ids)
    return [row for row in rows if await access.decides(session, res, "read", row)]


async def deletable(
    res: Resource, access: Access, session: AsyncSession, ids: list[int]
) -> tuple[list[Any], int]:
    """The records among `ids` the caller may delete, and how many of `ids` they may not."""
    found = await readable(res, access, session, ids)
    chosen = [row for row in found if await access.decides(session, res, "delete", row)]
    return chosen, len(ids) - len(chosen)


async def delete_many(
    res: Resource, access: Access, session: AsyncSession, ids: list[int]
) -> tuple[list[str], int]:
    """Delete what the caller may of `ids`: the titles deleted, and how many were refused
    (missing, unreadable, not theirs to delete, gone meanwhile, the last admin)."""
    found = await readable(res, access, session, ids)
    deleted, refused = [], len(ids) - len(found)
    for record in found:
        title = res.title_of(record)
        if not await access.decides(session, res, "delete", record):
            refused += 1
            continue
        try:
            async with session.begin_nested():
                await delete_record(res=res, access=access, session=session, record=record)
        except (NotFound, Conflict):
            refused += 1
            continue
        deleted.append(title)
    return deleted, refused
