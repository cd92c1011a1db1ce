"""Exception handlers: database refusals become 409/422, never a 500."""

import logging
import math
import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import CheckConstraint
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.database import Base
from app.crud.base import InvalidReference

log = logging.getLogger(__name__)

_SQLITE_COLUMN = re.compile(r"constraint failed: (?:\w+)\.(\w+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")


@lru_cache
def _check_columns() -> dict[str, list[str]]:
    """Map each check constraint's name to the columns its expression names, in order."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and isinstance(constraint.name, str):
                text = str(constraint.sqltext)
                at = {
                    column.name: match.start()
                    for column in table.columns
                    if (match := re.search(rf"\b{re.escape(column.name)}\b", text))
                }
                found[constraint.name] = sorted(at, key=at.__getitem__)
    return found


def _check_fields(name: str) -> list[str]:
    return _check_columns().get(name, [name])


def _constraint_fields(exc: DBAPIError) -> tuple[str | None, list[str]]:
    """Return the SQLSTATE (PostgreSQL) and the column names the error names."""
    orig: Any = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    fields: list[str] = []
    if diag is not None:
        if diag.column_name:
            fields.append(diag.column_name)
        detail = diag.message_detail or ""
        match = re.search(r"Key \(([^)]+)\)", detail)
        if match:
            fields.extend(part.strip() for part in match.group(1).split(","))
        if not fields and diag.constraint_name:
            fields.extend(_check_fields(diag.constraint_name))
    else:
        fields.extend(_SQLITE_COLUMN.findall(str(orig)))
        fields.extend(f for name in _SQLITE_CHECK.findall(str(orig)) for f in _check_fields(name))
    return sqlstate, fields


def _kind(exc: IntegrityError) -> str:
    sqlstate, _ = _constraint_fields(exc)
    text = str(exc.orig).upper()
    if sqlstate == "23505" or "UNIQUE CONSTRAINT" in text:
        return "unique"
    if sqlstate == "23503" or "FOREIGN KEY" in text:
        return "foreign_key"
    if sqlstate == "23502" or "NOT NULL" in text:
        return "not_null"
    return "check"


async def integrity_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    _, fields = _constraint_fields(exc)
    kind = _kind(exc)
    names = ", ".join(fields) or "value"
    if kind == "unique":
        return JSONResponse({"detail": f"{names} already exists"}, status.HTTP_409_CONFLICT)
    messages = {
        "foreign_key": f"{names} refers to a record that does not exist",
        "not_null": f"{names} is required",
        "check": f"{names}: value not allowed",
    }
    # A check over several columns (due_date >= start_date) names each of them.
    locs = [["body", field] for field in fields] if kind == "check" else [["body", *fields[:1]]]
    return JSONResponse(
        {
            "detail": [
                {"loc": loc, "msg": messages[kind], "type": kind} for loc in locs or [["body"]]
            ]
        },
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def data_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    sqlstate, fields = _constraint_fields(exc)
    if sqlstate and sqlstate.startswith("22"):
        return JSONResponse(
            {
                "detail": [
                    {
                        "loc": ["body", *fields[:1]],
                        "msg": "value out of range or malformed",
                        "type": "data_error",
                    }
                ]
            },
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    log.exception("database error", exc_info=exc)
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly."},
        status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def invalid_reference(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidReference)
    return JSONResponse(
        {
            "detail": [
                {
                    "loc": ["body", exc.field],
                    "msg": f"no such record: {', '.join(map(str, exc.missing))}",
                    "type": "reference_error",
                }
            ]
        },
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _json_safe(value: Any) -> Any:
    """Return `value` with what JSON cannot carry (NaN, lone surrogates) made printable."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer 422 with the errors, echoing even input that JSON cannot represent."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": _json_safe(jsonable_encoder(exc.errors()))},
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


API_PATHS = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/readyz", "/static/")


def wants_html(request: Request) -> bool:
    """Whether the request came from the HTML interface rather than the JSON API."""
    path = request.url.path.removeprefix(request.app.state.settings.url_prefix) or "/"
    accept = request.headers.get("accept", "")
    asks_json = "application/json" in accept and "text/html" not in accept
    return not path.startswith(API_PATHS) and not asks_json


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer HTML pages with pages: sign-in for 401, a readable error page otherwise."""
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request):
        return await http_exception_handler(request, exc)
    from app.routers.templating import login_redirect, render

    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        return login_redirect(request)
    return render(
        request,
        "error.html",
        {"status_code": exc.status_code, "detail": exc.detail},
        exc.status_code,
    )


async def request_error(request: Request, exc: Exception) -> Response:
    """Invalid path or query input: JSON for the API, an error page for HTML."""
    if not wants_html(request):
        return await validation_error(request, exc)
    from app.routers.templating import render

    assert isinstance(exc, RequestValidationError)
    path_error = any(error.get("loc", ("",))[0] == "path" for error in exc.errors())
    code = status.HTTP_404_NOT_FOUND if path_error else status.HTTP_422_UNPROCESSABLE_CONTENT
    detail = (
        "No such page."
        if path_error
        else "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors())
    )
    return render(request, "error.html", {"status_code": code, "detail": detail}, code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(DBAPIError, data_error)
    app.add_exception_handler(InvalidReference, invalid_reference)
