"""The audit trail: one entry per event, inserted in the transaction of the change it
records (a change rolled back leaves none). `CRUDBase` records every create, update and
delete of every registered table here, so a new table is audited with no code of its own.

Who acted comes from `session.info[ACTOR]`, set when the request's caller is resolved.
Secrets (password and token hashes) are never stored: a change to one shows as "changed".
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Select, delete, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import metrics
from app.core.database import utcnow
from app.core.lists import AuditFilter
from app.models.audit import AuditEntry

ACTOR = "audit_actor"  # session.info key
SECRETS = frozenset({"hashed_password", "token_hash"})
CHANGED = "changed"
# Bookkeeping columns: every write moves them, none is a change worth reading.
UNTRACKED = frozenset({"created_at", "updated_at", "last_seen_at", "tokens_not_before"})
ENTRIES = AuditEntry.__table__
INSERT_ENTRY = insert(ENTRIES)  # built once; each entry is its parameters


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a request acts as, and where it came from."""

    id: int | None
    name: str | None
    address: str | None = None
    request_id: str | None = None


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: Any, relations: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """The record's fields as an entry shows them: columns, and `<x>_ids` of its links."""
    state = inspect(obj)
    values = {
        attribute.key: jsonable(getattr(obj, attribute.key))
        for attribute in state.mapper.column_attrs
        if attribute.key not in UNTRACKED
        and attribute.key not in state.unloaded
        and isinstance(attribute.columns[0], Column)  # not a value read beside the row
    }
    for field, (attribute, _) in relations.items():
        if attribute not in state.unloaded:
            values[field] = sorted(related.id for related in getattr(obj, attribute))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: [before, after]} of what changed; a secret as "changed"."""
    changed = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            changed[name] = CHANGED if name in SECRETS else [old, new]
    return changed


def shown(values: dict[str, Any]) -> dict[str, Any]:
    """A whole record's fields for a create or delete entry, secrets left out."""
    return {name: value for name, value in values.items() if name not in SECRETS}


async def record(
    session: AsyncSession,
    event: str,
    *,
    resource: str | None = None,
    record_id: int | None = None,
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """Insert one entry in the session's transaction."""
    metrics.audited()
    who = actor or session.info.get(ACTOR) or Actor(None, None)
    connection = await session.connection()
    await connection.execute(
        INSERT_ENTRY,
        {
            "at": utcnow(),
            "actor_id": who.id,
            "actor_name": who.name,
            "address": who.address,
            "request_id": who.request_id,
            "event": event,
            "resource": resource,
            "record_id": record_id,
            "changes": changes,
        },
    )


async def created(session: AsyncSession, obj: Any, after: dict[str, Any]) -> None:
    changes = {name: [None, value] for name, value in shown(after).items()}
    await record(session, "created", resource=obj.__tablename__, record_id=obj.id, changes=changes)
    await linked(session, obj, {}, after)


async def updated(
    session: AsyncSession, obj: Any, before: dict[str, Any], after: dict[str, Any]
) -> None:
    changes = diff(before, after)
    if changes:  # a write that changed nothing records nothing
        await record(
            session, "updated", resource=obj.__tablename__, record_id=obj.id, changes=changes
        )
        await linked(session, obj, before, after)


# Links whose change is an event of its own too, by table and field: (added, removed).
LINK_EVENTS: dict[str, dict[str, tuple[str, str]]] = {
    "users": {
        "role_ids": ("role_granted", "role_removed"),
        "group_ids": ("group_joined", "group_left"),
    },
    "groups": {"member_ids": ("group_joined", "group_left")},
    "roles": {"permission_ids": ("permission_granted", "permission_revoked")},
}


async def linked(
    session: AsyncSession, obj: Any, before: dict[str, Any], after: dict[str, Any]
) -> None:
    """One entry per link granted or removed (a role to a user, a permission to a role)."""
    for field, (added, removed) in LINK_EVENTS.get(obj.__tablename__, {}).items():
        if field not in after:
            continue
        old, new = set(before.get(field) or ()), set(after[field])
        other = field.removesuffix("_ids")
        for event, ids in ((added, new - old), (removed, old - new)):
            for linked_id in sorted(ids):
                await record(
                    session,
                    event,
                    resource=obj.__tablename__,
                    record_id=obj.id,
                    changes={f"{other}_id": linked_id},
                )


async def deleted(session: AsyncSession, obj: Any, before: dict[str, Any]) -> None:
    changes = {name: [value, None] for name, value in shown(before).items()}
    await record(session, "deleted", resource=obj.__tablename__, record_id=obj.id, changes=changes)


def older_than(before: datetime) -> ColumnElement[bool]:
    """The entries a retention cut at `before` covers. One predicate for the export and the
    prune, so a prune deletes exactly what an export with the same date wrote."""
    return ENTRIES.c.at < before


async def entries_before(
    session: AsyncSession, before: datetime, *, batch: int = 1000
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Yield the entries older than `before`, oldest first by id, `batch` rows at a time:
    keyset-paged by id, so an export holds one batch in memory whatever the log holds."""
    connection = await session.connection()
    last_id = None
    while True:
        stmt = select(ENTRIES).where(older_than(before))
        if last_id is not None:
            stmt = stmt.where(ENTRIES.c.id > last_id)
        rows = (await connection.execute(stmt.order_by(ENTRIES.c.id).limit(batch))).all()
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last_id = rows[-1].id


async def prune(session: AsyncSession, before: datetime, *, dry_run: bool = False) -> int:
    """Delete the entries older than `before` (the only deletion of entries there is, run
    by `policy audit-prune` and `policy audit prune`); record that it happened; return how
    many went."""
    doomed = older_than(before)
    if dry_run:
        count = await session.scalar(select(func.count()).select_from(ENTRIES).where(doomed))
        return count or 0
    connection = await session.connection()
    removed = (await connection.execute(delete(ENTRIES).where(doomed))).rowcount
    changes = {"before": before.isoformat(), "entries": removed}
    await record(session, "audit_pruned", resource="audit_log", changes=changes)
    return removed


def entries_statement(where: AuditFilter, limit: int, before_id: int | None) -> Select[Any]:
    """Newest first, keyset-paged by id (ids grow with time): `before_id` is the cursor."""
    table = ENTRIES
    stmt = select(table)
    for column, value in (
        (table.c.actor_id, where.actor_id),
        (table.c.actor_name, where.actor_name),
        (table.c.event, where.event),
        (table.c.resource, where.resource),
        (table.c.record_id, where.record_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if where.since is not None:
        stmt = stmt.where(table.c.at >= where.since)
    if where.until is not None:
        stmt = stmt.where(table.c.at < where.until)
    if before_id is not None:
        stmt = stmt.where(table.c.id < before_id)
    return stmt.order_by(table.c.id.desc()).limit(limit)


async def read_entries(
    session: AsyncSession, where: AuditFilter, limit: int, before_id: int | None
) -> list[Any]:
    """One page of entries (plain rows), newest first."""
    connection = await session.connection()
    return list((await connection.execute(entries_statement(where, limit, before_id))).all())
