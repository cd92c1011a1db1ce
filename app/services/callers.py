"""Resolving a request's caller in two steps: `identify` (the login session its cookie
names, or its bearer token's user), then `visitor_of` (the user if active, and the policy
deciding for them, looked up once). Built into the `Visitor` every route of the request
receives (`app/api/identity.py`)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core import metrics, tokens
from app.core.callers import Caller, Login
from app.core.config import Settings
from app.core.enforcer import PolicyEngine
from app.core.policy_store import PolicyStore
from app.crud import audit
from app.crud.login_session import Resolved
from app.crud.related import RecordOf
from app.crud.transaction import commit
from app.resources import Resource
from app.services.access import Access, Visitor
from app.services.signin import Origin


@dataclass(frozen=True, slots=True)
class Identified:
    """Who a request's credentials name, before any policy is looked up: where the request
    came from, the login session (None: none, expired or revoked), the policy revision read
    with it (-1: none), and the record asked for with it (`read`: whether that statement
    read it)."""

    origin: Origin
    login: Login | None
    revision: int
    record: Any = None
    read: bool = False


async def identify(
    session: AsyncSession,
    *,
    settings: Settings,
    bearer: str | None,
    cookie: str | None,
    origin: Origin,
    writing: bool,
    record_of: RecordOf | None = None,
) -> Identified:
    """Resolve the `bearer` token or the `cookie` to its login session, in one statement
    (with the record `record_of` names); a `writing`
    request's audit entries will name its user. No policy is looked up: signing out and
    the CSRF check need none."""
    resolved = Resolved(None, False, -1)
    read = False
    if bearer is not None:
        claims = tokens.read(bearer, settings)
        if claims is not None:
            resolved = await crud.login_session.resolve_bearer(
                session=session, claims=claims, record_of=record_of
            )
            read = record_of is not None
        if resolved.login is None:  # invalid, expired, or issued before a revocation
            metrics.token("refused")
    elif cookie and len(cookie) <= 256 and "\x00" not in cookie:
        resolved = await crud.login_session.resolve(
            session=session, token=cookie, settings=settings, record_of=record_of
        )
        read = record_of is not None
        if resolved.wrote:
            # Keep the removal of an expired row (or the touch of a live one) even when the
            # request then fails: the 401 that follows would otherwise roll it back.
            await commit(session)
    login = resolved.login
    if writing:  # a transaction flag: who the audit entries of this one name
        session.info[audit.ACTOR] = origin.actor(login.user if login else None)
    return Identified(origin, login, resolved.revision, resolved.record, read)


async def visitor_of(
    identified: Identified,
    session: AsyncSession,
    *,
    policies: PolicyStore,
    record_of: tuple[Resource, int] | None = None,
) -> tuple[Visitor, Any]:
    """Return who is calling (anonymous unless an active user is signed in), with the
    policy deciding for them, looked up once, at least as new as the revision read with the
    session (read-your-writes); and the record of `record_of` (read now if it was not)."""
    login, origin = identified.login, identified.origin
    user = active_user(login)
    if user is None:
        return Visitor(login, None, origin.address), None
    if identified.revision >= 0:
        policy = await policies.at_least(identified.revision)
    else:
        policy = await policies.get(session)
    access = Access(user, policy, login.id if login else None, origin.address, policies.clock())
    record = identified.record
    if record_of is not None and not identified.read:
        record = await record_of[0].crud.read(session=session, id=record_of[1])
    return Visitor(login, access, origin.address), record


def record_to_read(
    record_of: tuple[Resource, int] | None, policy: PolicyEngine | None
) -> RecordOf | None:
    """What to read of the record `record_of` (resource, id) names with its caller: its
    row, and the records its to-one relations name where `policy` (the one in force, the
    likeliest to decide) has conditions that read them."""
    if record_of is None:
        return None
    res, id = record_of
    hops = policy.facts.related(res.policy_model) if policy is not None else ()
    return RecordOf(res.crud, id, res.policy_model, hops)


def active_user(login: Login | None) -> Caller | None:
    """Return the login's user if signed in and active, else None."""
    if login is None or not login.user.is_active:
        return None
    return login.user
