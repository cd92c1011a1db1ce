"""Every dependency the routes use, as `Annotated` aliases."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, status
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core import csrf
from app.core.config import Settings
from app.core.enforcer import PolicyEngine, Scopes
from app.crud.base import ListParams
from app.crud.policy import POLICY_DIRTY, sync_policy
from app.models import Session, User
from app.resources import RESOURCES, Resource
from app.utils.permissions import parse_permission, scope_clause

SESSION_COOKIE = "session_id"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session: the one transaction boundary of the app.

    Commits when the route succeeds (syncing the Casbin policy first when the request
    changed roles, permissions or memberships) and rolls back when it fails. Declared
    with function scope, so the commit happens before the response is sent.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            if session.info.get(POLICY_DIRTY):
                await sync_policy(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_policy(request: Request, session: SessionDep) -> PolicyEngine:
    """Return the enforcer for this request, rebuilt if the stored policy moved."""
    return await request.app.state.policy.get(session)


PolicyDep = Annotated[PolicyEngine, Depends(get_policy)]


async def get_current_session(
    session: SessionDep,
    settings: SettingsDep,
    session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Session | None:
    """Return the live login session named by the cookie, if any."""
    if not session_id or len(session_id) > 256 or "\x00" in session_id:
        return None
    login, wrote = await crud.session.resolve(session=session, token=session_id, settings=settings)
    if wrote:
        # Keep the removal of an expired row (or the touch of a live one) even when the
        # request then fails: the 401 that follows would otherwise roll it back.
        await session.commit()
    return login


CurrentSession = Annotated[Session | None, Depends(get_current_session)]


async def get_current_user(login: CurrentSession) -> User | None:
    """Return the signed-in, active user, or None."""
    if login is None or not login.user.is_active:
        return None
    return login.user


async def get_current_user_required(
    user: Annotated[User | None, Depends(get_current_user)],
) -> User:
    """Return the signed-in user or answer 401."""
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Not authenticated",
            headers={"WWW-Authenticate": "Cookie"},
        )
    return user


OptionalUser = Annotated[User | None, Depends(get_current_user)]


async def get_csrf_token(
    request: Request, login: CurrentSession, settings: SettingsDep
) -> str | None:
    """Return the CSRF token this visitor's forms carry (bound to their session)."""
    return csrf.token_for(
        settings.secret_key,
        session_hash=login.token_hash if login else None,
        anonymous=request.cookies.get(csrf.ANON_COOKIE),
    )


CsrfToken = Annotated[str | None, Depends(get_csrf_token)]


async def require_csrf(request: Request, expected: CsrfToken) -> None:
    """Refuse (403) a state-changing request without this visitor's CSRF token."""
    sent = request.headers.get(csrf.HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(csrf.FORM_FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf.matches(expected, sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or invalid")


CsrfProtected = Depends(require_csrf)


async def get_page(
    request: Request, user: OptionalUser, policy: PolicyDep, csrf_token: CsrfToken
) -> dict[str, Any]:
    """Gather what every HTML page shows: the user, their navigation and CSRF token.

    Kept on `request.state` so that error pages raised later still have it.
    """
    # A plain copy of the user: error pages render after the transaction has ended.
    shown = (
        SimpleNamespace(id=user.id, username=user.username, full_name=user.full_name)
        if user is not None
        else None
    )
    page: dict[str, Any] = {"user": shown, "csrf_token": csrf_token, "nav": []}
    if user is not None:
        page["nav"] = [res for res in RESOURCES if policy.scopes(user.id, res.perm, "read").any]
    request.state.page = page
    return page


PageDep = Annotated[dict[str, Any], Depends(get_page)]
CurrentUser = Annotated[User, Depends(get_current_user_required)]


@dataclass
class Access:
    """The signed-in user together with the policy that decides for them."""

    user: User
    policy: PolicyEngine

    def scopes(self, perm: str, action: str) -> Scopes:
        return self.policy.scopes(self.user.id, perm, action)

    def can(
        self, perm: str, action: str, owner_user_id: int | None, owner_group_id: int | None
    ) -> bool:
        return self.policy.allows(self.user.id, perm, action, owner_user_id, owner_group_id)

    def can_record(self, perm: str, action: str, record: Any) -> bool:
        return self.can(perm, action, record.owner_user_id, record.owner_group_id)

    def where(self, model: Any, perm: str, action: str) -> ColumnElement[bool] | None:
        """Return the SQL filter for the rows this user may `action` (None: all rows)."""
        return scope_clause(model, self.scopes(perm, action))

    async def readable(
        self, res: Resource, session: AsyncSession, params: ListParams | None = None
    ) -> tuple[list[Any], int]:
        """Return one page of the records of `res` this user may read, and their total."""
        return await res.crud.list(
            session=session,
            where=self.where(res.model, res.perm, "read"),
            params=params or ListParams(),
            search_columns=res.search_columns,
        )


async def get_access(user: CurrentUser, policy: PolicyDep) -> Access:
    return Access(user=user, policy=policy)


AccessDep = Annotated[Access, Depends(get_access)]


def forbidden(detail: str = "Insufficient permissions") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail)


def not_found(what: str = "Record") -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def Authorize(res: Resource, action: str) -> Any:
    """Depend on a user holding some scope of `<res.perm>:<action>`; 403 otherwise."""

    async def dependency(access: AccessDep) -> Access:
        if not access.scopes(res.perm, action).any:
            raise forbidden()
        return access

    return Depends(dependency)


def AuthorizedRecord(res: Resource, action: str, *, unreadable: int = 404) -> Any:
    """Depend on the record named by `{id}`: 404 if missing, `unreadable` if not readable
    (the API answers 404, as if missing; pages answer 403), 403 unless `action` is allowed."""

    async def dependency(id: int, access: AccessDep, session: SessionDep) -> Any:
        record = await res.crud.get(session=session, id=id)
        if record is None:
            raise not_found(res.singular)
        if not access.can_record(res.perm, "read", record):
            raise not_found(res.singular) if unreadable == 404 else forbidden()
        if action != "read" and not access.can_record(res.perm, action, record):
            raise forbidden()
        return record

    return Depends(dependency)


def require_permission(permission_string: str) -> Callable[..., Any]:
    """Depend on `model:action[:scope]`: the user must hold it (any scope when none given)."""
    model, action, scope = parse_permission(permission_string)

    async def dependency(access: AccessDep) -> User:
        held = access.scopes(model, action)
        allowed = (
            held.any
            if scope is None
            else (
                held.all
                or (scope == "own" and held.own)
                or (scope == "group" and bool(held.group_ids))
            )
        )
        if not allowed:
            raise forbidden()
        return access.user

    return dependency
