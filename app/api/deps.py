"""Every dependency the routes use, as `Annotated` aliases (defined in their own modules)."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.access import Access, get_access
from app.api.csrf import get_csrf_token, require_csrf
from app.api.identity import (
    get_current_session,
    get_current_user,
    get_current_user_required,
    get_policy,
    get_settings,
    get_zone,
)
from app.api.transaction import get_db
from app.core.config import Settings
from app.core.enforcer import PolicyEngine
from app.crud.login_session import Caller, Login

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
PolicyDep = Annotated[PolicyEngine, Depends(get_policy)]
CurrentSession = Annotated[Login | None, Depends(get_current_session)]
OptionalUser = Annotated[Caller | None, Depends(get_current_user)]
CurrentUser = Annotated[Caller, Depends(get_current_user_required)]
AccessDep = Annotated[Access, Depends(get_access)]
ViewerZone = Annotated[str, Depends(get_zone)]
CsrfToken = Annotated[str | None, Depends(get_csrf_token)]
CsrfProtected = Depends(require_csrf)
