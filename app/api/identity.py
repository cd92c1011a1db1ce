"""Who is calling: the settings, the policy, and the login session named by the cookie."""

from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api.transaction import READ_METHODS, commit, get_db
from app.core import tokens
from app.core.addresses import normalised_address
from app.core.config import Settings
from app.core.enforcer import PolicyEngine
from app.core.zones import ZONE_COOKIE, viewer_zone
from app.crud import audit
from app.crud.base import CRUDBase
from app.crud.login_session import Caller, Login

SESSION_COOKIE = "session_id"


async def get_settings(request: Request) -> Settings:
    """Return the app's settings (async: a plain function would hop to a thread)."""
    return request.app.state.settings


# session.info keys: the policy revision read with the caller's login session, and that
# login session itself (None: nobody signed in), resolved once per request.
REVISION = "policy_revision"
LOGIN = "login_session"
RECORD = "record_with_login"


async def get_policy(
    request: Request, session: Annotated[AsyncSession, Depends(get_db, scope="function")]
) -> PolicyEngine:
    """Return an enforcer at least as new as the stored policy (read-your-writes).

    The revision comes with the login session when there is one, so no extra round trip.
    """
    revision = session.info.get(REVISION)
    if revision is None:
        return await request.app.state.policy.get(session)
    return await request.app.state.policy.at_least(revision)


async def get_current_session(
    request: Request,
    session: Annotated[AsyncSession, Depends(get_db, scope="function")],
    session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Login | None:
    """Return the live login session named by the cookie, if any."""
    return await current_login(request, session, session_id)


async def current_login(
    request: Request,
    session: AsyncSession,
    session_id: str | None,
    record_of: tuple[CRUDBase[Any], int] | None = None,
) -> Login | None:
    """Resolve the cookie's login session once per request (later callers get the same).

    `record_of` (crud, id): read that record's plain row in the same statement, kept in
    `session.info[RECORD]` (None when missing) for the caller that asked; unset when the
    login was resolved earlier in the request.
    """
    if LOGIN in session.info:
        return session.info[LOGIN]
    login = None
    settings = request.app.state.settings
    bearer = bearer_token(request, settings)
    if bearer is not None:
        claims = tokens.read(bearer, settings)
        if claims is not None:
            resolved = await crud.login_session.resolve_bearer(session=session, claims=claims)
            login = resolved.login
            if resolved.revision >= 0:
                session.info[REVISION] = resolved.revision
    elif session_id and len(session_id) <= 256 and "\x00" not in session_id:
        resolved = await crud.login_session.resolve(
            session=session,
            token=session_id,
            settings=settings,
            record_of=record_of,
        )
        login = resolved.login
        if record_of is not None:
            session.info[RECORD] = resolved.record
        if resolved.revision >= 0:
            session.info[REVISION] = resolved.revision
        if resolved.wrote:
            # Keep the removal of an expired row (or the touch of a live one) even when the
            # request then fails: the 401 that follows would otherwise roll it back.
            await commit(session)
    session.info[LOGIN] = login
    if request.method not in READ_METHODS:  # a read records nothing in the audit log
        session.info[audit.ACTOR] = actor_of(request, login.user if login else None)
    return login


def client_address(request: Request) -> str | None:
    """The address the request came from (the proxy's client, behind a trusted proxy), in
    the one form sessions, the throttle and the audit log keep (`normalised_address`)."""
    return normalised_address(request.client.host if request.client else None)


def actor_of(request: Request, user: Caller | None, name: str | None = None) -> audit.Actor:
    """Who the audit log names for this request: the user, and where the request came from."""
    return audit.Actor(
        user.id if user else None,
        user.username if user else name,
        client_address(request),
        request.scope.get("state", {}).get("request_id"),
    )


def bearer_token(request: Request, settings: Settings) -> str | None:
    """The token of an `Authorization: Bearer` header on an API request, else None (the
    pages take the session cookie only). With one, the cookie is not looked at."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    path = request.scope["path"].removeprefix(settings.url_prefix)
    if scheme.lower() != "bearer" or not path.startswith("/api/"):
        return None
    return token.strip()


def active_user(login: Login | None) -> Caller | None:
    """Return the login's user if signed in and active, else None."""
    if login is None or not login.user.is_active:
        return None
    return login.user


def signed_in_user(login: Login | None) -> Caller:
    """Return the login's user if signed in and active; answer 401 otherwise."""
    user = active_user(login)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Not authenticated",
            headers={"WWW-Authenticate": "Cookie"},
        )
    return user


async def get_current_user(
    login: Annotated[Login | None, Depends(get_current_session)],
) -> Caller | None:
    """Return the signed-in, active user, or None."""
    return active_user(login)


async def get_zone(
    request: Request, user: Annotated[Caller | None, Depends(get_current_user)]
) -> str:
    """Return the zone the caller's times show in: their setting, else their browser's."""
    return viewer_zone(user.time_zone if user else None, request.cookies.get(ZONE_COOKIE))


async def get_current_user_required(
    login: Annotated[Login | None, Depends(get_current_session)],
) -> Caller:
    """Return the signed-in user or answer 401."""
    return signed_in_user(login)
