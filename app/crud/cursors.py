"""List cursors: the opaque token of the row after which a keyset page starts (its sort
value and id), and the sort a list names (`-created_at`)."""

import base64
import binascii
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.schemas.common import INT_MAX


class CursorError(ValueError):
    """A cursor that this list did not hand out (or that no longer fits its sort)."""


def sort_key(sort: str | None) -> tuple[str, bool]:
    """Split a list's `sort` (`-created_at`) into its column and direction; id by default."""
    if not sort:
        return "id", False
    return sort.removeprefix("-"), sort.startswith("-")


def encode_cursor(sort: str | None, value: Any, id: int) -> str:
    """Return the opaque cursor of the row after which the next page starts."""
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([sort or "", value, id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str | None, python_type: type | None) -> tuple[Any, int]:
    """Return the (sort value, id) a cursor names, checked against the list's sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        wanted_sort, value, id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise CursorError("cursor is not one this list handed out") from exc
    if wanted_sort != (sort or ""):
        raise CursorError("cursor belongs to another sort order")
    if not isinstance(id, int) or isinstance(id, bool) or not 0 <= id <= INT_MAX:
        raise CursorError("cursor is not one this list handed out")
    if value is None:
        return None, id
    if python_type is None:  # a sort by id carries no value
        raise CursorError("cursor is not one this list handed out")
    return _cursor_value(value, python_type), id


def _cursor_value(value: Any, python_type: type) -> Any:
    try:
        if python_type is bool and isinstance(value, bool):
            return value
        if python_type is int and type(value) is int and abs(value) <= INT_MAX:
            return value
        if python_type is str and isinstance(value, str) and "\x00" not in value:
            return value
        if python_type is Decimal and isinstance(value, str):
            return Decimal(value)
        if python_type is datetime and isinstance(value, str):
            return datetime.fromisoformat(value)
        if python_type is date and isinstance(value, str):
            return date.fromisoformat(value)
    except (ValueError, InvalidOperation) as exc:
        raise CursorError("cursor is not one this list handed out") from exc
    raise CursorError("cursor is not one this list handed out")
