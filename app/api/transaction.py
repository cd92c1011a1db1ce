"""The one transaction boundary: a session per request, committed when the route succeeds."""

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.query_text import refuse_nul_bytes
from app.crud.policy_scope import POLICY_WRITTEN
from app.crud.transaction import commit

# Methods that write nothing but the session's own bookkeeping: served without a transaction.
READ_METHODS = frozenset({"GET", "HEAD"})


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session: the one transaction boundary of the app.

    Commits when the route succeeds (syncing the Casbin policy first when the request
    changed roles, permissions or memberships) and rolls back when it fails. Declared
    with function scope, so the commit happens before the response is sent. A GET or HEAD
    runs in autocommit mode: no BEGIN and COMMIT round trips around what only reads (the
    touch or removal of a login session commits on its own).
    """
    refuse_nul_bytes(request)  # before any statement: PostgreSQL stores no NUL byte
    state = request.app.state
    reading = request.method in READ_METHODS
    async with (state.read_sessionmaker if reading else state.sessionmaker)() as session:
        try:
            yield session
            # A read with nothing left to flush has nothing to commit: in autocommit mode
            # each of its statements (a session's touch, say) is already committed.
            if not reading or session.new or session.dirty or session.deleted:
                await commit(session)
        except BaseException:
            await session.rollback()
            raise
    written = session.info.get(POLICY_WRITTEN)
    if written:
        # Apply the revision this request wrote to this process's policy now: the next
        # request (from any client) finds it in force.
        state.policy.advance(*written)
