"""The query string of a list request, read and validated against the resource."""

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from app.crud.base import CursorError, ListParams, decode_cursor
from app.resources import Resource
from app.schemas.common import INT_MAX


def list_params(res: Resource) -> Any:
    """Build the dependency that reads and validates a list request's query string."""
    filter_types = {
        name: TypeAdapter(res.read_schema.model_fields[name].annotation)
        for name in res.filter_columns
    }

    async def dependency(
        request: Request,
        limit: int = 50,
        offset: int = 0,
        sort: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> ListParams:
        errors: list[dict[str, Any]] = []
        sort = sort or None  # an empty `sort=` is no sort, as an empty `q=` is no search

        def fail(name: str, message: str) -> None:
            errors.append({"loc": ("query", name), "msg": message, "type": "value_error"})

        if not 1 <= limit <= 200:
            fail("limit", "limit must be between 1 and 200")
        if not 0 <= offset <= INT_MAX:
            fail("offset", f"offset must be between 0 and {INT_MAX}")
        if sort is not None and sort.removeprefix("-") not in res.sort_columns:
            fail("sort", f"sort must be one of {', '.join(res.sort_columns)} (- for descending)")
        if q is not None and ("\x00" in q or len(q) > 200):
            fail("q", "q must be at most 200 characters without NUL bytes")
        after = None
        if cursor and not any(error["loc"][1] == "sort" for error in errors):
            if offset:
                fail("cursor", "cursor and offset cannot be combined: a cursor names the page")
            elif len(cursor) > 1000:
                fail("cursor", "cursor is not one this list handed out")
            else:
                try:
                    after = decode_cursor(cursor, sort, res.crud.sort_type(sort))
                except CursorError as exc:
                    fail("cursor", str(exc))
        filters: list[tuple[str, Any]] = []
        for name, adapter in filter_types.items():
            raw = request.query_params.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = adapter.validate_strings(raw)
            except ValidationError:
                fail(name, f"{name} has an invalid value")
                continue
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_MAX:
                fail(name, f"{name} is out of range")
                continue
            filters.append((name, value))
        if errors:
            raise RequestValidationError(errors)
        return ListParams(
            limit=limit,
            offset=offset,
            sort=sort,
            q=q or None,
            filters=tuple(filters),
            after=after,
        )

    return dependency
