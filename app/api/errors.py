"""The JSON API's answers to errors: write errors, database refusals (409/422; 503 when
the database is unavailable, never a 500), invalid input in words, throttled sign-ins.
Installed once per interface by `app/main.py`, beside the pages' own
(`app/routers/errors.py`).
"""

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.constraints import constraint_fields, integrity_write_error
from app.core.errors import Conflict, Forbidden, NotFound, Refused, Throttled, WriteError
from app.core.messages import error_message, throttled_message

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]


def write_error_body(exc: WriteError) -> dict[str, Any]:
    """Return the JSON body of a write error: field errors, or the clash for a 409."""
    if exc.status_code == status.HTTP_409_CONFLICT:
        return {"detail": f"{', '.join(exc.fields) or 'value'} already exists"}
    return {
        "detail": [
            {
                "loc": ["body", error.field] if error.field else ["body"],
                "msg": error.message,
                "type": error.type,
            }
            for error in exc.errors
        ]
    }


async def write_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WriteError)
    return JSONResponse(_json_safe(write_error_body(exc)), exc.status_code)


async def integrity_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    return await write_error(request, integrity_write_error(exc))


async def data_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    sqlstate, fields = constraint_fields(exc)
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
    """Answer 422 with the errors in words, echoing even input that JSON cannot represent."""
    assert isinstance(exc, RequestValidationError)
    # Only the message changes: `type`, `loc` and `ctx` stay pydantic's.
    errors = [error | {"msg": error_message(error)} for error in exc.errors()]
    return JSONResponse(
        {"detail": _json_safe(jsonable_encoder(errors))},
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def throttled(request: Request, exc: Exception) -> JSONResponse:
    """Answer 429 with Retry-After: the sign-in was not checked."""
    assert isinstance(exc, Throttled)
    return JSONResponse(
        {"detail": throttled_message(exc.retry_after)},
        status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(exc.retry_after)},
    )


# The status of each refusal of the services.
STATUS_OF: dict[type[Refused], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
}


def status_of(exc: Refused) -> int:
    return next(code for kind, code in STATUS_OF.items() if isinstance(exc, kind))


async def refused(request: Request, exc: Exception) -> JSONResponse:
    """Answer a refusal of the services: its status, and why in `detail`."""
    assert isinstance(exc, Refused)
    return JSONResponse({"detail": exc.detail}, status_of(exc))


# The JSON answer to each error, by its type (the pages answer some in HTML).
JSON_HANDLERS: dict[type[Exception], Handler] = {
    StarletteHTTPException: http_exception_handler,
    RequestValidationError: validation_error,
    IntegrityError: integrity_error,
    DBAPIError: data_error,
    WriteError: write_error,
    Throttled: throttled,
    Refused: refused,
}
