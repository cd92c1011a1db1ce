"""CSV export of a list: exactly the records the viewer may read that the list's search,
filters and sort select, streamed page by page (a large export never sits in memory)."""

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.crud.cursors import decode_cursor
from app.crud.paging import ListParams
from app.resources import Resource
from app.services.access import Access

EXPORT_PAGE = 500  # rows read per statement
CSV_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: Request, format: str | None) -> bool:
    """`format=csv`, or (no format given) an Accept header that names text/csv first."""
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/csv"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula: such text is quoted as text.
    return (
        "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) else text
    )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


Rows = list[dict[str, Any]]


async def read_page(
    request: Request,
    access: Access,
    res: Resource,
    params: ListParams,
    session: AsyncSession | None = None,
) -> tuple[Rows, ListParams | None]:
    """One page of the export, and the parameters of the next (None after the last): read
    in `session`, else (once the response streams) in a short session of its own."""
    if session is None:
        async with request.app.state.read_sessionmaker() as own:
            return await read_page(request, access, res, params, own)
    page = await access.readable(res, session, params)
    rows = [
        res.read_schema.model_validate(item, from_attributes=True).model_dump(mode="json")
        for item in page.items
    ]
    if page.next_cursor is None:
        return rows, None
    after = decode_cursor(page.next_cursor, params.sort, res.crud.sort_column(params.sort))
    return rows, replace(params, after=after)


async def csv_lines(
    request: Request, access: Access, res: Resource, first: Rows, following: ListParams | None
) -> AsyncIterator[str]:
    """The header and the first page, then the following pages as they are read."""
    columns = [*res.read_schema.model_fields, *res.read_schema.model_computed_fields]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    rows = first
    while True:
        for row in rows:
            writer.writerow([cell(row[column]) for column in columns])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if following is None:
            return
        rows, following = await read_page(request, access, res, following)


async def csv_response(
    request: Request, access: Access, res: Resource, params: ListParams, session: AsyncSession
) -> Any:
    """The export as a streamed response; its first page is read in the request's own
    session before the response starts, so that a request the database refuses is
    answered with an error, not a cut stream (and holds one connection at a time)."""
    first_params = replace(params, limit=EXPORT_PAGE, offset=0, after=None)
    first, following = await read_page(request, access, res, first_params, session)
    return StreamingResponse(
        csv_lines(request, access, res, first, following),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{res.path}.csv"'},
    )
