"""Who is calling, resolved once per request into a `Visitor`.

`get_visitor` is the one dependency that reads the session cookie or the bearer token: the
API, the pages and the CSRF check all receive what it resolved (FastAPI calls it once per
request), and `get_access` is its signed-in form. A route that reads one record by id may
resolve its caller together with that record instead (`resolve_visitor(record_of=...)`):
one statement, and then it is that route's only resolution (`tests/test_architecture.py`).
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api.transaction import READ_METHODS, commit, get_db
from app.core import tokens
from app.core.addresses import normalised_address
from app.core.config import Settings
from app.core.zones import ZONE_COOKIE, viewer_zone
from app.crud import audit
from app.crud.base import CRUDBase
from app.crud.login_session import Caller, Login, Resolved
from app.services.access import Access

SESSION_COOKIE = "session_id"


async def get_settings(request: Request) -> Settings:
    """Return the app's settings (async: a plain function would hop to a thread)."""
    return request.app.state.settings


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who sent a request: their login session (None: none named, or it expired), the
    access context when they are signed in and active (None: anonymous), their address."""

    login: Login | None
    access: Access | None
    address: str | None

    @property
    def user(self) -> Caller | None:
        return self.access.user if self.access is not None else None


async def resolve_visitor(
    request: Request,
    session: AsyncSession,
    session_id: str | None,
    record_of: tuple[CRUDBase[Any], int] | None = None,
) -> tuple[Visitor, Any]:
    """Resolve the caller: their login session, user and groups, and the policy deciding
    for them (looked up once, at least as new as the revision read with the session).

    `record_of` (crud, id): also return that record's plain row (None when missing), read
    in the same statement as a cookie's session; for a bearer token, right after.
    """
    settings = request.app.state.settings
    resolved = Resolved(None, False, -1)
    record_read = False
    bearer = bearer_token(request, settings)
    if bearer is not None:
        claims = tokens.read(bearer, settings)
        if claims is not None:
            resolved = await crud.login_session.resolve_bearer(session=session, claims=claims)
    elif session_id and len(session_id) <= 256 and "\x00" not in session_id:
        resolved = await crud.login_session.resolve(
            session=session, token=session_id, settings=settings, record_of=record_of
        )
        record_read = record_of is not None
        if resolved.wrote:
            # Keep the removal of an expired row (or the touch of a live one) even when the
            # request then fails: the 401 that follows would otherwise roll it back.
            await commit(session)
    login = resolved.login
    if request.method not in READ_METHODS:  # a read records nothing in the audit log
        session.info[audit.ACTOR] = actor_of(request, login.user if login else None)
    address = client_address(request)
    user = active_user(login)
    if user is None:
        return Visitor(login, None, address), None
    store = request.app.state.policy
    if resolved.revision >= 0:
        policy = await store.at_least(resolved.revision)
    else:
        policy = await store.get(session)
    access = Access(user, policy, login.id if login else None, address)
    record = resolved.record
    if record_of is not None and not record_read:
        record = await record_of[0].read(session=session, id=record_of[1])
    return Visitor(login, access, address), record


async def get_visitor(
    request: Request,
    session: Annotated[AsyncSession, Depends(get_db, scope="function")],
    session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Visitor:
    """Return who is calling, resolved once for the whole request."""
    visitor, _ = await resolve_visitor(request, session, session_id)
    return visitor


def signed_in(visitor: Visitor) -> Access:
    """Return the visitor's access context; answer 401 when nobody active is signed in."""
    if visitor.access is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Not authenticated",
            headers={"WWW-Authenticate": "Cookie"},
        )
    return visitor.access


async def get_access(visitor: Annotated[Visitor, Depends(get_visitor)]) -> Access:
    """Return the signed-in user and the policy deciding for them (401 if nobody is)."""
    return signed_in(visitor)


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


async def get_zone(request: Request, visitor: Annotated[Visitor, Depends(get_visitor)]) -> str:
    """Return the zone the caller's times show in: their setting, else their browser's."""
    user = visitor.user
    return viewer_zone(user.time_zone if user else None, request.cookies.get(ZONE_COOKIE))
