"""The pages' templates and what they answer: a rendered page (with the visitor's context
and flash messages), a redirect carrying a message, the way to the login page."""

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.api.identity import SESSION_COOKIE
from app.core.config import PROJECT_ROOT
from app.core.zones import zone_names
from app.routers.cells import (
    change_of,
    column_label,
    filter_choices,
    label,
    query,
    resource_at,
    show,
    table_rows,
    when,
)
from app.routers.context import PageContext
from app.routers.flash import FLASH_COOKIE, flash_cookie, take_flash
from app.routers.forms import form_value, instruction

templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))
templates.env.globals.update(
    resource_at=resource_at,
    column_label=column_label,
    change_of=change_of,
    label=label,
    filter_choices=filter_choices,
    query=query,
    form_value=form_value,
    instruction=instruction,
    show=show,
    table_rows=table_rows,
    when=when,
    zone_names=zone_names,
)


def url(request: Request, path: str) -> str:
    """Return an app-local path with the URL prefix the app is served under."""
    return request.app.state.settings.url_prefix + path


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    page: PageContext,
) -> HTMLResponse:
    """Render a page with the visitor's context (user, navigation, CSRF token, flash)."""
    flash = take_flash(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"url": lambda path: url(request, path), "flash": flash, **page.as_dict(), **context},
        status_code=status_code,
    )
    if FLASH_COOKIE in request.cookies:  # shown once, or dropped when it could not be
        response.delete_cookie(FLASH_COOKIE, path=request.app.state.settings.cookie_path)
    if page.user is None:
        forget_session(request, response)
    return response


def forget_session(request: Request, response: Response) -> None:
    """Drop a session cookie that signs nobody in (malformed, expired, revoked)."""
    if SESSION_COOKIE in request.cookies:
        response.delete_cookie(SESSION_COOKIE, path=request.app.state.settings.cookie_path)


def redirect(
    request: Request, path: str, message: str | None = None, kind: str = "success"
) -> RedirectResponse:
    """Answer 303 to a local path, carrying a flash message to the next page."""
    response = RedirectResponse(url(request, path), status_code=303)
    if message:
        response.set_cookie(
            FLASH_COOKIE,
            flash_cookie(request.app.state.settings.secret_key, [{"kind": kind, "text": message}]),
            max_age=60,
            path=request.app.state.settings.cookie_path,
            httponly=True,
            samesite="lax",
        )
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the login page, to come back here afterwards."""
    prefix = request.app.state.settings.url_prefix
    here = request.url.path.removeprefix(prefix) or "/"
    if request.url.query:
        here += "?" + request.url.query
    response = RedirectResponse(
        url(request, "/login?next=" + quote(here, safe="/")), status_code=303
    )
    forget_session(request, response)
    return response


def safe_next(value: str | None) -> str:
    """Accept only a local path for `next=`; anything else goes to the dashboard."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/dashboard"
    if any(ord(ch) < 32 for ch in value):
        return "/dashboard"
    return value
