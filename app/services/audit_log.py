"""Reading the audit log, for those who hold `audit:read:all`: a page of entries, newest
first, or a record's history."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Forbidden
from app.core.lists import AuditFilter
from app.core.permissions import AUDIT_READ
from app.crud import audit
from app.models.audit import AuditEntry
from app.resources import REGISTRY, Resource
from app.services.access import Access
from app.services.naming import changed_ids, entry_names, target_of


def can_read_log(access: Access) -> bool:
    """Whether the caller holds `audit:read:all`: the audit log and records' history."""
    model, action, _ = AUDIT_READ.split(":")
    return access.scopes(model, action).all


def check_reader(access: Access) -> None:
    """Refuse (`Forbidden`) a caller without `audit:read:all`."""
    if not can_read_log(access):
        raise Forbidden(f"reading the audit log needs {AUDIT_READ}")


async def entries_page(
    access: Access,
    session: AsyncSession,
    where: AuditFilter,
    limit: int,
    cursor: int | None,
) -> dict[str, Any]:
    """One page of entries, newest first, and the cursor of the next, older one; with the
    titles the viewer may read of the records they are about and their changes name:
    `titles`, (table path, id) -> title."""
    check_reader(access)
    rows = await audit.read_entries(session, where, limit + 1, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": rows,
        "titles": await entry_names(access, session, rows),
        "limit": limit,
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }


def named(entry: Any, titles: dict[tuple[str, int], str]) -> dict[str, Any]:
    """An entry as the API shows it: its fields, the `title` of its record, and for each
    changed field that names records, `names` (field -> id -> title), where the viewer may
    read them (as the audit page links them)."""
    found = {column.name: getattr(entry, column.name) for column in AuditEntry.__table__.columns}
    res = REGISTRY.get(entry.resource or "")
    found["title"] = titles.get((entry.resource, entry.record_id))
    names: dict[str, dict[str, str]] = {}
    for field, change in (entry.changes or {}).items():
        path = target_of(res, field) if res is not None else None
        if path is None:
            continue
        shown = {
            str(i): titles[(path, i)] for i in sorted(changed_ids(change)) if (path, i) in titles
        }
        if shown:
            names[field] = shown
    found["names"] = names
    return found


async def history(
    access: Access, session: AsyncSession, res: Resource, record: Any
) -> list[Any] | None:
    """A record's last 20 audit entries, for those who may read the log (None: not)."""
    if not can_read_log(access):
        return None
    where = AuditFilter(resource=res.model.__tablename__, record_id=record.id)
    return await audit.read_entries(session, where, 20, None)
