"""Access decisions in a route's signature: `Authorize` (some scope of an action),
`AuthorizedRecord` and `ReadableRecord` (the record `{id}` names, handed on as a value).
Every decision is `Access.decides` (`app/core/decisions.py`); a write's own checks are
`app/services/checks.py`.
"""

from typing import Annotated, Any

from fastapi import Cookie, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.identity import SESSION_COOKIE, get_access, resolve_visitor, signed_in
from app.api.transaction import get_db
from app.core import metrics
from app.core.conditions.evaluate import View
from app.core.errors import Forbidden, NotFound
from app.core.numbers import INT_MAX
from app.resources import Resource
from app.services.access import Access


def Authorize(res: Resource, action: str) -> Any:
    """Depend on a user holding some scope of `<res.policy_model>:<action>`; 403 otherwise."""

    async def dependency(access: Annotated[Access, Depends(get_access)]) -> Access:
        allowed = access.scopes(res.policy_model, action).any
        metrics.decided(res.policy_model, action, allowed)
        if not allowed:
            raise Forbidden()
        return access

    return Depends(dependency)


async def authorized(
    res: Resource,
    action: str,
    access: Access,
    session: AsyncSession,
    record: Any,
    unreadable: int = 404,
) -> Any:
    """Return `record` if the caller may `action` it: 404 if missing, `unreadable` if they
    may not read it (the API answers 404, as if missing; pages answer 403), else 403."""
    if record is None:
        raise NotFound(res.singular)
    if not await access.decides(session, res, "read", record):
        raise NotFound(res.singular) if unreadable == 404 else Forbidden()
    if action != "read" and not await access.decides(session, res, action, record):
        raise Forbidden(explain=(res.path, action, record.id))
    return record


def AuthorizedRecord(res: Resource, action: str, *, unreadable: int = 404) -> Any:
    """Depend on the record named by `{id}`, as an ORM object, decided by `authorized`."""

    async def dependency(
        id: int,
        access: Annotated[Access, Depends(get_access)],
        session: Annotated[AsyncSession, Depends(get_db, scope="function")],
    ) -> Any:
        record = await res.crud.get(session=session, id=id)
        return await authorized(res, action, access, session, record, unreadable)

    return Depends(dependency)


def ReadableRecord(res: Resource) -> Any:
    """Depend on the record named by `{id}` for a route that only shows it (its read
    schema), decided by `authorized`; the route's only resolution of its caller.

    Where the resource reads plain rows (`Resource.plain_reads`), the row comes in the
    statement that resolves the caller, with the records its to-one relations name where
    the policy's conditions read them: one round trip. Else the ORM object, right after.
    """

    async def dependency(
        id: int,
        request: Request,
        session: Annotated[AsyncSession, Depends(get_db, scope="function")],
        session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
    ) -> Any:
        record_of = (res, id) if res.plain_reads and 1 <= id <= INT_MAX else None
        visitor, record = await resolve_visitor(request, session, session_id, record_of)
        access = signed_in(visitor)
        if record_of is None:
            record = await res.crud.get(session=session, id=id)
        if isinstance(record, View):  # with the related records the policy's conditions read
            await authorized(res, "read", access, session, record)
            return record.record
        return await authorized(res, "read", access, session, record)

    return Depends(dependency)
