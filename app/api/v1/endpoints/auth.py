"""Registration, login, logout and the current user."""

from fastapi import APIRouter, HTTPException, Request, Response, status

from app import crud
from app.api.deps import (
    SESSION_COOKIE,
    CurrentSession,
    CurrentUser,
    PolicyDep,
    SessionDep,
    SettingsDep,
)
from app.core.config import Settings
from app.core.database import utcnow
from app.core.enforcer import user_sub
from app.core.security import get_passwords
from app.models import User
from app.schemas.user import LoginRequest, Me, RegisterRequest, UserRead

router = APIRouter(prefix="/auth", tags=["Authentication"])

DEFAULT_ROLE = "user"
BAD_LOGIN = "Incorrect username or password"


def set_session_cookie(
    response: Response, request: Request, token: str, settings: Settings
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        path=settings.url_prefix or "/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@router.post("/register", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def register(data: RegisterRequest, session: SessionDep) -> User:
    """Create an account with the default role; no sign-in needed."""
    clash = await crud.user.clash(session=session, username=data.username, email=data.email)
    if clash is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{clash} already exists")
    role = await crud.role.get_by(session=session, name=DEFAULT_ROLE)
    values = data.model_dump() | {"role_ids": [role.id] if role else []}
    return await crud.user.create(session=session, values=values)


@router.post("/login", response_model=UserRead)
async def login(
    data: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> User:
    """Check the password and start a new session (cookie `session_id`)."""
    user = await crud.user.get_by_login(session=session, username=data.username)
    ok, new_hash = get_passwords().verify(data.password, user.hashed_password if user else None)
    if user is None or not ok or not user.is_active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_LOGIN)
    if new_hash:
        user.hashed_password = new_hash
    user.last_login_at = utcnow()
    await crud.session.purge_expired(session=session, settings=settings)
    _, token = await crud.session.open(
        session=session,
        user=user,
        settings=settings,
        ip_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    set_session_cookie(response, request, token, settings)
    return user


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(login: CurrentSession, session: SessionDep, settings: SettingsDep) -> Response:
    """End the current session: its row is deleted, so the cookie stops working."""
    if login is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    await crud.session.delete(session=session, db_obj=login)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path=settings.url_prefix or "/")
    return response


@router.get("/me", response_model=Me)
async def me(user: CurrentUser, policy: PolicyDep, session: SessionDep) -> dict[str, object]:
    """Return the signed-in user with roles, groups and effective permissions."""
    user = await crud.user.get(session=session, id=user.id) or user
    rules = policy.enforcer.get_implicit_permissions_for_user(user_sub(user.id))
    permissions = sorted({f"{obj}:{act}:{scope}" for _, obj, act, scope in rules})
    return UserRead.model_validate(user).model_dump() | {"permissions": permissions}
