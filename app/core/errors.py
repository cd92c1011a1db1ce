"""Exception handlers: database refusals become 409/422, never a 500."""

import logging
import re
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.crud.base import InvalidReference

log = logging.getLogger(__name__)

_SQLITE_COLUMN = re.compile(r"constraint failed: (?:\w+)\.(\w+)")


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
            fields.append(diag.constraint_name)
    else:
        fields.extend(_SQLITE_COLUMN.findall(str(orig)))
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
    return JSONResponse(
        {"detail": [{"loc": ["body", *fields[:1]], "msg": messages[kind], "type": kind}]},
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(DBAPIError, data_error)
    app.add_exception_handler(InvalidReference, invalid_reference)
