"""Every dependency the routes use, as `Annotated` aliases (defined in their own modules)."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.csrf import get_csrf_token, require_csrf
from app.api.identity import get_access, get_login, get_settings, get_visitor, get_zone
from app.api.transaction import get_db
from app.core.config import Settings
from app.services.access import Access
from app.services.callers import Identified, Visitor

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
VisitorDep = Annotated[Visitor, Depends(get_visitor)]
LoginDep = Annotated[Identified, Depends(get_login)]
AccessDep = Annotated[Access, Depends(get_access)]
ViewerZone = Annotated[str, Depends(get_zone)]
CsrfToken = Annotated[str | None, Depends(get_csrf_token)]
CsrfProtected = Depends(require_csrf)
