"""List cursors: the opaque token of the row after which a keyset page starts (its sort
value and id), and the sort a list names (`-created_at`).

A cursor comes back from the client, so it is client input like any other: decoding
checks its shape, and that its value is one the sort column could hold (a time within the
years 1 to 9999 in UTC, text a database stores, a number within the column's range),
before any of it reaches a statement.
"""

import base64
import binascii
import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, Numeric, SmallInteger

from app.core.numbers import INT_MAX, SMALLINT_MAX

# The longest cursor a list hands out: its sort value is at most a sortable column's
# longest text (an email's 320 characters, up to 4 bytes each), in base64.
MAX_LENGTH = 4096
INVALID = "this page link is no longer valid: start again from the first page"


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
    raw = json.dumps([sort or "", value, id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str | None, column: Column[Any] | None) -> tuple[Any, int]:
    """Return the (sort value, id) a cursor names, checked against the list's sort and
    its `column` (None: the list sorts by id)."""
    if len(cursor) > MAX_LENGTH:
        raise CursorError(INVALID)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CursorError(INVALID) from exc
    if not isinstance(decoded, list) or len(decoded) != 3:
        raise CursorError(INVALID)
    wanted_sort, value, id = decoded
    if wanted_sort != (sort or ""):
        raise CursorError("this page link belongs to another sort order: start again")
    if type(id) is not int or not 0 <= id <= INT_MAX:
        raise CursorError(INVALID)
    if value is None:
        return None, id
    if column is None:  # a sort by id carries no value
        raise CursorError(INVALID)
    return _cursor_value(value, column), id


def _cursor_value(value: Any, column: Column[Any]) -> Any:
    """Return the cursor's `value` as `column` holds it; CursorError when it could not."""
    column_type = getattr(column.type, "impl_instance", column.type)
    python_type = column_type.python_type
    try:
        if python_type is bool and type(value) is bool:
            return value
        if python_type is int and type(value) is int:
            largest = SMALLINT_MAX if isinstance(column_type, SmallInteger) else INT_MAX
            if abs(value) <= largest:
                return value
        if python_type is str and isinstance(value, str) and "\x00" not in value:
            value.encode()  # a lone surrogate ("\ud800") is no text a database holds
            return value
        if python_type is Decimal and isinstance(value, str):
            return _decimal(Decimal(value), column_type)
        if python_type is datetime and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if python_type is date and isinstance(value, str):
            return date.fromisoformat(value)
    except (ValueError, InvalidOperation, OverflowError, UnicodeEncodeError) as exc:
        # OverflowError: 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        raise CursorError(INVALID) from exc
    raise CursorError(INVALID)


def _decimal(value: Decimal, column_type: Any) -> Decimal:
    """A finite number with no more digits before or after the point than the column holds."""
    if not value.is_finite():
        raise CursorError(INVALID)
    if isinstance(column_type, Numeric) and column_type.precision is not None:
        scale = column_type.scale or 0
        exponent = value.as_tuple().exponent
        too_fine = isinstance(exponent, int) and exponent < -scale  # 1E-99999
        if too_fine or abs(value) >= Decimal(10) ** (column_type.precision - scale):
            raise CursorError(INVALID)
    return value
