"""The query string's text: no NUL byte reaches a statement (PostgreSQL stores none)."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from app.core.messages import NO_NUL


def refuse_nul_bytes(request: Request) -> None:
    """Refuse (422, naming each parameter) a query string with a NUL byte in a name or a
    value: every route's filters, searches and cursors, before any of them is read (the
    session dependency asks first: every route that reaches the database has it)."""
    raw = request.scope["query_string"]
    if b"%00" not in raw and b"\x00" not in raw:
        return
    errors = [
        {"loc": ("query", name), "msg": NO_NUL, "type": "value_error", "input": value}
        for name, value in request.query_params.multi_items()
        if "\x00" in name or "\x00" in value
    ]
    if errors:
        raise RequestValidationError(errors)
