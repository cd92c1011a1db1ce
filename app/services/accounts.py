"""What a change to an account sets off: the current password it needs, the sessions and
tokens it ends, and the guard that keeps someone able to manage users and roles."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core.errors import Conflict
from app.hooks.accounts import revoke
from app.models import User
from app.resources import REGISTRY, Resource
from app.services.access import Access

LAST_ADMIN = (
    "Refused: after this change no active user could manage users and roles (read and"
    " update all users and roles, read all permissions). Give another active user that"
    " first, for example the admin role."
)


@asynccontextmanager
async def keeping_a_manager(
    session: AsyncSession, res: Resource, values: dict[str, Any] | None
) -> AsyncIterator[None]:
    """Around a write (`values`: None for a delete): refuse it (409) when, before it, some
    active user could manage users and roles and, after it, none can. The raise rolls the
    request's transaction back, in the API and in the pages alike."""
    fields = res.managing_fields
    if not fields or (values is not None and not fields & values.keys()):
        yield
        return
    before = await crud.user.someone_manages(session=session)
    yield
    if before and not await crud.user.someone_manages(session=session):
        raise Conflict(LAST_ADMIN)


async def profile(access: Access, session: AsyncSession) -> tuple[User, list[str]] | None:
    """The caller's own account and every permission they hold, by name, conditions named
    (None: deleted meanwhile)."""
    user = await crud.user.get(session=session, id=access.user.id)
    if user is None:
        return None
    return user, sorted(access.policy.permissions(user.id))


async def revoke_other_sessions(access: Access, session: AsyncSession) -> None:
    """Sign out other devices: every session the caller may delete but the current one,
    and every bearer token issued to the caller so far."""
    sessions = REGISTRY["sessions"]
    where = access.where(sessions, "delete")
    await revoke(session, access.user.id, where, access.login_id)
