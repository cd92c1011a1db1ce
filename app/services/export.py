"""CSV export of a list: exactly the records the viewer may read that the list's search,
filters and sort select, streamed page by page (a large export never sits in memory)."""

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.cursors import decode_cursor
from app.core.lists import ListParams
from app.resources import Resource
from app.services.access import Access

EXPORT_PAGE = 500  # rows read per statement
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula: such text is quoted as text.
    return "'" + text if text[:1] in FORMULA_STARTS and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


Rows = list[dict[str, Any]]


Sessions = async_sessionmaker[AsyncSession]


async def read_page(
    sessions: Sessions,
    access: Access,
    res: Resource,
    params: ListParams,
    session: AsyncSession | None = None,
) -> tuple[Rows, ListParams | None]:
    """One page of the export, and the parameters of the next (None after the last): read
    in `session`, else (once the response streams) in a short session of its own."""
    if session is None:
        async with sessions() as own:
            return await read_page(sessions, access, res, params, own)
    page = await access.readable(res, session, params)
    rows = [
        res.read_schema.model_validate(item, from_attributes=True).model_dump(mode="json")
        for item in page.items
    ]
    if page.next_cursor is None:
        return rows, None
    after = decode_cursor(page.next_cursor, params.sort, res.crud.sort_column(params.sort))
    return rows, replace(params, after=after)


async def first_page(
    sessions: Sessions, access: Access, res: Resource, params: ListParams, session: AsyncSession
) -> tuple[Rows, ListParams | None]:
    """The export's first page, read in the request's own session (so that a request the
    database refuses is refused before anything is sent), and the parameters of the next."""
    first_params = replace(params, limit=EXPORT_PAGE, offset=0, after=None)
    return await read_page(sessions, access, res, first_params, session)


async def csv_lines(
    sessions: Sessions, access: Access, res: Resource, first: Rows, following: ListParams | None
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
        rows, following = await read_page(sessions, access, res, following)
