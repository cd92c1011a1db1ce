"""Who is calling, resolved once per request into a `Visitor`.

`get_login` is the one dependency that reads the session cookie or the bearer token (FastAPI
calls it once per request): the CSRF check and signing out need no more; `get_visitor` adds
the policy deciding for the caller, for the API and the pages, and `get_access` is its
signed-in form. A route that reads one record by id may
resolve its caller together with that record instead (`resolve_visitor(record_of=...)`):
one statement, and then it is that route's only resolution (`tests/test_architecture.py`).
"""

from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.transaction import READ_METHODS, get_db
from app.core.addresses import normalised_address
from app.core.config import Settings
from app.core.logs import USER_ID
from app.core.zones import ZONE_COOKIE, viewer_zone
from app.resources import Resource
from app.services.access import Access, Visitor
from app.services.callers import Identified, identify, record_to_read, visitor_of
from app.services.signin import Origin

SESSION_COOKIE = "session_id"


async def get_settings(request: Request) -> Settings:
    """Return the app's settings (async: a plain function would hop to a thread)."""
    return request.app.state.settings


async def identify_request(
    request: Request,
    session: AsyncSession,
    session_id: str | None,
    record_of: tuple[Resource, int] | None = None,
) -> Identified:
    """Identify the request's caller (`app/services/callers.py`) from its bearer token (on
    an API path) or its session cookie; `record_of`: that record too, in the same statement."""
    settings = request.app.state.settings
    bearer = bearer_token(request, settings)
    identified = await identify(
        session,
        settings=settings,
        bearer=bearer,
        cookie=session_id if bearer is None else None,
        origin=origin_of(request),
        writing=request.method not in READ_METHODS,
        record_of=record_to_read(record_of, request.app.state.policy.current),
    )
    # Who the request's log lines name (`app/core/logs.py`), its access line included.
    USER_ID.set(identified.login.user.id if identified.login is not None else None)
    return identified


async def resolve_visitor(
    request: Request,
    session: AsyncSession,
    session_id: str | None,
    record_of: tuple[Resource, int] | None = None,
) -> tuple[Visitor, Any]:
    """Identify the caller and build their access context in one go (`record_of`: that
    record too): for a route that resolves its caller itself, and the error pages."""
    identified = await identify_request(request, session, session_id, record_of)
    policies = request.app.state.policy
    return await visitor_of(identified, session, policies=policies, record_of=record_of)


async def get_login(
    request: Request,
    session: Annotated[AsyncSession, Depends(get_db, scope="function")],
    session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Identified:
    """Return who the request's credentials name, once for the whole request: what signing
    out and the CSRF check need (no policy is looked up)."""
    return await identify_request(request, session, session_id)


async def get_visitor(
    request: Request,
    identified: Annotated[Identified, Depends(get_login)],
    session: Annotated[AsyncSession, Depends(get_db, scope="function")],
) -> Visitor:
    """Return who is calling, with the policy deciding for them: once for the whole request."""
    visitor, _ = await visitor_of(identified, session, policies=request.app.state.policy)
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


def origin_of(request: Request) -> Origin:
    """Where the request came from: its address, user agent and request id."""
    return Origin(
        client_address(request),
        request.headers.get("user-agent"),
        request.scope.get("state", {}).get("request_id"),
    )


def client_address(request: Request) -> str | None:
    """The address the request came from (the proxy's client, behind a trusted proxy), in
    the one form sessions, the throttle and the audit log keep (`normalised_address`)."""
    return normalised_address(request.client.host if request.client else None)


def bearer_token(request: Request, settings: Settings) -> str | None:
    """The token of an `Authorization: Bearer` header on an API request, else None (the
    pages take the session cookie only). With one, the cookie is not looked at."""
    path = request.scope["path"].removeprefix(settings.url_prefix)
    return authorization_bearer(request) if path.startswith("/api/") else None


def authorization_bearer(request: Request) -> str | None:
    """The token of the request's `Authorization: Bearer` header (None without one; an
    empty string for an empty one, refused like any bad token)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def get_zone(request: Request, visitor: Annotated[Visitor, Depends(get_visitor)]) -> str:
    """Return the zone the caller's times show in: their setting, else their browser's."""
    user = visitor.user
    return viewer_zone(user.time_zone if user else None, request.cookies.get(ZONE_COOKIE))
