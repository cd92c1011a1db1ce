"""The CSRF check of state-changing form routes (tokens themselves: `app/core/csrf.py`)."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.api.identity import get_login, get_settings
from app.core import csrf as tokens
from app.core.config import Settings
from app.services.callers import Identified


async def get_csrf_token(
    request: Request,
    identified: Annotated[Identified, Depends(get_login)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> str | None:
    """Return the CSRF token this visitor's forms carry (bound to their session)."""
    login = identified.login
    return tokens.token_for(
        settings.secret_key,
        session_hash=login.token_hash if login else None,
        anonymous=request.cookies.get(tokens.ANON_COOKIE),
    )


async def require_csrf(
    request: Request, expected: Annotated[str | None, Depends(get_csrf_token)]
) -> None:
    """Refuse (403) a state-changing request without this visitor's CSRF token."""
    sent = request.headers.get(tokens.HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(tokens.FORM_FIELD)
        sent = value if isinstance(value, str) else None
    if not tokens.matches(expected, sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or invalid")
