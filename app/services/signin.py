"""Sign-in, bearer tokens, registration and sign-out, shared by the JSON API and the pages
(which give and take the session cookie: `app/api/cookies.py`)."""

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core import logs, metrics, tokens
from app.core.callers import Caller, Login
from app.core.config import Settings
from app.core.database import utcnow
from app.core.errors import Throttled
from app.core.permissions import DEFAULT_ROLE
from app.core.security import passwords_for
from app.crud import audit, throttle
from app.crud.transaction import commit
from app.hooks.accounts import reserve_attempt
from app.models import User
from app.resources import REGISTRY


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as sessions, the throttle and the audit log keep it."""

    address: str | None
    user_agent: str | None = None
    request_id: str | None = None

    def actor(self, user: User | Caller | None, name: str | None = None) -> audit.Actor:
        """Who the audit log names: `user`, else (a failed sign-in) the `name` tried."""
        if user is not None:
            return audit.Actor(user.id, user.username, self.address, self.request_id)
        return audit.Actor(None, name, self.address, self.request_id)


async def authenticate(
    *,
    session: AsyncSession,
    settings: Settings,
    origin: Origin,
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
    user_id = user.id if user else None  # read now: a refusal rolls back (and expires) it
    account = f"user:{user_id}" if user else f"name:{username.lower()}"
    keys = throttle.keys_for(account, origin.address)
    try:
        attempt = await reserve_attempt(session, keys, settings)
    except Throttled as refused:
        metrics.sign_in("throttled")
        logs.event(
            "sign_in_throttled",
            "sign-in throttled",
            logging.WARNING,
            user_id=user_id,
            client=origin.address,
            retry_after=refused.retry_after,
        )
        raise
    ok, new_hash = await passwords_for(settings).verify(
        password, user.hashed_password if user else None
    )
    if user is None or not ok or not user.is_active:
        metrics.sign_in("failure")
        logs.event(
            "sign_in_failed",
            "sign-in failed",
            logging.WARNING,
            user_id=user_id,
            client=origin.address,
        )
        await audit.record(
            session,
            "sign_in_failed",
            resource="users",
            record_id=user.id if user else None,
            actor=origin.actor(None, name=username[:320]),
        )
        await commit(session)  # in its own transaction: the refusal rolls the rest back
        return None
    await throttle.succeeded(session, keys, attempt)
    metrics.sign_in("success")
    if new_hash:
        user.hashed_password = new_hash
    user.last_login_at = utcnow()
    return user


async def sign_in(*, session: AsyncSession, settings: Settings, origin: Origin, user: User) -> str:
    """Open a new session for `user`; return its token, for the browser's cookie."""
    await crud.login_session.purge_expired(session=session, settings=settings)
    _, token = await crud.login_session.open(
        session=session,
        user=user,
        settings=settings,
        ip_address=origin.address,
        user_agent=origin.user_agent,
    )
    actor = origin.actor(user)
    await audit.record(session, "sign_in", resource="users", record_id=user.id, actor=actor)
    return token


async def issue_token(
    *, session: AsyncSession, settings: Settings, origin: Origin, user: User
) -> str:
    """Issue a bearer token for `user` (recorded in the audit log); return it."""
    actor = origin.actor(user)
    await audit.record(session, "token_issued", resource="users", record_id=user.id, actor=actor)
    metrics.token("issued")
    return tokens.issue(user.id, settings)


async def sign_out(*, session: AsyncSession, login: Login) -> None:
    """End a sign-in: a session's row is deleted, so its cookie stops working; for a bearer
    token, every token issued to the user so far stops working."""
    if login.id is None:
        await crud.user.revoke_tokens(session=session, user_id=login.user.id)
        await audit.record(session, "tokens_revoked", resource="users", record_id=login.user.id)
        return
    await crud.login_session.end(session=session, login=login)
    await audit.record(session, "sign_out", resource="sessions", record_id=login.id)


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
