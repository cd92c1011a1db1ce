"""The session cookie: given at sign-in, dropped at sign-out (the session itself:
`app/services/signin.py`)."""

from fastapi import Request, Response

from app.api.identity import SESSION_COOKIE
from app.core import csrf
from app.core.config import Settings


def give_session(request: Request, response: Response, settings: Settings, token: str) -> None:
    """Give the browser the cookie of a new session (`token`)."""
    path = settings.cookie_path
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    # The anonymous visitor's CSRF secret is replaced by the session's own binding.
    response.delete_cookie(csrf.ANON_COOKIE, path=path)


def drop_session(response: Response, settings: Settings) -> None:
    """Take the session cookie away."""
    response.delete_cookie(SESSION_COOKIE, path=settings.cookie_path)
