"""The query string of a list request, read and validated against the resource."""

import re
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from app.api.identity import get_access
from app.core.cursors import CursorError, decode_cursor
from app.core.lists import ListParams
from app.core.numbers import INT_MAX
from app.core.zones import ZONE_COOKIE, viewer_zone
from app.resources import Resource
from app.services.access import Access

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(raw: str) -> date | None:
    """A day written as 2026-01-31 (not a number of seconds, not 20260131); None otherwise."""
    if not DAY.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:  # 2026-02-30
        return None


def filter_parameters(res: Resource) -> list[dict[str, Any]]:
    """The list's filters as OpenAPI query parameters (read from the query string by hand,
    so FastAPI does not list them itself)."""
    ids = {"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX}
    found = []
    for name in res.filter_columns:
        schema = TypeAdapter(res.read_schema.model_fields[name].annotation).json_schema()
        if schema.get("type") == "integer":
            largest = res.crud.largest_int(name)
            schema |= {"minimum": -largest, "maximum": largest}
        found.append((name, schema, f"only the records whose {name} is this value"))
    for name, field in res.link_filters.items():
        found.append((name, ids, f"only the records whose {field} hold this id"))
    for column in res.range_columns:
        day = "days in your time zone" if res.crud.holds_moments(column) else "dates"
        for bound, word in (("from", "on or after"), ("to", "on or before")):
            about = f"only the records whose {column} is {word} this day ({day})"
            found.append((f"{column}_{bound}", {"type": "string", "format": "date"}, about))
    empty = {"type": "string", "maxLength": 0}  # a form's blank field: no filter
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"anyOf": [schema, empty]},
            "description": f"{about}; empty: any",
        }
        for name, schema, about in found
    ]


def list_params(res: Resource) -> Any:
    """Build the dependency that reads and validates a list request's query string."""
    filter_types = {
        name: TypeAdapter(res.read_schema.model_fields[name].annotation)
        for name in res.filter_columns
    }
    filter_types |= {name: TypeAdapter(int) for name in res.link_filters}
    ranges = [f"{column}_{bound}" for column in res.range_columns for bound in ("from", "to")]

    async def dependency(
        request: Request,
        access: Annotated[Access, Depends(get_access)],  # the route's own, solved already
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
            else:
                try:
                    after = decode_cursor(cursor, sort, res.crud.sort_column(sort))
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
            largest = res.crud.largest_int(name)
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > largest:
                fail(name, f"{name} must be between {-largest} and {largest}")
                continue
            filters.append((name, value))
        for name in ranges:
            raw = request.query_params.get(name)
            if raw is None or raw == "":
                continue
            day = parse_day(raw)
            if day is None:
                fail(name, f"{name} must be a date like 2026-01-31")
            else:
                filters.append((name, day))
        if errors:
            raise RequestValidationError(errors)
        return ListParams(
            limit=limit,
            offset=offset,
            sort=sort,
            q=q or None,
            filters=tuple(filters),
            after=after,
            zone=viewer_zone(access.user.time_zone, request.cookies.get(ZONE_COOKIE)),
        )

    return dependency
