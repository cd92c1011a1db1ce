"""Write errors in one shape, each rule's message in words, and the JSON exception
handlers: database refusals become 409/422, never a 500. The HTML interface installs its
own handlers over these (`app/routers/errors.py`).
"""

import logging
import math
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import EmailStr, Field
from sqlalchemy import CheckConstraint, Column
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import visitors

from app.core.database import Base

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    """One reason a write was refused, at the field it concerns."""

    field: str
    message: str
    type: str  # reference_error, rule, unique, value_error, ...


class WriteError(Exception):
    """A write refused for what its fields hold: 422 (invalid) or 409 (a unique clash).

    The API answers it as JSON (`detail` lists `{loc, msg, type}`, or names the clashing
    fields for a 409); the HTML forms show each message at its field.
    """

    def __init__(self, errors: Sequence[FieldError], status_code: int = 422) -> None:
        self.errors = list(errors)
        self.status_code = status_code
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(error.field for error in self.errors))


class Throttled(Exception):
    """A sign-in refused before its password was checked: too many recent failures."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins: try again in {retry_after} s")


def clash(fields: Sequence[str]) -> WriteError:
    """Return the 409 for values another row already holds under a unique key."""
    names = ", ".join(fields) or "value"
    return WriteError([FieldError(f, f"{names} already exists", "unique") for f in fields], 409)


def invalid_reference(field: str, missing: Sequence[int]) -> WriteError:
    """Return the 422 for ids that name no record the caller may see."""
    message = f"{choose(field)} you can see (not {', '.join(map(str, missing))})"
    return WriteError([FieldError(field, message, "reference_error")])


# Each rule in words, as the API's 422 and the forms both say it: what the field wants
# ("at least 8 characters", "choose a project"), never pydantic's wording or a regex.

# What a value of each type is, in words; pydantic's type errors say this.
KINDS: dict[Any, str] = {
    str: "text",
    int: "a whole number",
    Decimal: "a number",
    bool: "true or false",
    date: "a date like 2026-01-31",
    datetime: "a date and time like 2026-01-31T09:30",
    list: "a list",
    EmailStr: "an email address like name@example.com",
}
_TYPE_ERRORS: dict[str, Any] = {
    **dict.fromkeys(("string_type", "string_sub_type"), str),
    **dict.fromkeys(("int_type", "int_parsing", "int_parsing_size", "int_from_float"), int),
    **dict.fromkeys(
        ("decimal_type", "decimal_parsing", "finite_number", "float_type", "float_parsing"),
        Decimal,
    ),
    **dict.fromkeys(("bool_type", "bool_parsing"), bool),
    **dict.fromkeys(
        ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"),
        date,
    ),
    **dict.fromkeys(
        ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"),
        datetime,
    ),
    "list_type": list,
}
# error type -> (its ctx key, the words before the number)
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}
# error type -> (its ctx key, the unit counted, the words after it)
_DIGITS = {
    "decimal_max_digits": ("max_digits", "digit", ""),
    "decimal_whole_digits": ("whole_digits", "digit", " before the decimal point"),
    "decimal_max_places": ("decimal_places", "decimal place", ""),
}
UNICODE = "valid Unicode text"
NO_NUL = "text without NUL bytes"  # PostgreSQL stores none
_PATTERNS: dict[str, str] = {}  # regular expression -> what it asks for, in words


def pattern(regex: str, words: str) -> Any:
    """Return a string field's `pattern` constraint, with what it asks for in words: the
    field's description, and the message when a value does not match."""
    _PATTERNS[regex] = words
    return Field(pattern=regex, description=words)


def one_of(values: Sequence[Any]) -> str:
    return "one of: " + ", ".join(map(str, values))


def kind_of(annotation: Any) -> str:
    """Return what a value of the bare type `annotation` is, in words ("a whole number")."""
    if typing.get_origin(annotation) is typing.Literal:
        return one_of(typing.get_args(annotation))
    return KINDS.get(typing.get_origin(annotation) or annotation, "a value of its type")


