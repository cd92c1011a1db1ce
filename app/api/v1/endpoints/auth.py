"""Registration, login, logout and the current user."""

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.api import accounts, signin
from app.api.deps import AccessDep, SessionDep, SettingsDep, VisitorDep
from app.api.identity import actor_of
from app.api.statuses import BODY, answers
from app.core import tokens
from app.core.config import Settings
from app.core.routing import JSONRoute
from app.crud import audit
from app.models import User
from app.schemas.user import LoginRequest, Me, RegisterRequest, TokenResponse, UserRead

router = APIRouter(prefix="/auth", tags=["Authentication"], route_class=JSONRoute)

BAD_LOGIN = "Incorrect username or password"


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=answers(409, *BODY),
)
async def register(data: RegisterRequest, session: SessionDep, settings: SettingsDep) -> User:
    """Create an account with the default role; no sign-in needed."""
    user = await signin.register(session=session, settings=settings, values=data.model_dump())
    if isinstance(user, str):
        raise HTTPException(status.HTTP_409_CONFLICT, f"{user} already exists")
    return user


async def checked(
    data: LoginRequest, request: Request, session: AsyncSession, settings: Settings
) -> User:
    """The user these credentials name (throttled), or 401."""
    user = await signin.authenticate(
        session=session,
        settings=settings,
        request=request,
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
) -> User:
    """Check the password and start a new session (cookie `session_id`)."""
    user = await checked(data, request, session, settings)
    await signin.sign_in(
        session=session, request=request, response=response, settings=settings, user=user
    )
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
    await audit.record(
        session, "token_issued", resource="users", record_id=user.id, actor=actor_of(request, user)
    )
    return TokenResponse(
        access_token=tokens.issue(user.id, settings), expires_in=settings.token_minutes * 60
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=answers(401),
)
async def logout(visitor: VisitorDep, session: SessionDep, settings: SettingsDep) -> Response:
    """End the current session: its row is deleted, so the cookie stops working. Called
    with a bearer token, every token issued to the user so far stops working."""
    login = visitor.login
    if login is None or visitor.access is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if login.id is None:
        await accounts.revoke_tokens(session, login.user.id)
        await audit.record(session, "tokens_revoked", resource="users", record_id=login.user.id)
        return response
    await signin.sign_out(session=session, response=response, settings=settings, login=login)
    return response


@router.get("/me", response_model=Me, responses=answers(401))
async def me(access: AccessDep, session: SessionDep) -> dict[str, object]:
    """Return the signed-in user with roles, groups and effective permissions."""
    user = await crud.user.get(session=session, id=access.user.id)
    if user is None:  # deleted since this request resolved its session
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    permissions = sorted(access.policy.permissions(user.id))
    return UserRead.model_validate(user).model_dump() | {"permissions": permissions}
