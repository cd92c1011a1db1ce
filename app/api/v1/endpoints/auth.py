"""Registration, login, logout, the current user, and why a decision is what it is."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.cookies import drop_session, give_session
from app.api.deps import AccessDep, LoginDep, SessionDep, SettingsDep
from app.api.identity import origin_of
from app.api.statuses import BODY, answers
from app.core.config import Settings
from app.core.numbers import INT_MAX
from app.core.routing import JSONRoute
from app.resources import REGISTRY
from app.schemas.explain import ExplanationRead
from app.schemas.user import LoginRequest, Me, RegisterRequest, TokenResponse, UserRead
from app.services import accounts, signin
from app.services.callers import active_user
from app.services.explain import explain

router = APIRouter(prefix="/auth", tags=["Authentication"], route_class=JSONRoute)

BAD_LOGIN = "Incorrect username or password"


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=answers(409, *BODY),
)
async def register(data: RegisterRequest, session: SessionDep, settings: SettingsDep) -> Any:
    """Create an account with the default role; no sign-in needed."""
    user = await signin.register(session=session, settings=settings, values=data.model_dump())
    if isinstance(user, str):
        raise HTTPException(status.HTTP_409_CONFLICT, f"{user} already exists")
    return user


async def checked(
    data: LoginRequest, request: Request, session: AsyncSession, settings: Settings
) -> Any:
    """The user these credentials name (throttled), or 401."""
    user = await signin.authenticate(
        session=session,
        settings=settings,
        origin=origin_of(request),
        username=data.username,
        password=data.password,
    )
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_LOGIN)
    return user


@router.post("/login", response_model=UserRead, responses=answers(401, *BODY, 429))
async def login(
    data: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    """Check the password and start a new session (cookie `session_id`)."""
    user = await checked(data, request, session, settings)
    origin = origin_of(request)
    token = await signin.sign_in(session=session, settings=settings, origin=origin, user=user)
    give_session(request, response, settings, token)
    return user


@router.post("/token", response_model=TokenResponse, responses=answers(401, *BODY, 429))
async def token(
    data: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Check the password and return a short-lived bearer token for scripts (no cookie).

    Every API route takes it as `Authorization: Bearer <token>`, with the same decisions
    as the cookie; it is refused once expired, and after the user signs out everywhere,
    changes password, or is deactivated. Throttled like sign-in.
    """
    user = await checked(data, request, session, settings)
    origin = origin_of(request)
    issued = await signin.issue_token(session=session, settings=settings, origin=origin, user=user)
    return TokenResponse(access_token=issued, expires_in=settings.token_minutes * 60)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=answers(401),
)
async def logout(identified: LoginDep, session: SessionDep, settings: SettingsDep) -> Response:
    """End the current session: its row is deleted, so the cookie stops working. Called
    with a bearer token, every token issued to the user so far stops working."""
    login = identified.login
    if active_user(login) is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    await signin.sign_out(session=session, login=login)
    if login.id is not None:
        drop_session(response, settings)
    return response


@router.get("/me", response_model=Me, responses=answers(401))
async def me(access: AccessDep, session: SessionDep) -> dict[str, object]:
    """Return the signed-in user with roles, groups and effective permissions."""
    found = await accounts.profile(access, session)
    if found is None:  # deleted since this request resolved its session
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    user, permissions = found
    return UserRead.model_validate(user).model_dump() | {"permissions": permissions}


Id = Annotated[int, Query(ge=1, le=INT_MAX)]


@router.get("/explain", response_model=ExplanationRead, responses=answers(401, 403, 404))
async def explain_decision(
    access: AccessDep,
    session: SessionDep,
    resource: Annotated[Literal[tuple(REGISTRY)], Query(examples=["tasks"])],  # type: ignore[valid-type]
    action: Literal["read", "update", "delete"],
    record_id: Id,
    user_id: Id | None = None,
) -> Any:
    """Say whether the caller (or, for holders of `user:read:all`, user `user_id`) may
    `action` the record: the permissions that allow it (role, permission, condition) and,
    for the others, why not, in words with the record's values. A record the caller may not
    read answers 404, as if missing."""
    return await explain(access, session, REGISTRY[resource], action, record_id, user_id)