def _counted(count: Any, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _referred(field: str) -> tuple[str, bool] | None:
    """Return the record a field names and whether it names many (`tag_ids`), or None."""
    name = field.removeprefix("owner_")
    for suffix, many in (("_ids", True), ("_id", False)):
        if name.endswith(suffix):
            return name.removesuffix(suffix).replace("_", " "), many
    return None


def choose(field: str) -> str:
    """Return what a field naming records asks for: "choose a project", "choose tags"."""
    referred = _referred(field)
    if referred is None:
        return "choose a record"
    noun, many = referred
    article = "an" if noun[0] in "aeio" else "a"  # a user, an assignee
    return f"choose {noun}s" if many else f"choose {article} {noun}"


def _field(loc: Sequence[Any]) -> str | None:
    """Return the field of the body (or form) an error's `loc` points at, else None."""
    if len(loc) > 1 and loc[0] == "body" and isinstance(loc[1], str):
        return loc[1]
    return None


def _length(kind: str, limit: int, value: Any, field: str | None) -> str:
    """Return a length rule in words: characters of text, items (or records) of a list."""
    unit = "character" if isinstance(value, str) else "item"
    referred = _referred(field) if field is not None else None
    if referred is not None and not isinstance(value, str):
        unit = referred[0]
    return f"{'at least' if 'short' in kind else 'at most'} {_counted(limit, unit)}"


def error_message(error: Mapping[str, Any]) -> str:
    """Return a validation error's message in words: what the field asks for.

    `error` is one of pydantic's errors (`type`, `loc`, `ctx`, `input`), its `loc` led by
    where the value was ("body" for a JSON body or a form). A type no rule here covers
    keeps pydantic's own message; `tests/api/test_messages.py` breaks every rule of every
    input schema and checks its words.
    """
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    field = _field(error.get("loc", ()))
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("string_too_short", "too_short", "string_too_long", "too_long"):
        if "short" in kind and isinstance(value, str) and not value.strip():
            return "required"  # left blank
        return _length(kind, ctx["min_length" if "short" in kind else "max_length"], value, field)
    if field is not None and _referred(field):
        return choose(field)
    if kind == "missing" or (value is None and (kind in _TYPE_ERRORS or kind == "literal_error")):
        return "required"  # left out, or null
    if kind in _TYPE_ERRORS:
        return KINDS[_TYPE_ERRORS[kind]]
    if kind == "string_unicode":  # a lone surrogate (`"\ud800"` in JSON)
        return UNICODE
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"{words} {ctx[key]}"
    if kind in _DIGITS:
        key, unit, after = _DIGITS[kind]
        return f"at most {_counted(ctx[key], unit)}{after}"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(ctx.get("pattern", ""), error["msg"])
    if kind in ("literal_error", "enum"):
        expected = re.split(r", | or ", ctx.get("expected", ""))
        return one_of([item.strip("'") for item in expected])
    if kind in ("model_attributes_type", "model_type", "dict_type"):
        return "a JSON object"
    if kind == "json_invalid":
        return f"valid JSON ({ctx['error']})" if ctx.get("error") else "valid JSON"
    if kind == "value_error" and "reason" in ctx:  # an address email-validator refused
        return KINDS[EmailStr]
    return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")


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


@lru_cache
def _expression_indexes() -> dict[str, list[str]]:
    """Map each unique index over expressions (`lower(username)`) to the columns it reads."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if index.unique and isinstance(index.name, str):
                found[index.name] = [
                    column.name
                    for expression in index.expressions
                    for column in visitors.iterate(expression)
                    if isinstance(column, Column)
                ]
    return found


_SQLITE_INDEX = re.compile(r"UNIQUE constraint failed: index '(\w+)'")


def _constraint_fields(exc: DBAPIError) -> tuple[str | None, list[str]]:
    """Return the SQLSTATE (PostgreSQL) and the column names the error names."""
    orig: Any = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    fields: list[str] = []
    index = diag.constraint_name if diag is not None else None
    if index is None and (found := _SQLITE_INDEX.search(str(orig))):
        index = found.group(1)
    if index in _expression_indexes():
        return sqlstate, list(_expression_indexes()[index])
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


def integrity_write_error(exc: IntegrityError) -> WriteError:
    """Translate a constraint the database enforced into the write error it stands for."""
    _, fields = _constraint_fields(exc)
    kind = _kind(exc)
    if kind == "unique":
        return clash(fields)
    names = ", ".join(fields) or "value"
    messages = {
        "foreign_key": f"{names} refers to a record that does not exist",
        "not_null": f"{names} is required",
        "check": f"{names}: value not allowed",
    }
    # A check over several columns (due_date >= start_date) names each of them.
    named = fields if kind == "check" else fields[:1]
    return WriteError([FieldError(f, messages[kind], kind) for f in named or [""]])


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


def throttled_message(exc: Throttled) -> str:
    seconds = exc.retry_after
    count, unit = (seconds, "second") if seconds < 120 else (math.ceil(seconds / 60), "minute")
    wait = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"Too many failed sign-ins: try again in {wait}."


async def throttled(request: Request, exc: Exception) -> JSONResponse:
    """Answer 429 with Retry-After: the sign-in was not checked."""
    assert isinstance(exc, Throttled)
    return JSONResponse(
        {"detail": throttled_message(exc)},
        status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(exc.retry_after)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation and database errors as JSON; the HTML interface adds its own."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(DBAPIError, data_error)
    app.add_exception_handler(WriteError, write_error)
    app.add_exception_handler(Throttled, throttled)
