"""CSV export of a list: exactly the records the viewer may read that the list's search,
filters and sort select, streamed page by page (a large export never sits in memory)."""

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from app.api.access import Access
from app.crud.base import ListParams, decode_cursor
from app.resources import Resource

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


async def csv_lines(
    request: Request, access: Access, res: Resource, params: ListParams
) -> AsyncIterator[str]:
    """The header, then the rows page by page, each page read in a short session of its own."""
    columns = list(res.read_schema.model_fields)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    yield out.getvalue()
    sessions = request.app.state.read_sessionmaker
    page_params = replace(params, limit=EXPORT_PAGE, offset=0, after=None)
    while True:
        async with sessions() as session:
            page = await access.readable(res, session, page_params)
            rows = [
                res.read_schema.model_validate(item, from_attributes=True).model_dump(mode="json")
                for item in page.items
            ]
        out.seek(0)
        out.truncate()
        for row in rows:
            writer.writerow([cell(row[column]) for column in columns])
        yield out.getvalue()
        if page.next_cursor is None:
            return
        sort = page_params.sort
        after = decode_cursor(page.next_cursor, sort, res.crud.sort_type(sort))
        page_params = replace(page_params, after=after)


def csv_response(request: Request, access: Access, res: Resource, params: ListParams) -> Any:
    return StreamingResponse(
        csv_lines(request, access, res, params),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{res.path}.csv"'},
    )
