"""Resolving a request's caller: the login session its cookie names (or its bearer token's
user), the user if active, and the policy deciding for them, looked up once, at least as
new as the revision read with the session (read-your-writes). Built into the `Visitor`
every route of the request receives (`app/api/identity.py`)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core import tokens
from app.core.callers import Caller, Login
from app.core.config import Settings
from app.core.enforcer import PolicyStore
from app.crud import audit
from app.crud.login_session import Resolved
from app.crud.transaction import commit
from app.resources import Resource
from app.services.access import Access, Visitor
from app.services.signin import Origin


async def resolve_caller(
    session: AsyncSession,
    *,
    settings: Settings,
    policies: PolicyStore,
    bearer: str | None,
    cookie: str | None,
    origin: Origin,
    writing: bool,
    record_of: tuple[Resource, int] | None = None,
) -> tuple[Visitor, Any]:
    """Return who is calling (anonymous when neither the `bearer` token nor the `cookie`
    names a live sign-in of an active user); a `writing` request's audit entries will name
    them. `record_of` (resource, id): also return that record's plain row (None when
    missing), read in the same statement as a cookie's session; for a bearer token, after.
    """
    resolved = Resolved(None, False, -1)
    crud_of = (record_of[0].crud, record_of[1]) if record_of is not None else None
    record_read = False
    if bearer is not None:
        claims = tokens.read(bearer, settings)
        if claims is not None:
            resolved = await crud.login_session.resolve_bearer(session=session, claims=claims)
    elif cookie and len(cookie) <= 256 and "\x00" not in cookie:
        resolved = await crud.login_session.resolve(
            session=session, token=cookie, settings=settings, record_of=crud_of
        )
        record_read = crud_of is not None
        if resolved.wrote:
            # Keep the removal of an expired row (or the touch of a live one) even when the
            # request then fails: the 401 that follows would otherwise roll it back.
            await commit(session)
    login = resolved.login
    if writing:  # a transaction flag: who the audit entries of this one name
        session.info[audit.ACTOR] = origin.actor(login.user if login else None)
    user = active_user(login)
    if user is None:
        return Visitor(login, None, origin.address), None
    if resolved.revision >= 0:
        policy = await policies.at_least(resolved.revision)
    else:
        policy = await policies.get(session)
    access = Access(user, policy, login.id if login else None, origin.address)
    record = resolved.record
    if crud_of is not None and not record_read:
        record = await crud_of[0].read(session=session, id=crud_of[1])
    return Visitor(login, access, origin.address), record


def active_user(login: Login | None) -> Caller | None:
    """Return the login's user if signed in and active, else None."""
    if login is None or not login.user.is_active:
        return None
    return login.user
