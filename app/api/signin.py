"""Sign-in, registration and sign-out steps shared by the JSON API and the HTML pages."""

import asyncio
from typing import Any

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api.identity import SESSION_COOKIE, actor_of, client_address
from app.api.transaction import commit
from app.core import csrf
from app.core.config import Settings
from app.core.database import utcnow
from app.core.errors import Throttled
from app.core.security import passwords_for
from app.crud import audit, throttle
from app.crud.login_session import Login
from app.models import User
from app.resources import REGISTRY

DEFAULT_ROLE = "user"


async def authenticate(
    *,
    session: AsyncSession,
    settings: Settings,
    request: Request,
    username: str,
    password: str,
) -> User | None:
    """Return the active user these credentials name; unknown names cost a hash too.

    Throttled (`app/crud/throttle.py`): raises `Throttled` while the account or the address
    is blocked, before any hash; the attempt is counted as failed and committed before its
    password is checked (so attempts at once are counted one after the other), and a
    success clears the account's count.
    """
    user = await crud.user.get_by_login(session=session, username=username)
    account = f"user:{user.id}" if user else f"name:{username.lower()}"
    keys = throttle.keys_for(account, client_address(request))
    attempt = await reserve_attempt(session, keys, settings)
    ok, new_hash = await passwords_for(settings).verify(
        password, user.hashed_password if user else None
    )
    if user is None or not ok or not user.is_active:
        await audit.record(
            session,
            "sign_in_failed",
            resource="users",
            record_id=user.id if user else None,
            actor=actor_of(request, None, name=username[:320]),
        )
        await commit(session)  # in its own transaction: the refusal rolls the rest back
        return None
    await throttle.succeeded(session, keys, attempt)
    if new_hash:
        user.hashed_password = new_hash
    user.last_login_at = utcnow()
    return user


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


async def sign_in(
    *,
    session: AsyncSession,
    request: Request,
    response: Response,
    settings: Settings,
    user: User,
) -> None:
    """Open a new session for `user` and give the browser its cookie."""
    await crud.login_session.purge_expired(session=session, settings=settings)
    _, token = await crud.login_session.open(
        session=session,
        user=user,
        settings=settings,
        ip_address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    await audit.record(
        session, "sign_in", resource="users", record_id=user.id, actor=actor_of(request, user)
    )
    path = settings.cookie_path
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    # The anonymous visitor's CSRF secret is replaced by the session's own binding.
    response.delete_cookie(csrf.ANON_COOKIE, path=path)


async def sign_out(
    *, session: AsyncSession, response: Response, settings: Settings, login: Login
) -> None:
    """Delete the session row, so the cookie stops working, and drop the cookie."""
    await crud.login_session.end(session=session, login=login)
    await audit.record(session, "sign_out", resource="sessions", record_id=login.id)
    response.delete_cookie(SESSION_COOKIE, path=settings.cookie_path)


async def register(
    *, session: AsyncSession, settings: Settings, values: dict[str, Any]
) -> User | str:
    """Create an account with the default role; return the clashing field instead if any."""
    clashes = await crud.user.clashes(
        session=session, values={"username": values["username"], "email": values["email"]}
    )
    if clashes:
        return clashes[0]
    role = await REGISTRY["roles"].crud.get_by(session=session, name=DEFAULT_ROLE)
    values = dict(values)
    hashed = await passwords_for(settings).hash(values.pop("password"))
    return await crud.user.create(
        session=session,
        values=values | {"hashed_password": hashed, "role_ids": [role.id] if role else []},
    )
