"""Reading the audit log: who may, and the question a reader asks (the API's and the
page's query string alike)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.access import Access, forbidden
from app.crud import audit
from app.schemas.common import INT_MAX, UTCTimestamp


def _blank_is_none(value: object) -> object:
    """An empty filter is no filter (a form sends every field), as an empty `q=` is."""
    return None if value == "" else value


Blank = BeforeValidator(_blank_is_none)
Id = Annotated[Annotated[int, Field(ge=1, le=INT_MAX)] | None, Blank, Query()]
Name = Annotated[
    Annotated[str, Field(max_length=320, pattern=r"^[^\x00]*$")] | None, Blank, Query()
]


def can_read_log(access: Access) -> bool:
    model, action, _ = audit.AUDIT_READ.split(":")
    return access.scopes(model, action).all


def reader(access: Access) -> Access:
    """Refuse (403) a caller without `audit:read:all`."""
    if not can_read_log(access):
        raise forbidden(f"reading the audit log needs {audit.AUDIT_READ}")
    return access


@dataclass(frozen=True)
class AuditQuery:
    """A reader's question: the filters, the page size and the cursor (the API's and the
    page's query string alike)."""

    where: audit.AuditFilter
    limit: int
    cursor: int | None


def audit_query(
    actor_id: Id = None,
    actor: Name = None,
    event: Name = None,
    resource: Name = None,
    record_id: Id = None,
    since: Annotated[UTCTimestamp | None, Blank, Query()] = None,
    until: Annotated[UTCTimestamp | None, Blank, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Id = None,
) -> AuditQuery:
    where = audit.AuditFilter(actor_id, actor, event, resource, record_id, since, until)
    return AuditQuery(where, limit, cursor)


async def entries_page(session: AsyncSession, query: AuditQuery) -> dict[str, object]:
    """One page of entries and the cursor of the next, older one."""
    rows = await audit.read_entries(session, query.where, query.limit + 1, query.cursor)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {
        "items": rows,
        "limit": query.limit,
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }
