"""Each rule in words, as the API's 422 and the forms both say it: what the field wants
("at least 8 characters", "choose a project"), never pydantic's wording or a regex."""

import math
import re
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import EmailStr, Field

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


def pattern(regex: str, words: str, example: str | None = None) -> Any:
    """Return a string field's `pattern` constraint, with what it asks for in words: the
    field's description, and the message when a value does not match. `example`: a value
    that matches, for the docs and the tests' example records (`app/schemas/examples.py`)."""
    _PATTERNS[regex] = words
    return Field(pattern=regex, description=words, examples=[example] if example else None)


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


def throttled_message(seconds: int) -> str:
    """Say how long to wait before signing in again."""
    count, unit = (seconds, "second") if seconds < 120 else (math.ceil(seconds / 60), "minute")
    wait = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"Too many failed sign-ins: try again in {wait}."
