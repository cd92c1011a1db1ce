"""What a change to an account sets off: the current password it needs, the sessions and
tokens it ends, and the guard that keeps someone able to manage users and roles."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api.signin import reserve_attempt
from app.api.transaction import commit
from app.core.config import Settings
from app.core.errors import FieldError, WriteError
from app.core.security import passwords_for
from app.crud import audit, throttle
from app.models import Permission, Role, User
from app.resources import REGISTRY, Resource
from app.services.access import Access

LAST_ADMIN = (
    "Refused: after this change no active user could manage users and roles (read and"
    " update all users and roles, read all permissions). Give another active user that"
    " first, for example the admin role."
)
# The fields whose change can take that ability away, by model (a delete always can).
MANAGING_FIELDS: dict[type, frozenset[str]] = {
    User: frozenset({"role_ids", "is_active"}),
    Role: frozenset({"permission_ids"}),
    Permission: frozenset({"model", "action", "scope"}),
}


@asynccontextmanager
async def keeping_a_manager(
    session: AsyncSession, res: Resource, values: dict[str, Any] | None
) -> AsyncIterator[None]:
    """Around a write (`values`: None for a delete): refuse it (409) when, before it, some
    active user could manage users and roles and, after it, none can. The raise rolls the
    request's transaction back, in the API and in the pages alike."""
    fields = MANAGING_FIELDS.get(res.model)
    if fields is None or (values is not None and not fields & values.keys()):
        yield
        return
    before = await crud.user.someone_manages(session=session)
    yield
    if before and not await crud.user.someone_manages(session=session):
        raise HTTPException(status.HTTP_409_CONFLICT, LAST_ADMIN)


async def check_current_password(
    *,
    access: Access,
    session: AsyncSession,
    settings: Settings,
    record: User,
    values: dict[str, Any],
) -> None:
    """A change of one's own password needs the current one (422 without or when wrong;
    wrong guesses count toward sign-in throttling, 429 past it). Takes `current_password`
    out of `values`: it is checked, never stored."""
    current = values.pop("current_password", None)
    if "password" not in values or record.id != access.user.id:
        return
    if current is None:
        raise WriteError(
            [
                FieldError(
                    "current_password", "enter your current password to set a new one", "missing"
                )
            ]
        )
    keys = throttle.keys_for(f"user:{record.id}", access.address)
    attempt = await reserve_attempt(session, keys, settings)
    ok, _ = await passwords_for(settings).verify(current, record.hashed_password)
    if not ok:  # counted already, and committed: the refusal rolls back the rest
        raise WriteError(
            [FieldError("current_password", "is not your current password", "invalid")]
        )
    await throttle.release(session, keys, attempt)
    await commit(session)  # taken back for good, whatever the rest of the update meets


async def after_user_update(
    *, access: Access, session: AsyncSession, record: User, values: dict[str, Any]
) -> None:
    """A new password ends the user's other sessions (all of them when an admin set it)
    and their bearer tokens; deactivation ends every session and token."""
    if "password" in values:
        keep = access.login_id if record.id == access.user.id else None
        await end_sessions(session, record.id, keep=keep)
    elif values.get("is_active") is False:
        await end_sessions(session, record.id)


async def end_sessions(session: AsyncSession, user_id: int, *, keep: int | None = None) -> None:
    """Delete the user's login sessions (but `keep`) and refuse the bearer tokens issued
    to them so far."""
    await _revoke(session, user_id, crud.login_session.of_user(user_id), keep)


async def _revoke(
    session: AsyncSession, user_id: int, where: ColumnElement[bool] | None, keep: int | None
) -> None:
    """Delete the sessions `where` names (but `keep`), refuse the user's tokens so far, and
    record it."""
    ended = await crud.login_session.revoke(session=session, where=where, keep_id=keep)
    await revoke_tokens(session, user_id)
    changes = {"sessions_ended": ended, "tokens_revoked": True}
    await audit.record(
        session, "sessions_revoked", resource="users", record_id=user_id, changes=changes
    )


async def revoke_tokens(session: AsyncSession, user_id: int) -> None:
    """Refuse every bearer token issued to the user until now."""
    await crud.user.revoke_tokens(session=session, user_id=user_id)


async def revoke_other_sessions(access: Access, session: AsyncSession) -> None:
    """Sign out other devices: every session the caller may delete but the current one,
    and every bearer token issued to the caller so far."""
    sessions = REGISTRY["sessions"]
    where = access.where(sessions, "delete")
    await _revoke(session, access.user.id, where, access.login_id)
