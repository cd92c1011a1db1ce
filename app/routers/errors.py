"""HTML error pages: the interface's own answers to errors the JSON API answers as JSON."""

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.errors import Handler, status_of
from app.core.errors import Refused, Throttled
from app.core.messages import error_message, throttled_message
from app.routers.context import page_for_error
from app.routers.templating import login_redirect, render

API_PATHS = (
    "/api/",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/",
)


def wants_html(request: Request) -> bool:
    """Whether the request came from the HTML interface rather than the JSON API."""
    path = request.url.path.removeprefix(request.app.state.settings.url_prefix) or "/"
    accept = request.headers.get("accept", "")
    asks_json = "application/json" in accept and "text/html" not in accept
    return not path.startswith(API_PATHS) and not asks_json


async def error_page(
    request: Request, status_code: int, detail: object, explain: Any = None
) -> Response:
    page = await page_for_error(request)
    context = {"status_code": status_code, "detail": detail}
    if explain is not None:  # a decision on one record: a link to why
        resource, action, record_id = explain
        query = urlencode({"resource": resource, "action": action, "record_id": record_id})
        context["explain_url"] = f"/explain?{query}"
    return render(request, "error.html", context, status_code, page=page)


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer HTML pages with pages: sign-in for 401, a readable error page otherwise."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        return login_redirect(request)
    return await error_page(request, exc.status_code, exc.detail)


async def request_error(request: Request, exc: Exception) -> Response:
    """Invalid path or query input: an error page."""
    assert isinstance(exc, RequestValidationError)
    path_error = any(error.get("loc", ("",))[0] == "path" for error in exc.errors())
    code = status.HTTP_404_NOT_FOUND if path_error else status.HTTP_422_UNPROCESSABLE_CONTENT
    detail = (
        "No such page."
        if path_error
        else "; ".join(f"{error['loc'][-1]}: {error_message(error)}" for error in exc.errors())
    )
    return await error_page(request, code, detail)


async def oversized(request: Request, detail: str) -> Response | None:
    """Answer an oversized form with a 413 page (None: the API's JSON answer)."""
    if not wants_html(request):
        return None
    return await error_page(request, status.HTTP_413_CONTENT_TOO_LARGE, detail)


async def throttled_error(request: Request, exc: Exception) -> Response:
    """Too many wrong passwords: a page saying how long to wait, with Retry-After."""
    assert isinstance(exc, Throttled)
    message = throttled_message(exc.retry_after)
    page = await error_page(request, status.HTTP_429_TOO_MANY_REQUESTS, message)
    page.headers["Retry-After"] = str(exc.retry_after)
    return page


async def refused_page(request: Request, exc: Exception) -> Response:
    """A refusal of the services: an error page with its status, saying why."""
    assert isinstance(exc, Refused)
    return await error_page(request, status_of(exc), exc.detail, getattr(exc, "explain", None))


# The page answering each error of a request from the HTML interface (`wants_html`).
HTML_HANDLERS: dict[type[Exception], Handler] = {
    StarletteHTTPException: http_error,
    Throttled: throttled_error,
    RequestValidationError: request_error,
    Refused: refused_page,
}
