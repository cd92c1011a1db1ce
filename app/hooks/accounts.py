"""The users table's hooks: a change of one's own password needs the current one (its wrong
guesses throttled like sign-ins), and a new password or a deactivation ends the user's
sessions and bearer tokens."""

import asyncio
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core.config import Settings
from app.core.errors import FieldError, Throttled, WriteError
from app.core.security import passwords_for
from app.crud import audit, throttle
from app.crud.transaction import commit

if TYPE_CHECKING:
    from app.services.access import Access


async def reserve_attempt(
    session: AsyncSession, keys: throttle.Keys, settings: Settings
) -> throttle.Attempt:
    """Count an attempt before its password is checked and commit the count (return it);
    refuse (`Throttled`) an attempt while one of its keys is blocked, after a pause.

    The pause (`LOGIN_REFUSAL_DELAY_MS`) holds nothing but a coroutine: the transaction,
    rolled back, ends first, so its connection goes back to the pool. Without it, a flood
    of refused sign-ins would be answered as fast as the loop can go, crowding out
    everyone else; with it, each of the flood's connections gets a few answers a second.
    """
    try:
        attempt = await throttle.reserve(session, keys, settings)
    except Throttled:
        await session.rollback()
        await asyncio.sleep(settings.login_refusal_delay_ms / 1000)
        raise
    await commit(session)  # counted before the check: the next attempt counts after it
    return attempt


async def check_current_password(
    *,
    access: "Access",
    session: AsyncSession,
    settings: Settings,
    record: Any,
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
    *, access: "Access", session: AsyncSession, record: Any, values: dict[str, Any]
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
    await revoke(session, user_id, crud.login_session.of_user(user_id), keep)


async def revoke(
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
