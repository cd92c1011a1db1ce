"""The audit log, for those who hold `audit:read:all`: filtered, newest first, keyset-paged."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.access import Access, forbidden
from app.api.deps import AccessDep, SessionDep
from app.api.statuses import answers
from app.core.routing import JSONRoute
from app.crud import audit
from app.schemas.audit import AuditPage
from app.schemas.common import INT_MAX, UTCTimestamp

router = APIRouter(prefix="/audit", tags=["Audit"], route_class=JSONRoute)
Id = Annotated[int | None, Query(ge=1, le=INT_MAX)]
Name = Annotated[str | None, Query(min_length=1, max_length=320, pattern=r"^[^\x00]*$")]


def reader(access: Access) -> Access:
    model, action, _ = audit.AUDIT_READ.split(":")
    if not access.scopes(model, action).all:
        raise forbidden(f"reading the audit log needs {audit.AUDIT_READ}")
    return access


@router.get("", response_model=AuditPage, name="list_audit", responses=answers(401, 403))
async def list_entries(
    access: AccessDep,
    session: SessionDep,
    actor_id: Id = None,
    actor: Name = None,
    event: Name = None,
    resource: Name = None,
    record_id: Id = None,
    since: Annotated[UTCTimestamp | None, Query()] = None,
    until: Annotated[UTCTimestamp | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Id = None,
) -> dict[str, object]:
    """Entries newest first, filtered by actor (id or name), event, resource, record and
    time (`since` inclusive, `until` exclusive); `next_cursor` pages to older ones."""
    reader(access)
    where = audit.AuditFilter(actor_id, actor, event, resource, record_id, since, until)
    rows = await audit.read_entries(session, where, limit + 1, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": rows,
        "limit": limit,
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }
