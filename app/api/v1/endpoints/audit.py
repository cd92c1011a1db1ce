"""The audit log, for those who hold `audit:read:all`: filtered, newest first, keyset-paged."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.auditing import AuditQuery
from app.api.deps import AccessDep, SessionDep
from app.api.statuses import answers
from app.core.routing import JSONRoute
from app.schemas.audit import AuditPage
from app.services.audit_log import entries_page, named

router = APIRouter(prefix="/audit", tags=["Audit"], route_class=JSONRoute)


@router.get("", response_model=AuditPage, name="list_audit", responses=answers(401, 403))
async def list_entries(
    access: AccessDep, session: SessionDep, query: Annotated[AuditQuery, Query()]
) -> dict[str, object]:
    """Entries newest first, filtered by actor (id or name), event, resource, record and
    time (`since` inclusive, `until` exclusive); `next_cursor` pages to older ones."""
    found = await entries_page(access, session, query.where, query.limit, query.cursor)
    items = [named(entry, found["titles"]) for entry in found["items"]]
    return {"items": items, "limit": found["limit"], "next_cursor": found["next_cursor"]}
