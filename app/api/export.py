"""A list as CSV (`format=csv`, or `Accept: text/csv`), streamed as it is read
(`app/services/export.py`)."""

from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.lists import ListParams
from app.resources import Resource
from app.services import export
from app.services.access import Access

CSV_TYPE = "text/csv; charset=utf-8"


def wants_csv(request: Request, format: str | None) -> bool:
    """`format=csv`, or (no format given) an Accept header that names text/csv first."""
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/csv"


async def csv_response(
    request: Request, access: Access, res: Resource, params: ListParams, session: AsyncSession
) -> Any:
    """The export as a streamed response; its first page is read in the request's own
    session before the response starts, so that a request the database refuses is
    answered with an error, not a cut stream (and holds one connection at a time)."""
    sessions = request.app.state.read_sessionmaker
    first, following = await export.first_page(sessions, access, res, params, session)
    return StreamingResponse(
        export.csv_lines(sessions, access, res, first, following),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{res.path}.csv"'},
    )
