"""The one transaction boundary: a session per request, committed when the route succeeds."""

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.crud.policy import POLICY_DIRTY, sync_policy


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session: the one transaction boundary of the app.

    Commits when the route succeeds (syncing the Casbin policy first when the request
    changed roles, permissions or memberships) and rolls back when it fails. Declared
    with function scope, so the commit happens before the response is sent.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await session.rollback()
            raise


async def commit(session: AsyncSession) -> None:
    """Commit the request's work so far; the only place the app commits."""
    if session.info.get(POLICY_DIRTY):
        await sync_policy(session)
    await session.commit()
