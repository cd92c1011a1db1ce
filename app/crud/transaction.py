"""Ending a transaction: the one place the app commits (`app/api/transaction.py` opens the
request's and commits it when the route succeeds; a service commits early only what must
stay whatever follows, a sign-in attempt's count)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.crud.policy import sync_policy
from app.crud.policy_scope import POLICY_DIRTY, POLICY_SCOPE, pending_scope


async def commit(session: AsyncSession) -> None:
    """Commit the request's work so far; the only place the app commits."""
    await session.flush()  # a change still only in memory marks the session here
    if session.info.get(POLICY_DIRTY):
        await sync_policy(session, scope=pending_scope(session))
        _forget(session)
    await session.commit()


async def rollback(session: AsyncSession) -> None:
    """Undo the request's work so far (a dry run's): nothing of it is written or synced."""
    await session.rollback()
    _forget(session)


def _forget(session: AsyncSession) -> None:
    """Drop the note of what the transaction changed in the policy (synced or undone)."""
    session.info.pop(POLICY_DIRTY, None)
    session.info.pop(POLICY_SCOPE, None)
